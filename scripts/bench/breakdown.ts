// What each of `default`'s signals costs the service: paired rounds of bare, default, and
// default with one signal switched off by its standard setting (no code change). The
// differences say what moves default's ratios (docs/bench/README.md) and what a fork buys by
// turning a signal off or sampling it.
import { ENDPOINTS, startApp, type AppOptions, type ConfigName } from './apps.ts';
import type { EndpointName } from './apps.ts';
import { pairedDifferences, roundRatios, spread, type Spread } from './stats.ts';
import { fmtSpread } from './report.ts';
import { measureEndpoints, progress, rotated } from './throughput.ts';
import type { Sample, ThroughputOptions } from './throughput.ts';

export interface Variant {
  name: string;
  config: ConfigName;
  env: Record<string, string>;
  /** What runs in it, for the printed table. */
  what: string;
}

const NO_LOG_EXPORT = { OTEL_LOGS_EXPORTER: 'none' };
// Spans still start (a non-recording span carries the context): only recording and export stop.
const NO_SPANS_RECORDED = { OTEL_TRACES_SAMPLER: 'always_off' };

export const VARIANTS: readonly Variant[] = [
  { name: 'bare', config: 'bare', env: {}, what: 'no telemetry' },
  { name: 'default', config: 'default', env: {}, what: 'metrics, every span, every log record' },
  { name: 'no log export', config: 'default', env: NO_LOG_EXPORT, what: 'metrics, every span' },
  {
    name: 'no spans recorded',
    config: 'default',
    env: NO_SPANS_RECORDED,
    what: 'metrics, every log record',
  },
  {
    name: 'metrics only',
    config: 'default',
    env: { ...NO_LOG_EXPORT, ...NO_SPANS_RECORDED },
    what: 'metrics, context propagation',
  },
];

/** Samples per variant name and endpoint, one per round. */
export type BreakdownSamples = Record<string, Record<EndpointName, Sample[]>>;

async function measureVariant(
  variant: Variant,
  o: ThroughputOptions,
  app: AppOptions,
  samples: BreakdownSamples,
): Promise<void> {
  const running = await startApp(variant.config, { ...app, env: { ...app.env, ...variant.env } });
  try {
    await measureEndpoints(running, o, (endpoint, sample) => {
      samples[variant.name][endpoint.name].push(sample);
      progress(
        `breakdown ${variant.name.padEnd(18)} ${endpoint.label.padEnd(28)} ` +
          `${sample.cpuUsPerRequest.toFixed(0).padStart(5)} µs CPU/req`,
      );
    });
  } finally {
    await running.stop();
  }
}

export async function breakdownRounds(
  o: ThroughputOptions,
  app: AppOptions,
): Promise<BreakdownSamples> {
  const samples: BreakdownSamples = Object.fromEntries(
    VARIANTS.map((v) => [v.name, { cheap: [], run: [] }]),
  );
  for (let round = 0; round < o.rounds; round++) {
    for (const variant of rotated(VARIANTS, round)) await measureVariant(variant, o, app, samples);
  }
  return samples;
}

export interface BreakdownRow {
  variant: string;
  what: string;
  endpoint: string;
  endpointName: EndpointName;
  cpuUsPerRequest: Spread;
  /** CPU per request over bare's in the same round: what the signals left on cost. */
  addedCpuUs: Spread;
  /** Throughput kept, 2xx/s ÷ bare's in the same round. */
  ratioToBare: Spread;
  /** The per-round values both spreads come from, to check them by hand. */
  pairs: { addedCpuUs: number[]; ratioToBare: number[] };
}

export function breakdownRows(samples: BreakdownSamples): BreakdownRow[] {
  return VARIANTS.flatMap((variant) =>
    ENDPOINTS.map((endpoint) => {
      const runs = samples[variant.name][endpoint.name];
      const bare = samples.bare[endpoint.name];
      const cpu = runs.map((s) => s.cpuUsPerRequest);
      const added = pairedDifferences(
        cpu,
        bare.map((s) => s.cpuUsPerRequest),
      );
      const ratios = roundRatios(
        runs.map((s) => s.okPerSecond),
        bare.map((s) => s.okPerSecond),
      );
      return {
        variant: variant.name,
        what: variant.what,
        endpoint: endpoint.label,
        endpointName: endpoint.name,
        cpuUsPerRequest: spread(cpu),
        addedCpuUs: spread(added),
        ratioToBare: spread(ratios),
        pairs: { addedCpuUs: added, ratioToBare: ratios },
      };
    }),
  );
}

export function printBreakdown(rows: BreakdownRow[]): void {
  console.log(
    `\nwhat each signal costs: ${'variant'.padEnd(18)} ${'endpoint'.padEnd(28)} CPU µs/req  ${'added over bare, µs'.padEnd(20)} ÷ bare`,
  );
  for (const r of rows) {
    console.log(
      `${''.padEnd(24)}${r.variant.padEnd(18)} ${r.endpoint.padEnd(28)} ` +
        `${r.cpuUsPerRequest.median.toFixed(0).padStart(10)}  ` +
        `${(r.variant === 'bare' ? '' : fmtSpread(r.addedCpuUs, 0)).padEnd(20)} ${fmtSpread(r.ratioToBare)}`,
    );
  }
  for (const v of VARIANTS) console.log(`${''.padEnd(24)}${v.name.padEnd(18)} ${v.what}`);
}
