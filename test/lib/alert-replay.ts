// Replays an alert timeline (alert-timeline.ts: what the repo's rules fired over an incident,
// as promtool evaluated them) on a real Alertmanager, the way Prometheus' notifier sends it,
// at `factor` of real time:
//   - an alert that starts firing is sent at once, with startsAt = the evaluation it fired at;
//   - a firing alert is sent again every resend delay (--rules.alert.resend-delay, 1m), with
//     endsAt = that evaluation + 4 × max(resend delay, evaluation interval), so it resolves by
//     itself if Prometheus stops sending;
//   - an alert that stops firing is sent once more, with endsAt = the evaluation it resolved at.
// Everything Prometheus would send carries the alert's labels; annotations are left out, since
// routing, grouping and inhibition never read them.
import type { AlertTimeline, FiringAlert } from './alert-timeline.ts';

const RESEND_DELAY_MS = 60_000;

export interface ReplayOptions {
  alertmanagerUrl: string;
  timeline: AlertTimeline;
  /** Wall-clock time per unit of incident time (1/120: an hour in 30 s). */
  factor: number;
}

const keyOf = (a: FiringAlert) =>
  JSON.stringify(Object.entries(a.labels).sort(([x], [y]) => x.localeCompare(y)));

interface Sent {
  alert: FiringAlert;
  firedAtMs: number;
  lastSentMs: number;
}

async function post(url: string, alerts: object[]): Promise<void> {
  if (alerts.length === 0) return;
  const res = await fetch(`${url}/api/v2/alerts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(alerts),
  });
  if (!res.ok) throw new Error(`Alertmanager answered ${res.status}: ${await res.text()}`);
}

/** Replays the whole timeline; resolves when its last evaluation has been sent. */
export async function replayTimeline(o: ReplayOptions): Promise<void> {
  const { steps, stepMs } = o.timeline;
  const t0 = steps[0].atMs;
  const wall0 = Date.now();
  const wallOf = (t: number) => wall0 + (t - t0) * o.factor;
  const iso = (t: number) => new Date(wallOf(t)).toISOString();
  const validForMs = 4 * Math.max(RESEND_DELAY_MS, stepMs);
  let active = new Map<string, Sent>();
  for (const { atMs, firing } of steps) {
    const wait = wallOf(atMs) - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const now = new Map<string, Sent>();
    const send: object[] = [];
    for (const alert of firing) {
      const key = keyOf(alert);
      const was = active.get(key);
      const entry = was ?? { alert, firedAtMs: atMs, lastSentMs: -Infinity };
      if (atMs - entry.lastSentMs >= RESEND_DELAY_MS) {
        entry.lastSentMs = atMs;
        send.push({
          labels: alert.labels,
          startsAt: iso(entry.firedAtMs),
          endsAt: iso(atMs + validForMs),
        });
      }
      now.set(key, entry);
    }
    for (const [key, gone] of active) {
      if (now.has(key)) continue;
      send.push({ labels: gone.alert.labels, startsAt: iso(gone.firedAtMs), endsAt: iso(atMs) });
    }
    await post(o.alertmanagerUrl, send);
    active = now;
  }
}
