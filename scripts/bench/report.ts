// From samples to the figures `make bench` prints and saves: medians with their spread over
// the paired rounds, and a verdict per target that says "not judgeable" when the spread
// straddles it.
import { CONFIGS, ENDPOINTS, type ConfigName, type EndpointName } from './apps.ts';
import type { EncodingCost } from './encode.ts';
import type { Footprint } from './footprint.ts';
import type { LatencySamples } from './latency.ts';
import { pairedDifferences, roundRatios, spread, verdict, type Spread } from './stats.ts';
import type { Verdict } from './stats.ts';
import type { ScrapeResult, SoakResult } from './soak.ts';
import type { Samples } from './throughput.ts';

type Key = `${ConfigName}:${EndpointName}`;

/** Throughput kept, as a share of bare: the goals of docs/bench/README.md. */
export const THROUGHPUT_TARGETS: Partial<Record<Key, number>> = {
  'default:run': 0.9,
  'default:cheap': 0.75,
  'lean:cheap': 0.75,
};

/**
 * The widest scatter of per-pair values a verdict accepts: ratios within 0.2 of each other (a
 * ±10 % band), added p99s within 1 ms (the size of the latency target itself).
 */
const MAX_RATIO_WIDTH = 0.2;
const MAX_ADDED_LATENCY_WIDTH_US = 1000;

/** p99 added over bare at the fixed rate, in microseconds. */
export const LATENCY_TARGETS_US: Partial<Record<Key, number>> = {
  'default:run': 1000,
  'default:cheap': 1000,
};

export interface Target {
  value: number;
  verdict: Verdict;
}

export interface ThroughputRow {
  config: ConfigName;
  endpoint: string;
  endpointName: EndpointName;
  okPerSecond: Spread;
  p99Ms: Spread;
  rssBytes: Spread;
  ratioToBare: Spread;
  /** The per-round ratios the spread and the verdict come from. */
  pairs: number[];
  /** CPU per request: its value, and bare's CPU per request ÷ this one, pair by pair (the
   * throughput a CPU-bound service would keep; less disturbed by other work than req/s). */
  cpuUsPerRequest: Spread;
  cpuRatioToBare: Spread;
  target?: Target;
  failedResponses: number;
}

export interface LatencyRow {
  config: ConfigName;
  endpoint: string;
  endpointName: EndpointName;
  rate: number;
  p50Us: Spread;
  p99Us: Spread;
  p999Us: Spread;
  p99AddedUs: Spread;
  /** The per-round differences the spread and the verdict come from. */
  pairs: number[];
  target?: Target;
  failed: number;
}

const each = <T>(make: (config: ConfigName, endpoint: (typeof ENDPOINTS)[number]) => T): T[] =>
  CONFIGS.flatMap((config) => ENDPOINTS.map((endpoint) => make(config, endpoint)));

export function throughputRows(samples: Samples): ThroughputRow[] {
  return each((config, endpoint) => {
    const runs = samples[config][endpoint.name];
    const bare = samples.bare[endpoint.name].map((s) => s.okPerSecond);
    const ratios = roundRatios(
      runs.map((s) => s.okPerSecond),
      bare,
    );
    const goal = THROUGHPUT_TARGETS[`${config}:${endpoint.name}`];
    const cpu = runs.map((s) => s.cpuUsPerRequest);
    return {
      config,
      endpoint: endpoint.label,
      endpointName: endpoint.name,
      cpuUsPerRequest: spread(cpu),
      cpuRatioToBare: spread(
        roundRatios(
          samples.bare[endpoint.name].map((s) => s.cpuUsPerRequest),
          cpu,
        ),
      ),
      okPerSecond: spread(runs.map((s) => s.okPerSecond)),
      p99Ms: spread(runs.map((s) => s.p99Ms)),
      rssBytes: spread(samples.rss[config]),
      ratioToBare: spread(ratios),
      pairs: ratios,
      target:
        goal === undefined
          ? undefined
          : { value: goal, verdict: verdict(ratios, goal, 'atLeast', MAX_RATIO_WIDTH) },
      failedResponses: runs.reduce((sum, s) => sum + s.non2xx + s.errors, 0),
    };
  });
}

