// `make bench`: what the service's telemetry costs, measured side by side in one run.
//
// Three configurations of the same build (app/dist) are started one after another, in an
// order that rotates every round, and driven by autocannon on loopback with the same
// connections, warm-up and duration:
//   bare     telemetry off: no OpenTelemetry SDK, no metrics middleware
//   default  what `make up` runs: metrics, every trace exported to a local OTLP sink, info logs
//   lean     the production profile: default with 10 % head sampling (OTEL_TRACES_SAMPLER*)
// Then two soak measurements on the default configuration: /metrics scrape time and size
// after load, and memory over a sustained run with the OTLP endpoint down.
// Results: a table on the terminal, docs/bench/results.json and docs/bench/bench.svg.
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import autocannon from 'autocannon';
import { renderChart } from './chart.ts';
import { startOtlpSink } from './otlp-sink.ts';
import { roundRatios, slope, spread, type Spread } from './stats.ts';

const repoRoot = resolve(import.meta.dirname, '../..');
const appDir = join(repoRoot, 'app');
const outDir = join(repoRoot, 'docs/bench');

const options = {
  rounds: Number(process.env.BENCH_ROUNDS ?? 3),
  warmupSeconds: Number(process.env.BENCH_WARMUP ?? 2),
  durationSeconds: Number(process.env.BENCH_DURATION ?? 6),
  connections: Number(process.env.BENCH_CONNECTIONS ?? 16),
  soakSeconds: Number(process.env.BENCH_SOAK ?? 60),
};

// The soak's memory trend is a slope over its last third, sampled once a second.
if (!(options.soakSeconds >= 6)) throw new Error('BENCH_SOAK must be at least 6 seconds');

const API_KEY = 'bench-key-0123456789abcdef';

type ConfigName = 'bare' | 'default' | 'lean';
const CONFIGS: ConfigName[] = ['bare', 'default', 'lean'];

interface Endpoint {
  name: 'cheap' | 'run';
  label: string;
  path: string;
  request: Omit<autocannon.Options, 'url'>;
}

const ENDPOINTS: Endpoint[] = [
  {
    name: 'cheap',
    label: 'GET /v1/agents',
    path: '/v1/agents',
    request: { method: 'GET', headers: { 'x-api-key': API_KEY } },
  },
  {
    name: 'run',
    label: 'POST /v1/agents/:agent/runs',
    path: '/v1/agents/research/runs',
    request: {
      method: 'POST',
      headers: { 'x-api-key': API_KEY, 'content-type': 'application/json' },
      // A unique input per request: identical prompts would be served from the response cache.
      body: JSON.stringify({ input: 'Summarise the benchmark request [<id>] in two sentences.' }),
      idReplacement: true,
    },
  },
];

interface Sample {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  errors: number;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const address = server.address();
  await new Promise<void>((done) => server.close(() => done()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

interface RunningApp {
  url: string;
  process: ChildProcess;
  stop: () => Promise<void>;
}

async function startApp(config: ConfigName, otlpEndpoint: string): Promise<RunningApp> {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), `bench-${config}-`));
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    NODE_ENV: 'production',
    PORT: String(port),
    DATA_DIR: dataDir,
    API_KEYS: `${API_KEY}:pro`,
    // The benchmark measures the service, not its rate limiter.
    RATE_LIMIT_PRO_RPS: '1000000',
    RATE_LIMIT_PRO_BURST: '1000000',
    LLM_LATENCY_SCALE: '0',
    LOG_LEVEL: 'info',
    OTEL_EXPORTER_OTLP_ENDPOINT: otlpEndpoint,
    TELEMETRY_ENABLED: config === 'bare' ? 'false' : 'true',
  };
  if (config === 'lean') {
    env.OTEL_TRACES_SAMPLER = 'parentbased_traceidratio';
    env.OTEL_TRACES_SAMPLER_ARG = '0.1';
  }
  const args =
    config === 'bare'
      ? ['dist/server.js']
      : ['--require', './dist/telemetry/instrument.js', 'dist/server.js'];
  // Logs go to /dev/null: writing them is part of the cost, reading them is not.
  const child = spawn(process.execPath, args, {
    cwd: appDir,
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${config} app exited at start:\n${stderr}`);
    try {
      if ((await fetch(`${url}/health/live`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${config} app did not start in 20 s:\n${stderr}`);
    await sleep(100);
  }
  return {
    url,
    process: child,
    stop: async () => {
      const exited = new Promise((done) => child.once('exit', done));
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(15_000)]);
      if (child.exitCode === null) child.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+) kB/m.exec(status);
  if (!match) throw new Error(`no VmRSS for ${pid}`);
  return Number(match[1]) * 1024;
}

