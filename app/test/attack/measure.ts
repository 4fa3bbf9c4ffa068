// The suite's measurements of the service process: a baseline without an attack, the probe's
// figures during one, and what is left afterwards (attacker connections, runs in progress,
// sockets, memory), with the report line each attack prints.
//
// The probe's latency under attack is compared with its control's at the same moment (a second
// process of the same service, probed with the same requests, that nothing attacks): on a
// machine shared with other work, a baseline taken seconds earlier measures the load then, not
// the service's. Background load slows both processes alike; the attack slows only its target.
import assert from 'node:assert/strict';
import { availableParallelism, loadavg } from 'node:os';
import { DatabaseSync } from 'node:sqlite';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RunningService } from '../support/child';
import { parseMetrics } from '../support/metrics';
import { probeFor, startProbe, type PairedResult, type ProbeResult } from './probe';
import { ATTACKER_ADDRESS } from './settings';
import { connectionsBetween, openSockets, rssBytes, total } from './sockets';

/** The service under attack and its control, which nothing attacks. */
export interface Pair {
  service: RunningService;
  control: RunningService;
}

export interface Baseline {
  /** The probe's figures without an attack: the service's and the control's. */
  probe: PairedResult;
  rss: number;
  sockets: number;
}

// A probe's p95 under attack may be this many times the no-attack baseline: its control's p95
// over the same window.
export const P95_FACTOR = 3;
// While MAX_CONNECTIONS connections are opened, answered 408 and reset, those bursts hold the
// event loop for tens of milliseconds each (a larger share of a shortened test than of the
// default timeouts); the probe's p95 stays under this meanwhile, and within P95_FACTOR of its
// control's from headersTimeout + 2 s on.
export const BURST_P95_MS = 250;
export const MIN_SHARE = 0.95;
// What the process may keep after an attack: V8 and malloc keep pages they have freed (runs
// of 64 KiB inputs left the heap in use at its baseline and RSS 60-66 MiB above it, no higher
// after a second round). 96 MiB is under a fifth of compose's 512 MiB.
export const RSS_SLACK_BYTES = 96 * 1024 * 1024;
// How long the process gets to come back: V8's memory reducer collects and returns pages a few
// seconds after allocation has calmed down.
const RECOVERY_MS = 15_000;
// The OTLP exporters' keep-alive connections come and go.
const SOCKET_SLACK = 2;

export async function runsInProgress(service: RunningService): Promise<number> {
  const text = await (await fetch(`${service.managementUrl}/metrics`)).text();
  return parseMetrics(text)
    .filter((sample) => sample.name === 'agent_runs_in_progress')
    .reduce((sum, sample) => sum + sample.value, 0);
}

const targets = ({ service, control }: Pair) => ({ service: service.url, control: control.url });

/** Both processes answer every probe without an attack; the service's memory and sockets then. */
export async function baseline(pair: Pair, ms: number): Promise<Baseline> {
  const probe = await probeFor(targets(pair), ms);
  const all = [probe.service.list, probe.service.run, probe.control.list, probe.control.run];
  assert.ok(
    all.every((stats) => stats.share === 1),
    `baseline probes failed: ${JSON.stringify(probe)}`,
  );
  await sleep(200);
  const { pid } = pair.service;
  return { probe, rss: rssBytes(pid), sockets: openSockets(pid) };
}

/** The probe's stats of both processes over `during`, which runs while it probes. */
export async function probed(pair: Pair, during: () => Promise<void>): Promise<PairedResult> {
  const probe = await startProbe(targets(pair));
  await during();
  return probe.stop();
}

/**
 * The service answered ≥ 95 % of the probe's requests of `kind`, with a p95 within P95_FACTOR ×
 * the control's over the same window (or within `boundMs` when given).
 */
export function assertServed(
  what: string,
  kind: keyof ProbeResult,
  probe: PairedResult,
  boundMs?: number,
): void {
  const label = `${what}, ${kind}`;
  const stats = probe.service[kind];
  const control = probe.control[kind];
  assert.ok(
    stats.share >= MIN_SHARE,
    `${label}: ${stats.answered} of ${stats.sent} answered (${stats.failures.join('; ')})`,
  );
  const bound = boundMs ?? P95_FACTOR * control.p95Ms;
  assert.ok(
    stats.p95Ms <= bound,
    `${label}: p95 ${stats.p95Ms.toFixed(1)} ms, over ${bound.toFixed(1)} ms (no-attack baseline: the control's p95 ${control.p95Ms.toFixed(1)} ms; ${machineLoad()})`,
  );
}

