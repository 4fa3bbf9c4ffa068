// `make alerts`: prints the alerts that Alertmanager delivered to the local receiver, oldest first.
// The receiver is found like every script finds the stack (scripts/lib/endpoints.ts):
// RECEIVER_URL, a running make native, else the compose stack. Exit status 1 when the receiver
// cannot be reached.

import type { ReceivedAlert } from './lib/alert-receiver.ts';
import { resolveEndpoints } from './lib/endpoints.ts';

/** "3m ago", "2h ago": how long since the alert started (or resolved), for a quick read. */
export function ago(iso: string, now: Date): string {
  const then = Date.parse(iso);
  if (Number.isNaN(then) || then <= 0) return '-';
  const seconds = Math.max(0, Math.round((now.getTime() - then) / 1000));
  if (seconds < 60) return `${seconds}s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ago`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)}h ago`;
  return `${Math.floor(seconds / 86400)}d ago`;
}

/** The table `make alerts` prints: status, alertname, severity, summary, since. */
export function formatAlertTable(alerts: ReceivedAlert[], now: Date): string {
  if (alerts.length === 0) return 'No alerts delivered yet.';
  const rows = alerts.map((a) => [
    a.status,
    a.alertname,
    a.severity || '-',
    a.summary || '(no summary)',
    // A resolved alert's interesting moment is when it ended; a firing one's is when it started.
    a.status === 'resolved' ? `resolved ${ago(a.endsAt, now)}` : `since ${ago(a.startsAt, now)}`,
  ]);
  const header = ['STATUS', 'ALERTNAME', 'SEVERITY', 'SUMMARY', 'SINCE'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

async function main(): Promise<void> {
  const endpoints = resolveEndpoints();
  const base = endpoints.receiver;
  let alerts: ReceivedAlert[];
  try {
    const res = await fetch(`${base}/alerts`, { signal: AbortSignal.timeout(5000) });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    alerts = ((await res.json()) as { alerts: ReceivedAlert[] }).alerts;
  } catch (err) {
    console.error(
      `Cannot read alerts from ${endpoints.shown.receiver}/alerts (${(err as Error).message}).\n` +
        'Is the stack running? Start it with `make up` (Docker) or `make native`.',
    );
    process.exit(1);
  }
  console.log(`Alerts delivered to the local receiver (${endpoints.shown.receiver}):\n`);
  console.log(formatAlertTable(alerts, new Date()));
}

if (import.meta.main) await main();