async function drive(url: string, endpoint: Endpoint, seconds: number): Promise<Sample> {
  const result = await autocannon({
    ...endpoint.request,
    url: `${url}${endpoint.path}`,
    connections: options.connections,
    duration: seconds,
  });
  return {
    requestsPerSecond: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
  };
}

function progress(message: string): void {
  process.stdout.write(`${new Date().toISOString().slice(11, 19)} ${message}\n`);
}

type Samples = Record<ConfigName, Record<Endpoint['name'], Sample[]>> & {
  rss: Record<ConfigName, number[]>;
};

async function throughputRounds(otlpEndpoint: string): Promise<Samples> {
  const samples = {
    bare: { cheap: [], run: [] },
    default: { cheap: [], run: [] },
    lean: { cheap: [], run: [] },
    rss: { bare: [], default: [], lean: [] },
  } as Samples;
  for (let round = 0; round < options.rounds; round++) {
    // Rotate the order so no configuration always runs first (cold caches) or last.
    const order = CONFIGS.map((_, i) => CONFIGS[(i + round) % CONFIGS.length]);
    for (const config of order) {
      const app = await startApp(config, otlpEndpoint);
      try {
        for (const endpoint of ENDPOINTS) {
          await drive(app.url, endpoint, options.warmupSeconds);
          const sample = await drive(app.url, endpoint, options.durationSeconds);
          samples[config][endpoint.name].push(sample);
          progress(
            `round ${round + 1}/${options.rounds} ${config.padEnd(7)} ${endpoint.label.padEnd(28)} ` +
              `${sample.requestsPerSecond.toFixed(0).padStart(6)} req/s  p99 ${sample.p99Ms} ms` +
              (sample.non2xx + sample.errors > 0
                ? `  (${sample.non2xx} non-2xx, ${sample.errors} errors)`
                : ''),
          );
        }
        samples.rss[config].push(rssBytes(app.process.pid as number));
      } finally {
        await app.stop();
      }
    }
  }
  return samples;
}

interface ScrapeResult {
  series: number;
  bytes: number;
  milliseconds: Spread;
}

async function measureScrape(otlpEndpoint: string): Promise<ScrapeResult> {
  const app = await startApp('default', otlpEndpoint);
  try {
    // Touch every agent, both tiers' code paths and the error routes so the label sets that
    // load creates exist, then time the scrape a Prometheus would do.
    for (const agent of ['research', 'support', 'analyst']) {
      await drive(app.url, { ...ENDPOINTS[1], path: `/v1/agents/${agent}/runs` }, 1);
    }
    await fetch(`${app.url}/no-such-route`);
    const times: number[] = [];
    let body = '';
    for (let i = 0; i < 20; i++) {
      const started = performance.now();
      body = await (await fetch(`${app.url}/metrics`)).text();
      times.push(performance.now() - started);
    }
    const series = body.split('\n').filter((line) => line !== '' && !line.startsWith('#')).length;
    return { series, bytes: Buffer.byteLength(body), milliseconds: spread(times) };
  } finally {
    await app.stop();
  }
}

interface LabelledMetric {
  labels: (...values: string[]) => {
    inc: (value?: number) => void;
    observe: (value: number) => void;
  };
}

interface ServiceMetrics {
  registry: { metrics: () => Promise<string> };
  agentRuns: LabelledMetric;
  agentRunDuration: LabelledMetric;
  agentToolCalls: LabelledMetric;
  llmRequests: LabelledMetric;
  llmRequestDuration: LabelledMetric;
  llmTokens: LabelledMetric;
  llmCost: LabelledMetric;
}

/**
 * The service's own registry (app/dist/telemetry/metrics.js) filled with the label sets of a
 * fork with 72 agents and 16 models: about 5,000 series, the size where a scrape starts to
 * cost. It runs in this process because the demo's catalog is fixed at 3 agents and 3 models.
 */
