// The configurations the benchmark compares, each a start of the same build (app/dist):
//   bare          telemetry off: no OpenTelemetry SDK, no metrics middleware
//   conventional  bare plus the OpenTelemetry getting-started setup (conventional.ts): sdk-node
//                 with the auto-instrumentations' defaults, OTLP traces, metrics and logs
//   default       what `make up` runs: metrics, every trace exported, info logs
//   lean          the production profile: default with 10 % head sampling, and log records of
//                 the unsampled 90 % only from WARN up
// and the two endpoints every configuration is driven on.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePorts } from '../lib/ports.ts';
import { Supervisor } from '../lib/supervisor.ts';

const CLOCK_TICKS_PER_SECOND = 100; // USER_HZ on Linux (getconf CLK_TCK)

export const CONFIGS = ['bare', 'conventional', 'default', 'lean'] as const;
export type ConfigName = (typeof CONFIGS)[number];

const repoRoot = resolve(import.meta.dirname, '../..');
export const APP_DIR = join(repoRoot, 'app');
const CONVENTIONAL_ENTRY = join(import.meta.dirname, 'conventional.ts');

// A fresh key per run, 32 base64url characters like `make configure`'s: the service refuses
// keys shorter than 16 characters.
export const BENCH_KEY = randomBytes(24).toString('base64url');

export type EndpointName = 'cheap' | 'run';

export interface Endpoint {
  name: EndpointName;
  label: string;
  method: 'GET' | 'POST';
  path: string;
  headers: Record<string, string>;
  /** For POST: the body, with `<id>` replaced by a unique id per request. */
  body?: string;
}

export const ENDPOINTS: readonly Endpoint[] = [
  {
    name: 'cheap',
    label: 'GET /v1/agents',
    method: 'GET',
    path: '/v1/agents',
    headers: { 'x-api-key': BENCH_KEY },
  },
  {
    name: 'run',
    label: 'POST /v1/agents/:agent/runs',
    method: 'POST',
    path: '/v1/agents/research/runs',
    headers: { 'x-api-key': BENCH_KEY, 'content-type': 'application/json' },
    // A unique input per request: identical prompts would be served from the response cache.
    body: JSON.stringify({ input: 'Summarise the benchmark request [<id>] in two sentences.' }),
  },
];

export interface RunningApp {
  url: string;
  /** Its management port: /metrics, /health*. */
  managementUrl: string;
  pid: number;
  stop: () => Promise<void>;
}

export interface AppOptions {
  otlpEndpoint: string;
  /** The concurrency cap: set above every client's connection count, so no run is refused. */
  maxConcurrentRuns: number;
  /** Extra variables, last: for trying a setting (e.g. OTEL_BSP_*) against the same baseline. */
  env?: Record<string, string>;
}

function appEnv(
  config: ConfigName,
  ports: { api: number; management: number },
  dataDir: string,
  o: AppOptions,
) {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    NODE_ENV: 'production',
    PORT: String(ports.api),
    HOST: '127.0.0.1',
    MANAGEMENT_PORT: String(ports.management),
    DATA_DIR: dataDir,
    API_KEYS: `${BENCH_KEY}:pro`,
    // The benchmark measures the service, not its rate limiter or its overload guards.
    RATE_LIMIT_PRO_RPS: '1000000',
    RATE_LIMIT_PRO_BURST: '1000000',
    MAX_CONCURRENT_RUNS: String(o.maxConcurrentRuns),
    RUN_CONCURRENCY_PRO: String(o.maxConcurrentRuns),
    // The latency phase keeps up to 512 requests in flight, each client on this one address.
    MAX_CONNECTIONS_PER_ADDRESS: '1024',
    // Every scrape renders: the scrape figure is what a render costs, not the cache.
    METRICS_CACHE_MS: '0',
    LLM_LATENCY_SCALE: '0',
    LOG_LEVEL: 'info',
    OTEL_EXPORTER_OTLP_ENDPOINT: o.otlpEndpoint,
    // conventional: the service's own middleware and spans off, the guide's SDK on instead.
    TELEMETRY_ENABLED: config === 'default' || config === 'lean' ? 'true' : 'false',
  };
  if (config === 'lean') {
    env.OTEL_TRACES_SAMPLER = 'parentbased_traceidratio';
    env.OTEL_TRACES_SAMPLER_ARG = '0.1';
    env.LOGS_EXPORT_UNSAMPLED = 'warn';
  }
  return { ...env, ...o.env };
}

const ENTRY_ARGS: Record<ConfigName, string[]> = {
  bare: ['dist/server.js'],
  conventional: ['--import', CONVENTIONAL_ENTRY, 'dist/server.js'],
  default: ['--require', './dist/telemetry/instrument.js', 'dist/server.js'],
  lean: ['--require', './dist/telemetry/instrument.js', 'dist/server.js'],
};

/** One configuration of the app on a free port, started and stopped by the Supervisor. */
export async function startApp(config: ConfigName, o: AppOptions): Promise<RunningApp> {
  const [api, management] = await freePorts(2);
  const ports = { api: api!, management: management! };
  const dataDir = mkdtempSync(join(tmpdir(), `bench-${config}-`));
  const url = `http://127.0.0.1:${ports.api}`;
  const managementUrl = `http://127.0.0.1:${ports.management}`;
  const supervisor = new Supervisor();
  const stop = async () => {
    await supervisor.stopAll();
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    const { pid } = await supervisor.start({
      name: config,
      command: process.execPath,
      args: ENTRY_ARGS[config],
      cwd: APP_DIR,
      env: appEnv(config, ports, dataDir, o),
      // stderr only (start-up failures); stdout, the logs, to /dev/null.
      logFile: join(dataDir, 'stderr.log'),
      discardStdout: true,
      ports: [ports.api, ports.management],
      ready: async () => (await fetch(`${managementUrl}/health/live`)).ok,
      readyTimeoutMs: 30_000,
    });
    return { url, managementUrl, pid, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** User plus system CPU time of a process so far, in seconds (proc(5): utime, stime). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The fields after the command name, which may hold spaces: utime and stime are the 12th
  // and 13th of them.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
}

export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+) kB/m.exec(status);
  if (!match) throw new Error(`no VmRSS for ${pid}`);
  return Number(match[1]) * 1024;
}