/** Half the slowest configuration's median saturated throughput, per endpoint. */
export function fixedRates(rows: ThroughputRow[]): Record<EndpointName, number> {
  const half = (name: EndpointName) =>
    Math.max(
      1,
      Math.round(
        Math.min(...rows.filter((r) => r.endpointName === name).map((r) => r.okPerSecond.median)) /
          2,
      ),
    );
  return { cheap: half('cheap'), run: half('run') };
}

export function latencyRows(samples: LatencySamples): LatencyRow[] {
  return each((config, endpoint) => {
    const runs = samples[config][endpoint.name];
    const added = pairedDifferences(
      runs.map((s) => s.p99Us),
      samples.bare[endpoint.name].map((s) => s.p99Us),
    );
    const goal = LATENCY_TARGETS_US[`${config}:${endpoint.name}`];
    return {
      config,
      endpoint: endpoint.label,
      endpointName: endpoint.name,
      rate: runs[0]?.rate ?? 0,
      p50Us: spread(runs.map((s) => s.p50Us)),
      p99Us: spread(runs.map((s) => s.p99Us)),
      p999Us: spread(runs.map((s) => s.p999Us)),
      p99AddedUs: spread(added),
      pairs: added,
      target:
        goal === undefined
          ? undefined
          : { value: goal, verdict: verdict(added, goal, 'atMost', MAX_ADDED_LATENCY_WIDTH_US) },
      failed: runs.reduce((sum, s) => sum + s.failed, 0),
    };
  });
}

const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
export const fmtSpread = (s: Spread, digits = 2) =>
  `${s.median.toFixed(digits)} (${s.min.toFixed(digits)}–${s.max.toFixed(digits)})`;

function targetText(target: Target | undefined, relation: '≥' | '≤', unit = ''): string {
  if (target === undefined) return '';
  return `${relation} ${target.value}${unit}: ${target.verdict}`;
}

export function printThroughput(rows: ThroughputRow[]): void {
  console.log(
    `\n${'configuration'.padEnd(13)} ${'endpoint'.padEnd(28)} ${'2xx/s (min–max)'.padEnd(24)} p99 ms  RSS MiB  CPU µs/req  ${'CPU: bare ÷ this'.padEnd(18)} ${'÷ bare (min–max)'.padEnd(18)} target`,
  );
  for (const r of rows) {
    console.log(
      `${r.config.padEnd(13)} ${r.endpoint.padEnd(28)} ${fmtSpread(r.okPerSecond, 0).padEnd(24)} ` +
        `${r.p99Ms.median.toFixed(0).padStart(6)} ${mib(r.rssBytes.median).padStart(8)}  ` +
        `${r.cpuUsPerRequest.median.toFixed(0).padStart(10)}  ${fmtSpread(r.cpuRatioToBare).padEnd(18)} ` +
        `${fmtSpread(r.ratioToBare).padEnd(18)} ${targetText(r.target, '≥')}` +
        (r.failedResponses > 0 ? `  (${r.failedResponses} not 2xx)` : ''),
    );
  }
}

export function printLatency(rows: LatencyRow[]): void {
  console.log(
    `\n${'configuration'.padEnd(13)} ${'endpoint'.padEnd(28)} req/s  p50 µs   p99 µs  p99.9 µs  ${'p99 added over bare, µs'.padEnd(24)} target`,
  );
  for (const r of rows) {
    console.log(
      `${r.config.padEnd(13)} ${r.endpoint.padEnd(28)} ${String(r.rate).padStart(5)} ` +
        `${r.p50Us.median.toFixed(0).padStart(7)} ${r.p99Us.median.toFixed(0).padStart(8)} ` +
        `${r.p999Us.median.toFixed(0).padStart(9)}  ${(r.config === 'bare' ? '' : fmtSpread(r.p99AddedUs, 0)).padEnd(24)} ` +
        targetText(r.target, '≤', ' µs') +
        (r.failed > 0 ? `  (${r.failed} failed or skipped)` : ''),
    );
  }
}