async function measureRegistryAtScale(): Promise<ScrapeResult> {
  const require = createRequire(import.meta.url);
  const { metrics } = require(join(appDir, 'dist/telemetry/metrics.js')) as {
    metrics: ServiceMetrics;
  };
  const agents = Array.from({ length: 72 }, (_, i) => `agent-${i}`);
  const models = Array.from({ length: 16 }, (_, i) => `model-${i}`);
  for (const agent of agents) {
    for (const tier of ['free', 'pro']) {
      for (const status of ['success', 'error', 'timeout', 'rejected'])
        metrics.agentRuns.labels(agent, tier, status).inc();
    }
    for (const status of ['success', 'error', 'timeout'])
      metrics.agentRunDuration.labels(agent, status).observe(1.5);
    for (const tool of ['search', 'calculator']) {
      for (const status of ['success', 'error'])
        metrics.agentToolCalls.labels(agent, tool, status).inc();
    }
  }
  for (const model of models) {
    for (const status of ['success', 'error', 'circuit_open'])
      metrics.llmRequests.labels('simulated', model, status).inc();
    metrics.llmRequestDuration.labels('simulated', model).observe(0.8);
    for (const type of ['input', 'output'])
      metrics.llmTokens.labels('simulated', model, type).inc(100);
    for (const tier of ['free', 'pro']) metrics.llmCost.labels('simulated', model, tier).inc(0.01);
  }
  const times: number[] = [];
  let body = '';
  for (let i = 0; i < 20; i++) {
    const started = performance.now();
    body = await metrics.registry.metrics();
    times.push(performance.now() - started);
  }
  return {
    series: body.split('\n').filter((line) => line !== '' && !line.startsWith('#')).length,
    bytes: Buffer.byteLength(body),
    milliseconds: spread(times),
  };
}

interface SoakResult {
  seconds: number;
  requests: number;
  rssStartBytes: number;
  rssPeakBytes: number;
  rssEndBytes: number;
  lastThirdSlopeBytesPerSecond: number;
  exportFailures: number;
}

async function soakWithOtlpDown(): Promise<SoakResult> {
  // A port nobody listens on: every export fails fast with ECONNREFUSED.
  const deadEndpoint = `http://127.0.0.1:${await freePort()}`;
  const app = await startApp('default', deadEndpoint);
  try {
    const pid = app.process.pid as number;
    const samples: { t: number; rss: number }[] = [];
    const started = Date.now();
    const sampler = setInterval(
      () => samples.push({ t: (Date.now() - started) / 1000, rss: rssBytes(pid) }),
      1000,
    );
    const load = await drive(app.url, ENDPOINTS[1], options.soakSeconds);
    clearInterval(sampler);
    const metrics = await (await fetch(`${app.url}/metrics`)).text();
    const failures = /^telemetry_export_failures_total\{signal="traces"\} (\S+)/m.exec(metrics);
    // RSS climbs while V8 grows its heap to a working size, then levels off; the last third
    // of the run says whether it keeps growing (a leak) or holds (bounded).
    const lastThird = samples.slice(Math.floor((samples.length * 2) / 3));
    return {
      seconds: options.soakSeconds,
      requests: Math.round(load.requestsPerSecond * options.soakSeconds),
      rssStartBytes: samples[0]?.rss ?? 0,
      rssPeakBytes: Math.max(...samples.map((s) => s.rss)),
      rssEndBytes: samples.at(-1)?.rss ?? 0,
      lastThirdSlopeBytesPerSecond: slope(
        lastThird.map((s) => s.t),
        lastThird.map((s) => s.rss),
      ),
      exportFailures: failures ? Number(failures[1]) : 0,
    };
  } finally {
    await app.stop();
  }
}

const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
const fmtSpread = (s: Spread, digits = 2) =>
  `${s.median.toFixed(digits)} (${s.min.toFixed(digits)}–${s.max.toFixed(digits)})`;