/** Waits up to `ms` for the attacker's connections to be gone; returns what is left. */
export async function attackerConnectionsAfter(service: RunningService, ms: number) {
  const port = Number(new URL(service.url).port);
  const deadline = performance.now() + ms;
  let left = connectionsBetween(ATTACKER_ADDRESS, port);
  while (total(left) > 0 && performance.now() < deadline) {
    await sleep(100);
    left = connectionsBetween(ATTACKER_ADDRESS, port);
  }
  return left;
}

/**
 * After an attack, within RECOVERY_MS: no run in progress, no more sockets than the baseline's,
 * and memory within RSS_SLACK_BYTES of it.
 */
export async function assertRecovered(service: RunningService, base: Baseline) {
  const deadline = performance.now() + RECOVERY_MS;
  const measure = async () => ({
    runs: await runsInProgress(service),
    sockets: openSockets(service.pid),
    rss: rssBytes(service.pid),
  });
  const back = (m: { runs: number; sockets: number; rss: number }) =>
    m.runs === 0 && m.sockets <= base.sockets + SOCKET_SLACK && m.rss <= base.rss + RSS_SLACK_BYTES;
  let left = await measure();
  while (!back(left) && performance.now() < deadline) {
    await sleep(250);
    left = await measure();
  }
  report('  afterwards', {
    runsInProgress: left.runs,
    sockets: `${left.sockets} (${base.sockets} before)`,
    rssMiB: `${mib(left.rss)} (${mib(base.rss)} before)`,
  });
  assert.equal(left.runs, 0, 'runs still in progress after the attack');
  assert.ok(
    left.sockets <= base.sockets + SOCKET_SLACK,
    `${left.sockets} sockets, ${base.sockets} before`,
  );
  assert.ok(
    left.rss <= base.rss + RSS_SLACK_BYTES,
    `RSS ${mib(left.rss)} MiB after the attack, ${mib(base.rss)} MiB before`,
  );
  return left;
}

export const mib = (bytes: number) => Math.round(bytes / 1024 / 1024);

/** The most runs in progress at any one time, from the stored records' start and duration. */
export function storedRunOverlap(dataDir: string, since: number): { runs: number; most: number } {
  const db = new DatabaseSync(join(dataDir, 'agent-service.sqlite'), { readOnly: true });
  try {
    const rows = db
      .prepare('SELECT record FROM runs WHERE created_at >= ?')
      .all(new Date(since).toISOString()) as { record: string }[];
    const edges: [number, number][] = [];
    for (const { record } of rows) {
      const run = JSON.parse(record) as { created_at: string; duration_ms: number };
      const start = Date.parse(run.created_at);
      // Millisecond rounding of both ends: a run that ended as the next began is not an overlap.
      edges.push([start, 1], [start + Math.max(0, run.duration_ms - 2), -1]);
    }
    edges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    let now = 0;
    let most = 0;
    for (const [, step] of edges) most = Math.max(most, (now += step));
    return { runs: rows.length, most };
  } finally {
    db.close();
  }
}

/** The probe's figures for a report line: answered, and p95 beside the control's. */
export function figures(probe: PairedResult): Record<keyof ProbeResult, string> {
  const line = (kind: keyof ProbeResult) => {
    const { answered, sent, p95Ms } = probe.service[kind];
    const control = probe.control[kind].p95Ms;
    return `${answered}/${sent}, p95 ${p95Ms.toFixed(1)} ms (control ${control.toFixed(1)} ms)`;
  };
  return { list: line('list'), run: line('run') };
}

/**
 * The machine's load average beside every timed figure: the control absorbs load that slows
 * both processes alike, but a machine whose runnable threads far outnumber its cores gives the
 * busier process (the one under attack) less of the CPU it asks for.
 */
export const machineLoad = () =>
  `load average ${loadavg()[0]!.toFixed(1)} on ${availableParallelism()} cores`;

/** One line per attack for the report: what it did, what the probe saw, what was left. */
export function report(name: string, figures: Record<string, unknown>): void {
  console.log(`      [attack] ${name}: ${JSON.stringify({ ...figures, machine: machineLoad() })}`);
}
