// The whole stack's footprint, measured the way test/e2e starts it (scripts/lib/stack/stack.ts:
// free ports, its own state directory, never the default ports), under `make load`'s steady
// traffic: resident memory per process, CPU seconds per minute, disk written per hour, and the
// time from start until Prometheus's first scrape and until every target is up, and the series
// each scrape job adds to Prometheus (the node exporter's among them). Grafana does not run
// natively, so its figure is missing here (the compose stack's `docker stats` has it).
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fetchCatalog } from '../lib/load/catalog.ts';
import { LoadGenerator } from '../lib/load/generator.ts';
import { steady } from '../lib/load/mix.ts';
import { startStack, type Stack } from '../lib/stack/stack.ts';
import { cpuSeconds, rssBytes } from './apps.ts';
import { progress } from './throughput.ts';

const STARTUP_LIMIT_MS = 90_000;
// `make load`'s default rate.
const LOAD_RATE = 10;

export interface ProcessFootprint {
  name: string;
  rssBytes: number;
  rssPeakBytes: number;
  cpuSecondsPerMinute: number;
  diskBytesPerHour: number;
}

export interface Footprint {
  seconds: number;
  loadRate: number;
  processes: ProcessFootprint[];
  /** Components that did not run here, with the reason (always Grafana natively). */
  missing: { component: string; reason: string }[];
  startup: { readyMs: number; firstScrapeMs?: number; allTargetsUpMs?: number };
  requests: { sent: number; statuses: Record<string, number> };
  /** Series in Prometheus by scrape job, at the end (what each exporter costs it). */
  seriesByJob?: Record<string, number>;
}

interface Counters {
  cpuSeconds: number;
  writeBytes: number;
}

function counters(pid: number): Counters {
  const io = readFileSync(`/proc/${pid}/io`, 'utf8');
  return {
    cpuSeconds: cpuSeconds(pid),
    writeBytes: Number(/^write_bytes: (\d+)/m.exec(io)?.[1] ?? 0),
  };
}

type Target = { health: string };

async function targets(promUrl: string): Promise<Target[]> {
  const res = await fetch(`${promUrl}/api/v1/targets?state=active`, {
    signal: AbortSignal.timeout(2000),
  });
  return ((await res.json()) as { data: { activeTargets: Target[] } }).data.activeTargets;
}

/** The series of each scrape job, as Prometheus holds them now. */
async function seriesByJob(promUrl: string): Promise<Record<string, number>> {
  const query = encodeURIComponent('count by (job) ({job!=""})');
  const res = await fetch(`${promUrl}/api/v1/query?query=${query}`, {
    signal: AbortSignal.timeout(5000),
  });
  const body = (await res.json()) as {
    data: { result: { metric: { job: string }; value: [number, string] }[] };
  };
  return Object.fromEntries(body.data.result.map((r) => [r.metric.job, Number(r.value[1])]));
}

/** Polls Prometheus's targets: when the first was scraped, and when all were up. */
async function scrapeTimes(promUrl: string, startedAt: number): Promise<Footprint['startup']> {
  const times: Partial<Footprint['startup']> = {};
  while (performance.now() - startedAt < STARTUP_LIMIT_MS) {
    const active = await targets(promUrl).catch(() => [] as Target[]);
    const elapsed = Math.round(performance.now() - startedAt);
    if (times.firstScrapeMs === undefined && active.some((t) => t.health !== 'unknown'))
      times.firstScrapeMs = elapsed;
    if (active.length > 0 && active.every((t) => t.health === 'up')) {
      times.allTargetsUpMs = elapsed;
      break;
    }
    await sleep(200);
  }
  return { readyMs: 0, ...times };
}

async function startMeasuredStack(stateDir: string, keys: { free: string; pro: string }) {
  return startStack({
    stateDir,
    ports: 'free',
    adminToken: randomBytes(24).toString('base64url'),
    apiKeys: keys, // the keys the load below uses
    log: (line) => progress(`stack: ${line}`),
  });
}

/** RSS, CPU and disk of every process over `seconds`, RSS sampled once a second for the peak. */
async function sample(stack: Stack, seconds: number): Promise<ProcessFootprint[]> {
  const processes = stack.processes().filter((p) => p.exit === undefined);
  const before = processes.map((p) => counters(p.pid));
  const peak = processes.map((p) => rssBytes(p.pid));
  for (let s = 0; s < seconds; s++) {
    await sleep(1000);
    processes.forEach((p, i) => (peak[i] = Math.max(peak[i], rssBytes(p.pid))));
  }
  return processes.map((p, i) => {
    const after = counters(p.pid);
    return {
      name: p.name,
      rssBytes: rssBytes(p.pid),
      rssPeakBytes: peak[i],
      cpuSecondsPerMinute: ((after.cpuSeconds - before[i].cpuSeconds) / seconds) * 60,
      diskBytesPerHour: ((after.writeBytes - before[i].writeBytes) / seconds) * 3600,
    };
  });
}

export async function measureFootprint(seconds: number): Promise<Footprint> {
  const stateDir = mkdtempSync(join(tmpdir(), 'bench-footprint-'));
  const keys = {
    free: randomBytes(24).toString('base64url'),
    pro: randomBytes(24).toString('base64url'),
  };
  const startedAt = performance.now();
  const stack = await startMeasuredStack(stateDir, keys);
  const readyMs = Math.round(performance.now() - startedAt);
  const catalog = await fetchCatalog(stack.urls.app, keys.pro);
  const load = new LoadGenerator({ baseUrl: stack.urls.app, keys, catalog });
  try {
    load.start(steady, LOAD_RATE);
    const startup = stack.urls.prometheus
      ? { ...(await scrapeTimes(stack.urls.prometheus, startedAt)), readyMs }
      : { readyMs };
    progress(`footprint: stack up in ${readyMs} ms; ${seconds} s under load at ${LOAD_RATE} req/s`);
    const processes = await sample(stack, seconds);
    await load.stop(2_000);
    const series = stack.urls.prometheus ? await seriesByJob(stack.urls.prometheus) : undefined;
    return {
      seconds,
      loadRate: LOAD_RATE,
      processes,
      missing: [
        ...stack.missing,
        { component: 'grafana', reason: 'not run natively (no Docker engine)' },
      ],
      startup,
      seriesByJob: series,
      requests: {
        sent: load.stats.sent,
        statuses: Object.fromEntries(
          [...load.stats.statusCounts].map(([status, count]) => [String(status), count]),
        ),
      },
    };
  } finally {
    await load.stop(0);
    await stack.stop();
    rmSync(stateDir, { recursive: true, force: true });
  }
}
