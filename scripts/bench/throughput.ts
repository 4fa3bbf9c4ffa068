// Saturated throughput, paired: every round starts each configuration once, in an order that
// rotates, and drives it with autocannon on loopback (closed loop: each connection waits for
// its answer). A configuration's ratio is taken against the bare run of the same round, so
// drift between rounds (other work on the machine) cancels out of the pair.
import autocannon from 'autocannon';
import { CONFIGS, cpuSeconds, ENDPOINTS, rssBytes, startApp, type AppOptions } from './apps.ts';
import type { RunningApp } from './apps.ts';
import type { ConfigName, Endpoint, EndpointName } from './apps.ts';

export interface ThroughputOptions {
  rounds: number;
  warmupSeconds: number;
  durationSeconds: number;
  connections: number;
}

export interface Sample {
  /** Only 2xx answers count: a refused or failed request is not throughput. */
  okPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  errors: number;
  /**
   * The service's CPU time per 2xx answer, in µs: what a request costs it, which other work on
   * a shared machine disturbs less than the throughput it can reach.
   */
  cpuUsPerRequest: number;
}

export type PerConfig<T> = Record<ConfigName, T>;
export type Samples = PerConfig<Record<EndpointName, Sample[]>> & { rss: PerConfig<number[]> };

export function perConfig<T>(make: () => T): PerConfig<T> {
  return Object.fromEntries(CONFIGS.map((c) => [c, make()])) as PerConfig<T>;
}

export function rotated<T>(items: readonly T[], round: number): T[] {
  return items.map((_, i) => items[(i + round) % items.length]);
}

export function progress(message: string): void {
  process.stdout.write(`${new Date().toISOString().slice(11, 19)} ${message}\n`);
}

export async function drive(
  app: RunningApp,
  endpoint: Endpoint,
  seconds: number,
  connections: number,
): Promise<Sample> {
  const pid = app.pid;
  const cpuBefore = cpuSeconds(pid);
  const result = await autocannon({
    url: `${app.url}${endpoint.path}`,
    method: endpoint.method,
    headers: endpoint.headers,
    body: endpoint.body,
    idReplacement: endpoint.body !== undefined,
    connections,
    duration: seconds,
  });
  return {
    okPerSecond: result['2xx'] / seconds,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
    cpuUsPerRequest: ((cpuSeconds(pid) - cpuBefore) * 1e6) / Math.max(1, result['2xx']),
  };
}

/** Each endpoint in turn on a started app: a warm-up, then the sample handed to `report`. */
export async function measureEndpoints(
  running: RunningApp,
  o: ThroughputOptions,
  report: (endpoint: Endpoint, sample: Sample) => void,
): Promise<void> {
  for (const endpoint of ENDPOINTS) {
    await drive(running, endpoint, o.warmupSeconds, o.connections);
    report(endpoint, await drive(running, endpoint, o.durationSeconds, o.connections));
  }
}

async function measureConfig(
  config: ConfigName,
  o: ThroughputOptions,
  app: AppOptions,
  samples: Samples,
  label: string,
): Promise<void> {
  const running = await startApp(config, app);
  try {
    await measureEndpoints(running, o, (endpoint, sample) => {
      samples[config][endpoint.name].push(sample);
      const failed = sample.non2xx + sample.errors;
      progress(
        `${label} ${config.padEnd(12)} ${endpoint.label.padEnd(28)} ` +
          `${sample.okPerSecond.toFixed(0).padStart(6)} 2xx/s  p99 ${sample.p99Ms} ms  ${sample.cpuUsPerRequest.toFixed(0)} µs CPU/req` +
          (failed > 0 ? `  (${sample.non2xx} non-2xx, ${sample.errors} errors)` : ''),
      );
    });
    samples.rss[config].push(rssBytes(running.pid));
  } finally {
    await running.stop();
  }
}

export async function throughputRounds(o: ThroughputOptions, app: AppOptions): Promise<Samples> {
  const samples = {
    ...perConfig(() => ({ cheap: [] as Sample[], run: [] as Sample[] })),
    rss: perConfig(() => [] as number[]),
  } as Samples;
  for (let round = 0; round < o.rounds; round++) {
    // Rotate the order so no configuration always runs first (cold caches) or last.
    for (const config of rotated(CONFIGS, round)) {
      await measureConfig(config, o, app, samples, `round ${round + 1}/${o.rounds}`);
    }
  }
  return samples;
}