async function main(): Promise<void> {
  const startedAt = new Date();
  const machine = `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;
  progress(
    `bench: ${options.rounds} rounds × ${CONFIGS.length} configurations × ${ENDPOINTS.length} endpoints, ` +
      `${options.connections} connections, ${options.warmupSeconds} s warm-up + ${options.durationSeconds} s each`,
  );
  progress(`machine: ${machine}`);

  const sink = await startOtlpSink();
  let samples: Samples;
  let scrape: ScrapeResult;
  try {
    samples = await throughputRounds(sink.url);
    const received = await sink.stats();
    progress(`OTLP sink received ${received.exports} exports (${mib(received.bytes)} MiB)`);
    scrape = await measureScrape(sink.url);
  } finally {
    await sink.close();
  }
  const registryAtScale = await measureRegistryAtScale();
  progress(`soak: ${options.soakSeconds} s of agent runs with the OTLP endpoint down`);
  const soak = await soakWithOtlpDown();

  const targets: Partial<Record<`${ConfigName}:${Endpoint['name']}`, number>> = {
    'default:run': 0.9,
    'lean:cheap': 0.75,
  };
  const rows = CONFIGS.flatMap((config) =>
    ENDPOINTS.map((endpoint) => {
      const runs = samples[config][endpoint.name];
      const rps = runs.map((s) => s.requestsPerSecond);
      const ratio = spread(
        roundRatios(
          rps,
          samples.bare[endpoint.name].map((s) => s.requestsPerSecond),
        ),
      );
      const target = targets[`${config}:${endpoint.name}`];
      return {
        config,
        endpoint: endpoint.label,
        endpointName: endpoint.name,
        requestsPerSecond: spread(rps),
        p50Ms: spread(runs.map((s) => s.p50Ms)),
        p99Ms: spread(runs.map((s) => s.p99Ms)),
        rssBytes: spread(samples.rss[config]),
        ratioToBare: ratio,
        target,
        targetMet: target === undefined ? undefined : ratio.median >= target,
        failedResponses: runs.reduce((sum, s) => sum + s.non2xx + s.errors, 0),
      };
    }),
  );

  console.log(
    '\nconfiguration  endpoint                      req/s (min–max)            p50 ms   p99 ms   RSS MiB   ÷ bare (min–max)    target',
  );
  for (const row of rows) {
    console.log(
      `${row.config.padEnd(14)} ${row.endpoint.padEnd(29)} ${fmtSpread(row.requestsPerSecond, 0).padEnd(26)} ` +
        `${row.p50Ms.median.toFixed(0).padStart(6)} ${row.p99Ms.median.toFixed(0).padStart(8)} ` +
        `${mib(row.rssBytes.median).padStart(9)}   ${fmtSpread(row.ratioToBare).padEnd(18)} ` +
        (row.target === undefined
          ? ''
          : `≥ ${row.target.toFixed(2)} ${row.targetMet ? 'met' : 'NOT met'}`),
    );
  }
  console.log(
    `\n/metrics after load: ${scrape.series} series, ${(scrape.bytes / 1024).toFixed(0)} KiB, ` +
      `scrape ${fmtSpread(scrape.milliseconds, 1)} ms`,
  );
  console.log(
    `registry at a fork's scale (72 agents, 16 models): ${registryAtScale.series} series, ` +
      `${(registryAtScale.bytes / 1024).toFixed(0)} KiB, serialised in ${fmtSpread(registryAtScale.milliseconds, 1)} ms`,
  );
  console.log(
    `OTLP endpoint down, ${soak.seconds} s of runs (${soak.requests} requests): RSS ${mib(soak.rssStartBytes)} → ` +
      `peak ${mib(soak.rssPeakBytes)} → ${mib(soak.rssEndBytes)} MiB, slope over the last third ` +
      `${(soak.lastThirdSlopeBytesPerSecond / 1024).toFixed(0)} KiB/s, ${soak.exportFailures} failed exports counted`,
  );

  mkdirSync(outDir, { recursive: true });
  const results = {
    date: startedAt.toISOString(),
    machine,
    options,
    rows,
    scrape,
    registryAtScale,
    soak,
  };
  writeFileSync(join(outDir, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  const chart = renderChart({
    title: 'Throughput kept with telemetry on',
    subtitle: `${startedAt.toISOString().slice(0, 10)} · ${machine}`,
    groups: ENDPOINTS.map((endpoint) => ({
      label: endpoint.label,
      bars: rows
        .filter((row) => row.endpointName === endpoint.name && row.config !== 'bare')
        .map((row) => ({ label: row.config, ratio: row.ratioToBare, target: row.target })),
    })),
  });
  writeFileSync(join(outDir, 'bench.svg'), chart);
  console.log(
    `\nwrote ${join('docs/bench', 'results.json')} and ${join('docs/bench', 'bench.svg')}`,
  );
}

await main();