export function printFootprint(f: Footprint): void {
  console.log(`\nprocess          RSS MiB (peak)   CPU s/min   disk MiB/h`);
  const line = (name: string, rss: number, peak: number, cpu: number, disk: number) =>
    console.log(
      `${name.padEnd(16)} ${`${mib(rss)} (${mib(peak)})`.padStart(14)} ${cpu.toFixed(2).padStart(11)} ${mib(disk).padStart(12)}`,
    );
  for (const p of f.processes)
    line(p.name, p.rssBytes, p.rssPeakBytes, p.cpuSecondsPerMinute, p.diskBytesPerHour);
  const sum = (list: typeof f.processes, key: keyof Omit<(typeof f.processes)[number], 'name'>) =>
    list.reduce((total, p) => total + p[key], 0);
  for (const [label, list] of [
    ['observability', f.processes.filter((p) => p.name !== 'app')],
    ['total', f.processes],
  ] as const) {
    line(
      label,
      sum(list, 'rssBytes'),
      sum(list, 'rssPeakBytes'),
      sum(list, 'cpuSecondsPerMinute'),
      sum(list, 'diskBytesPerHour'),
    );
  }
  for (const m of f.missing) console.log(`not measured: ${m.component} (${m.reason})`);
  if (f.seriesByJob)
    console.log(
      `series by job: ${Object.entries(f.seriesByJob)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([job, n]) => `${job} ${n}`)
        .join(', ')}`,
    );
  // The memory goal of docs/bench/README.md: the whole stack, Grafana included, under 1 GiB resident.
  const rss = sum(f.processes, 'rssBytes');
  const complete = !f.missing.some((m) => m.component !== 'app');
  console.log(
    `goal: the whole stack under 1 GiB resident: ${complete ? (rss < 2 ** 30 ? 'met' : 'not met') : 'not judgeable'}` +
      (complete ? '' : ` (${f.missing.map((m) => m.component).join(', ')} not measured)`),
  );
  const ms = (value: number | undefined) =>
    value === undefined ? `not within 90 s` : `${(value / 1000).toFixed(1)} s`;
  console.log(
    `startup: every process ready ${ms(f.startup.readyMs)}, first scrape ${ms(f.startup.firstScrapeMs)}, ` +
      `every target up ${ms(f.startup.allTargetsUpMs)}; load: ${f.requests.sent} requests, statuses ${JSON.stringify(f.requests.statuses)}`,
  );
}

export interface Costs {
  scrape: ScrapeResult;
  registryAtScale: ScrapeResult;
  encoding: EncodingCost;
  soak: SoakResult;
}

export function printCosts({ scrape, registryAtScale, encoding, soak }: Costs): void {
  const kib = (bytes: number) => (bytes / 1024).toFixed(0);
  console.log(
    `\n/metrics after load: ${scrape.series} series, ${kib(scrape.bytes)} KiB, scrape ${fmtSpread(scrape.milliseconds, 1)} ms`,
  );
  console.log(
    `registry at a fork's scale (72 agents, 16 models): ${registryAtScale.series} series, ` +
      `${kib(registryAtScale.bytes)} KiB, serialised in ${fmtSpread(registryAtScale.milliseconds, 1)} ms`,
  );
  const { json, protobuf } = encoding;
  console.log(
    `OTLP encoding per span (CPU, batches of ${encoding.spansPerBatch}): JSON ${json.usPerSpan.toFixed(1)} µs, ` +
      `${json.bytesPerSpan.toFixed(0)} B; protobuf ${protobuf.usPerSpan.toFixed(1)} µs, ${protobuf.bytesPerSpan.toFixed(0)} B`,
  );
  console.log(
    `OTLP endpoint down, ${soak.seconds} s of runs (${soak.requests} requests): RSS ${mib(soak.rssStartBytes)} → ` +
      `peak ${mib(soak.rssPeakBytes)} → ${mib(soak.rssEndBytes)} MiB, slope over the last third ` +
      `${kib(soak.lastThirdSlopeBytesPerSecond)} KiB/s, ${soak.exportFailures} failed exports counted`,
  );
}
