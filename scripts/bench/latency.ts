// Added latency at a fixed rate: open-loop Poisson arrivals from the project's load generator
// (scripts/lib/load/generator.ts), the same rate for every configuration, each latency timed
// from the request's intended send time, so a stall delays the requests due during it instead
// of silently postponing them (no coordinated omission). The rate is about half the slowest
// configuration's saturated throughput in the same run: the slower configurations then still
// keep up instead of queueing without bound.
import { BENCH_KEY, CONFIGS, ENDPOINTS, startApp, type AppOptions } from './apps.ts';
import type { ConfigName, Endpoint, EndpointName } from './apps.ts';
import { LoadGenerator } from '../lib/load/generator.ts';
import type { Profile } from '../lib/load/mix.ts';
import { perConfig, progress, rotated, type PerConfig } from './throughput.ts';

export interface LatencyOptions {
  rounds: number;
  warmupSeconds: number;
  durationSeconds: number;
  /** Open requests beyond this are skipped and counted (the generator's bound). */
  maxInFlight: number;
}

export interface LatencySample {
  rate: number;
  p50Us: number;
  p99Us: number;
  p999Us: number;
  answered: number;
  /** Answers other than 2xx, requests with no answer, and arrivals skipped as over the bound. */
  failed: number;
}

export type LatencySamples = PerConfig<Record<EndpointName, LatencySample[]>>;

/** A one-request "mix": the bench endpoint, a unique input per run (no cache hits). */
function profileOf(endpoint: Endpoint): Profile {
  let id = 0;
  return () => ({
    kind: endpoint.name === 'run' ? 'run' : 'list-agents',
    method: endpoint.method,
    path: endpoint.path,
    headers: endpoint.headers,
    body: endpoint.body?.replace('<id>', String(++id)),
  });
}

async function openLoop(
  url: string,
  endpoint: Endpoint,
  rate: number,
  seconds: number,
  o: LatencyOptions,
) {
  // performance.now(): microsecond resolution, where Date.now() has milliseconds.
  const generator = new LoadGenerator({
    baseUrl: url,
    keys: { free: BENCH_KEY, pro: BENCH_KEY },
    maxInFlight: o.maxInFlight,
    timeoutMs: 10_000,
    now: () => performance.now(),
  });
  generator.start(profileOf(endpoint), rate);
  await new Promise((done) => setTimeout(done, seconds * 1000));
  await generator.stop(5_000);
  return generator.stats;
}

export async function measureLatency(
  url: string,
  endpoint: Endpoint,
  rate: number,
  o: LatencyOptions,
): Promise<LatencySample> {
  await openLoop(url, endpoint, rate, o.warmupSeconds, o);
  const stats = await openLoop(url, endpoint, rate, o.durationSeconds, o);
  let ok = 0;
  for (const [status, count] of stats.statusCounts) if (status >= 200 && status < 300) ok += count;
  const us = (p: number) => (stats.percentile(p) ?? NaN) * 1000;
  return {
    rate,
    p50Us: us(50),
    p99Us: us(99),
    p999Us: us(99.9),
    answered: stats.completed,
    failed: stats.completed - ok + stats.skipped,
  };
}

export async function latencyRounds(
  rates: Record<EndpointName, number>,
  o: LatencyOptions,
  app: AppOptions,
): Promise<LatencySamples> {
  const samples = perConfig(() => ({ cheap: [] as LatencySample[], run: [] as LatencySample[] }));
  for (let round = 0; round < o.rounds; round++) {
    for (const config of rotated(CONFIGS, round) as ConfigName[]) {
      const running = await startApp(config, app);
      try {
        for (const endpoint of ENDPOINTS) {
          const sample = await measureLatency(running.url, endpoint, rates[endpoint.name], o);
          samples[config][endpoint.name].push(sample);
          progress(
            `latency ${round + 1}/${o.rounds} ${config.padEnd(12)} ${endpoint.label.padEnd(28)} ` +
              `${rates[endpoint.name].toFixed(0)} req/s: p50 ${sample.p50Us.toFixed(0)} µs, ` +
              `p99 ${sample.p99Us.toFixed(0)} µs` +
              (sample.failed > 0 ? ` (${sample.failed} failed or skipped)` : ''),
          );
        }
      } finally {
        await running.stop();
      }
    }
  }
  return samples;
}
