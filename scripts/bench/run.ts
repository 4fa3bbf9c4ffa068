// `make bench`: what the service's telemetry costs, against the service without it and
// against the conventional OpenTelemetry setup, and what the whole stack costs a machine.
//
// 1. Saturated throughput (throughput.ts): bare, conventional, default and lean (apps.ts) in
//    paired, interleaved rounds; each configuration's ratio to the bare run of its round.
// 2. Added latency at a fixed rate (latency.ts): open-loop Poisson load at half the slowest
//    configuration's throughput from step 1, the same rate for all.
// 3. What each signal costs (breakdown.ts): default with its log export, its spans or both
//    switched off, paired with bare like step 1.
// 4. The /metrics scrape, the registry at a fork's scale, OTLP encoding per span (JSON against
//    protobuf), memory with the OTLP endpoint down.
// 5. The native stack's footprint under `make load` traffic (footprint.ts).
// Each target gets a verdict: met, not met, or not judgeable at the spread this run had.
// Results go to scripts/bench/results/ (git-ignored); `make bench-publish` copies them over the
// published docs/bench/results.json and bench.svg.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { ENDPOINTS, type AppOptions } from './apps.ts';
import { breakdownRounds, breakdownRows, printBreakdown } from './breakdown.ts';
import { renderChart } from './chart.ts';
import { measureEncoding } from './encode.ts';
import { measureFootprint } from './footprint.ts';
import { latencyRounds } from './latency.ts';
import { startOtlpSink } from './otlp-sink.ts';
import { fixedRates, latencyRows, printCosts, printFootprint } from './report.ts';
import { printLatency, printThroughput, throughputRows, type ThroughputRow } from './report.ts';
import { measureRegistryAtScale, measureScrape, soakWithOtlpDown } from './soak.ts';
import { progress, throughputRounds } from './throughput.ts';
import { REPO_ROOT } from '../lib/repo.ts';

const outDir = resolve(REPO_ROOT, process.env.BENCH_OUT ?? 'scripts/bench/results');

const num = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const options = {
  throughput: {
    rounds: num('BENCH_ROUNDS', 5),
    // Each start is a cold process: 2 s lets V8 compile the hot path before the 3 s that count.
    warmupSeconds: num('BENCH_WARMUP', 2),
    durationSeconds: num('BENCH_DURATION', 3),
    connections: num('BENCH_CONNECTIONS', 16),
  },
  latency: {
    rounds: num('BENCH_LATENCY_ROUNDS', 3),
    warmupSeconds: num('BENCH_WARMUP', 2),
    durationSeconds: num('BENCH_LATENCY_DURATION', 4),
    maxInFlight: 512,
  },
  // Paired rounds of bare, default and three variants (breakdown.ts); 0 skips the phase.
  breakdownRounds: num('BENCH_BREAKDOWN_ROUNDS', 5),
  soakSeconds: num('BENCH_SOAK', 30),
  footprintSeconds: num('BENCH_FOOTPRINT', 60),
};
// The soak's memory trend is a slope over its last third, sampled once a second.
if (!(options.soakSeconds >= 6)) throw new Error('BENCH_SOAK must be at least 6 seconds');

function machine(): string {
  const cpu = cpus()[0]?.model.trim() ?? 'unknown CPU';
  return `${cpus().length} × ${cpu}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;
}

async function measureBreakdown(app: AppOptions) {
  if (options.breakdownRounds <= 0) return undefined;
  const { warmupSeconds, durationSeconds, connections } = options.throughput;
  const o = { rounds: options.breakdownRounds, warmupSeconds, durationSeconds, connections };
  return breakdownRows(await breakdownRounds(o, app));
}

async function serviceBench(maxConcurrentRuns: number) {
  const sink = await startOtlpSink();
  const app = { otlpEndpoint: sink.url, maxConcurrentRuns };
  try {
    const samples = await throughputRounds(options.throughput, app);
    const throughput = throughputRows(samples);
    const rates = fixedRates(throughput);
    progress(`fixed rates (half the slowest): ${JSON.stringify(rates)} req/s`);
    const latency = latencyRows(await latencyRounds(rates, options.latency, app));
    const received = await sink.stats();
    progress(
      `OTLP sink received ${JSON.stringify(received.byPath)} exports, ${received.bytes} bytes`,
    );
    const breakdown = await measureBreakdown(app);
    const scrape = await measureScrape(app, options.throughput.connections);
    return { throughput, latency, breakdown, scrape, sinkExports: received.byPath };
  } finally {
    await sink.close();
  }
}

function chartOf(rows: ThroughputRow[], date: Date): string {
  return renderChart({
    title: 'Throughput kept with telemetry on',
    subtitle: `${date.toISOString().slice(0, 10)} · ${machine()}`,
    groups: ENDPOINTS.map((endpoint) => ({
      label: endpoint.label,
      bars: rows
        .filter((row) => row.endpointName === endpoint.name && row.config !== 'bare')
        .map((row) => ({ label: row.config, ratio: row.ratioToBare, target: row.target?.value })),
    })),
  });
}

/** Every measurement, in the order that keeps them apart (the footprint's stack last). */
async function measureAll(startedAt: Date) {
  const maxConcurrentRuns =
    2 * Math.max(options.throughput.connections, options.latency.maxInFlight);
  const service = await serviceBench(maxConcurrentRuns);
  const registryAtScale = await measureRegistryAtScale();
  const encoding = measureEncoding();
  progress(`soak: ${options.soakSeconds} s of agent runs with the OTLP endpoint down`);
  const soak = await soakWithOtlpDown(
    { otlpEndpoint: '', maxConcurrentRuns },
    options.soakSeconds,
    options.throughput.connections,
  );
  const footprint =
    options.footprintSeconds > 0 ? await measureFootprint(options.footprintSeconds) : undefined;
  const durationSeconds = Math.round((Date.now() - startedAt.getTime()) / 1000);
  return {
    ...{ date: startedAt.toISOString(), machine: machine(), durationSeconds, options },
    ...service,
    ...{ registryAtScale, encoding, soak, footprint },
  };
}

type Results = Awaited<ReturnType<typeof measureAll>>;

function printResults(r: Results): void {
  printThroughput(r.throughput);
  printLatency(r.latency);
  if (r.breakdown) printBreakdown(r.breakdown);
  printCosts({
    scrape: r.scrape,
    registryAtScale: r.registryAtScale,
    encoding: r.encoding,
    soak: r.soak,
  });
  if (r.footprint) printFootprint(r.footprint);
}

function writeResults(r: Results, startedAt: Date): void {
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'results.json'), `${JSON.stringify(r, null, 2)}\n`);
  writeFileSync(join(outDir, 'bench.svg'), chartOf(r.throughput, startedAt));
  const rel = relative(process.cwd(), outDir) || '.';
  console.log(
    `\nbench took ${r.durationSeconds} s; wrote ${rel}/results.json and ${rel}/bench.svg (make bench-publish copies them to docs/bench/)`,
  );
}

async function main(): Promise<void> {
  const startedAt = new Date();
  progress(`bench: ${JSON.stringify(options)}`);
  progress(`machine: ${machine()}`);
  const results = await measureAll(startedAt);
  printResults(results);
  writeResults(results, startedAt);
}

await main();
