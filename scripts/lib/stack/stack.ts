// The native stack: the app (Node 24) and, where their binaries exist, Jaeger, VictoriaLogs, the
// Collector, Alertmanager and Prometheus, with the repo's own configs rewritten for loopback ports (and,
// for tests, scaled in time), plus the local alert receiver in this process. Used by
// `make native` (scripts/native.ts) and the whole-stack tests (test/e2e/).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { findBinary, type FoundBinary, type ProgramName } from '../binaries.ts';
import { startAlertReceiver, type AlertReceiver } from '../alert-receiver.ts';
import { renderConfigs, collectorSources, SOURCES, type Rendered } from './configs.ts';
import { randomBytes } from 'node:crypto';
import { REPO_DIR, type ApiKeysByTier } from './endpoints.ts';
import { freePorts, isPortFree } from './ports.ts';
import { formatDuration } from './duration.ts';
import { listenPorts, type AddressMap, type TimeScaling } from './rewrite.ts';
import { logTail, Supervisor, type Managed, type ProcessSpec } from './supervisor.ts';
import { victoriaLogsArgs } from './victorialogs.ts';

/**
 * Floors of the time scaling (SPEC 8, 9): intervals and Alertmanager timers no faster than
 * 1 s; range windows at least 4 scrapes, so rate() has enough samples; `for:` at least two
 * evaluations (rewrite.ts), so one late scrape at start-up or under load cannot fire an alert
 * on its own.
 */
export const FLOORS = { minIntervalMs: 1000, minRangeScrapes: 4 } as const;

/**
 * The whole-stack test's factor: one hour becomes one minute. The fastest burn-rate page
 * (14.4× over 1 h and 5 m, for: 2m) then watches 60 s and 5 s windows for 2 s, and fires
 * about 10–15 s after a 50 % error fault; 5 m windows stay 5 scrapes of 1 s.
 */
export const TEST_TIME_SCALE = 1 / 60;

/** The app's own health checks (every 5 s), scaled, keep pace with 1 s scrapes. */
export const scaledHealthCheckMs = (timeScale: number) =>
  Math.max(1000, Math.round(5000 * timeScale));

/**
 * Prometheus re-sends firing alerts every minute; an alert that fired before the Alertmanager
 * was discovered (Watchdog, at the first evaluation) would otherwise wait that long. Scaled like
 * the rest, no faster than two evaluations.
 */
export const scaledResendDelayMs = (timeScale: number, evaluationIntervalMs: number) =>
  Math.max(60_000 * timeScale, 2 * evaluationIntervalMs);

export type Component =
  'app' | 'prometheus' | 'alertmanager' | 'otel-collector' | 'jaeger' | 'victorialogs';

const PROGRAM: Record<Exclude<Component, 'app'>, ProgramName> = {
  prometheus: 'prometheus',
  alertmanager: 'alertmanager',
  'otel-collector': 'otelcol',
  jaeger: 'jaeger',
  victorialogs: 'victoria-logs',
};

/** What to tell someone whose binary is missing. */
export const INSTALL_HINT: Record<Exclude<Component, 'app'>, string> = {
  prometheus: 'make tools (pinned build), or apt-get install prometheus',
  alertmanager: 'make tools (pinned build), or apt-get install prometheus-alertmanager',
  'otel-collector': 'make tools (builds otelcol with the Collector Builder)',
  jaeger: 'make tools (builds Jaeger v2 from Go modules)',
  victorialogs: 'make tools (builds VictoriaLogs from its Go module)',
};

// Ports a person opens in a browser or points a client at: under `make native` they keep
// their compose numbers or the start fails, so the scripts' defaults stay right.
const USER_FACING = new Set([
  'app:8000',
  'prometheus:9090',
  'alertmanager:9093',
  'alert-receiver:9095',
  'jaeger:16686',
  'victorialogs:9428',
  'otel-collector:4318',
  'otel-collector:4317',
]);

export interface StackOptions {
  repoDir?: string;
  /** Configs, data and logs go under it. */
  stateDir: string;
  /** `compose`: the compose port numbers (make native); `free`: any free ports (tests). */
  ports: 'compose' | 'free';
  /** Scale every time parameter by this factor (1 = the real values). */
  timeScale?: number;
  /** Start the Collector, Jaeger and VictoriaLogs where all three binaries exist (default true). */
  traces?: boolean;
  /** Components whose absence is an error rather than a warning. */
  require?: Component[];
  adminToken: string;
  /** The app's keys; generated when not given (the app accepts no default keys). */
  apiKeys?: ApiKeysByTier;
  log?: (line: string) => void;
}

export interface StackUrls {
  app: string;
  receiver: string;
  prometheus?: string;
  alertmanager?: string;
  jaeger?: string;
  /** VictoriaLogs: OTLP logs in from the Collector, the LogsQL query API (/select/logsql/...). */
  victorialogs?: string;
  /** The Collector's OTLP/HTTP and OTLP/gRPC endpoints. */
  otlpHttp?: string;
  otlpGrpc?: string;
}

export interface Stack {
  urls: StackUrls;
  /** Compose `host:port` → local address, every port the stack uses. */
  addresses: AddressMap;
  adminToken: string;
  /** A key of each tier, in the app's API_KEYS. */
  apiKeys: ApiKeysByTier;
  timeScale: number;
  scaling?: TimeScaling;
  rendered: Rendered;
  /** The binary each started component runs. */
  binaries: Partial<Record<Component, FoundBinary>>;
  /** Components not started, with the reason. */
  missing: { component: Component; reason: string }[];
  receiver: AlertReceiver;
  dirs: { state: string; config: string; data: string; logs: string };
  processes(): Managed[];
  stopApp(): Promise<void>;
  startApp(): Promise<void>;
  /**
   * Stop one started component (SIGTERM, as `docker compose stop` does), e.g. Jaeger, to watch
   * the Collector queue and retry while its backend is away.
   */
  stopComponent(c: Exclude<Component, 'app'>): Promise<void>;
  /** Start it again with the same config, ports and data directory; resolves once it is ready. */
  startComponent(c: Exclude<Component, 'app'>): Promise<void>;
  /** Stop everything this stack started, app first; safe to call twice. */
  stop(): Promise<void>;
}

/** Ports the Collector and Jaeger configs listen on (compose keys), read from the configs. */
function componentPorts(repoDir: string, component: 'otel-collector' | 'jaeger'): string[] {
  const files = component === 'jaeger' ? [SOURCES.jaeger] : collectorSources();
  return [
    ...new Set(
      files
        .map((rel) => path.join(repoDir, rel))
        .filter((f) => existsSync(f))
        .flatMap((f) => listenPorts(readFileSync(f, 'utf8'), component)),
    ),
  ];
}

async function planPorts(
  keys: string[],
  mode: 'compose' | 'free',
): Promise<Record<string, number>> {
  const spare = await freePorts(keys.length);
  const plan: Record<string, number> = {};
  const taken = new Set<number>();
  for (const key of keys) {
    const composePort = Number(key.slice(key.lastIndexOf(':') + 1));
    let port = spare.pop() as number;
    if (mode === 'compose' && !taken.has(composePort)) {
      if (await isPortFree(composePort)) port = composePort;
      else if (USER_FACING.has(key)) {
        throw new Error(
          `port ${composePort} (${key.split(':')[0]}) is in use: is \`make up\` or another \`make native\` running? ` +
            'Stop it first (make down), or start with --ports free.',
        );
      }
    }
    taken.add(port);
    plan[key] = port;
  }
  return plan;
}

/** Wait until every target has been scraped once, then load the rules and wait for them. */
async function loadRules(
  promUrl: string,
  rendered: Rendered,
  reload: () => void,
  log: string,
): Promise<void> {
  const get = async <T>(p: string) =>
    (
      (await (await fetch(`${promUrl}${p}`, { signal: AbortSignal.timeout(2000) })).json()) as {
        data: T;
      }
    ).data;
  const poll = async (what: string, timeoutMs: number, done: () => Promise<boolean>) => {
    const deadline = Date.now() + timeoutMs;
    while (!(await done().catch(() => false))) {
      if (Date.now() > deadline)
        throw new Error(`Prometheus: ${what}; last lines of ${log}:\n${logTail(log)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  };
  await poll('not every target was scraped within 30 s', 30_000, async () => {
    const { activeTargets } = await get<{ activeTargets: { health: string }[] }>(
      '/api/v1/targets?state=active',
    );
    return activeTargets.length > 0 && activeTargets.every((t) => t.health !== 'unknown');
  });
  writeFileSync(rendered.prometheus.file, rendered.prometheus.fullText);
  reload();
  const groups = rendered.prometheus.ruleFiles.reduce((n, f) => {
    const doc = YAML.parse(readFileSync(f, 'utf8')) as { groups?: unknown[] } | null;
    return n + (doc?.groups?.length ?? 0);
  }, 0);
  await poll(`the rules did not load (${groups} groups expected)`, 30_000, async () => {
    const data = await get<{ groups: unknown[] }>('/api/v1/rules');
    return data.groups.length === groups;
  });
}

export async function startStack(o: StackOptions): Promise<Stack> {
  const repoDir = o.repoDir ?? REPO_DIR;
  const log = o.log ?? (() => {});
  // 32 base64url characters, like `make configure`'s: the app refuses keys under 16.
  const newKey = () => randomBytes(24).toString('base64url');
  const apiKeys = o.apiKeys ?? { free: newKey(), pro: newKey() };
  const dirs = {
    state: o.stateDir,
    config: path.join(o.stateDir, 'config'),
    data: path.join(o.stateDir, 'data'),
    logs: path.join(o.stateDir, 'logs'),
  };
  for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true });

  const appEntry = path.join(repoDir, 'app/dist/server.js');
  if (!existsSync(appEntry))
    throw new Error(`${appEntry} is missing: build the app first (cd app && npm run build)`);

  // Which components can run here.
  const binaries: Partial<Record<Component, FoundBinary>> = {};
  const missing: Stack['missing'] = [];
  const telemetry = ['otel-collector', 'jaeger', 'victorialogs'] as const;
  for (const c of ['prometheus', 'alertmanager', ...telemetry] as const) {
    if (telemetry.some((t) => t === c) && o.traces === false) continue;
    const b = findBinary(PROGRAM[c]);
    if (b) binaries[c] = b;
    else
      missing.push({
        component: c,
        reason: `no ${PROGRAM[c]} binary (install: ${INSTALL_HINT[c]})`,
      });
  }
  // Traces and logs need all three: the Collector exports to Jaeger and to VictoriaLogs.
  const absent = telemetry.filter((c) => !binaries[c]);
  if (absent.length > 0) {
    for (const c of telemetry) {
      if (binaries[c]) {
        missing.push({ component: c, reason: `not started: ${absent.join(' and ')} missing` });
        delete binaries[c];
      }
    }
  }
  for (const c of o.require ?? []) {
    const m = missing.find((x) => x.component === c);
    if (m) throw new Error(`${c} is required here: ${m.reason}`);
  }
  const traces = Boolean(binaries['otel-collector']);
  for (const m of missing) log(`!! ${m.component} not started: ${m.reason}`);
  for (const [c, b] of Object.entries(binaries)) {
    if (b.source === 'debian') {
      log(
        `!! ${c}: using Debian's ${b.name} ${b.version} (${b.path}); the pinned build is not there (make tools)`,
      );
    }
  }

  const keys = ['app:8000', 'prometheus:9090', 'alertmanager:9093', 'alert-receiver:9095'];
  if (traces)
    keys.push(
      ...componentPorts(repoDir, 'otel-collector'),
      ...componentPorts(repoDir, 'jaeger'),
      'victorialogs:9428',
    );
  const plan = await planPorts(keys, o.ports);
  const addresses: Record<string, string[]> = Object.fromEntries(
    Object.entries(plan).map(([k, p]) => [k, [`127.0.0.1:${p}`]]),
  );
  const url = (key: string) => `http://127.0.0.1:${plan[key]}`;

  const timeScale = o.timeScale ?? 1;
  const scaling = timeScale < 1 ? { factor: timeScale, ...FLOORS } : undefined;
  const running = new Set<string>([
    'app',
    'alert-receiver',
    ...(Object.keys(binaries) as Component[]),
  ]);
  const rendered = renderConfigs({
    repoDir,
    outDir: dirs.config,
    addresses,
    running,
    scaling,
    prometheusCompat: Number(binaries.prometheus?.version.split('.')[0]) >= 3 ? 'v3' : 'v2',
    collector: traces,
    jaeger: traces,
  });
  // What the rewrite changed, for the programs that run (the rest is not read by anything).
  if (binaries.prometheus)
    for (const n of rendered.prometheus.notes) log(`   prometheus config: ${n}`);
  if (binaries.alertmanager)
    for (const n of rendered.alertmanager.notes) log(`   alertmanager config: ${n}`);

  const supervisor = new Supervisor((m) =>
    log(
      `!! ${m.name} (pid ${m.pid}) exited unexpectedly (code ${m.exit?.code}, signal ${m.exit?.signal}); log: ${m.logFile}`,
    ),
  );
  const logFile = (name: string) => path.join(dirs.logs, `${name}.log`);
  const dataDir = (name: string) => {
    const d = path.join(dirs.data, name);
    mkdirSync(d, { recursive: true });
    return d;
  };
  const ok = (u: string) => async () => (await fetch(u, { signal: AbortSignal.timeout(2000) })).ok;
  // What each component was started with, so startComponent can start it again.
  const specs = new Map<string, ProcessSpec>();
  const start = (spec: ProcessSpec) => {
    specs.set(spec.name, spec);
    return supervisor.start(spec);
  };

  const appSpec: ProcessSpec = {
    name: 'app',
    command: process.execPath,
    args: ['--require', './dist/telemetry/instrument.js', 'dist/server.js'],
    cwd: path.join(repoDir, 'app'),
    env: {
      ...process.env,
      PORT: String(plan['app:8000']),
      HOST: '127.0.0.1',
      DATA_DIR: dataDir('app'),
      ADMIN_TOKEN: o.adminToken,
      API_KEYS: `${apiKeys.free}:free,${apiKeys.pro}:pro`,
      ...(traces
        ? { OTEL_EXPORTER_OTLP_ENDPOINT: url('otel-collector:4318') }
        : // No Collector: sample no trace, so nothing is exported into the void (which would
          // count as export failures). TELEMETRY_ENABLED=false would not do: it also switches
          // off the HTTP metrics (the benchmark's bare baseline, app/README.md).
          { OTEL_TRACES_SAMPLER: 'always_off', OTEL_LOGS_EXPORTER: 'none' }),
      ...(scaling ? { HEALTH_CHECK_INTERVAL_MS: String(scaledHealthCheckMs(timeScale)) } : {}),
    },
    logFile: logFile('app'),
    ports: [plan['app:8000']],
    ready: ok(`${url('app:8000')}/health/ready`),
  };

  let receiver: AlertReceiver | undefined;
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await supervisor.stopAll(['app', 'otel-collector', 'jaeger', 'victorialogs']);
    await receiver?.close();
  };

  try {
    receiver = await startAlertReceiver({ port: plan['alert-receiver:9095'] });
    const [jaeger, collector] = [binaries.jaeger, binaries['otel-collector']];
    if (jaeger && collector && rendered.jaeger && rendered.collector) {
      const portsOf = (c: string) =>
        Object.entries(plan)
          .filter(([k]) => k.startsWith(`${c}:`))
          .map(([, p]) => p);
      await start({
        name: 'jaeger',
        command: jaeger.path,
        args: [`--config=${rendered.jaeger.file}`],
        logFile: logFile('jaeger'),
        ports: portsOf('jaeger'),
        ready: ok(`${url('jaeger:13133')}/status`),
      });
      await start({
        name: 'victorialogs',
        command: (binaries.victorialogs as FoundBinary).path,
        args: victoriaLogsArgs(
          repoDir,
          dataDir('victorialogs'),
          `127.0.0.1:${plan['victorialogs:9428']}`,
        ),
        logFile: logFile('victorialogs'),
        ports: portsOf('victorialogs'),
        ready: ok(`${url('victorialogs:9428')}/health`),
      });
      await start({
        name: 'otel-collector',
        command: collector.path,
        args: rendered.collector.files.map((f) => `--config=${f}`),
        logFile: logFile('otel-collector'),
        ports: portsOf('otel-collector'),
        ready: ok(`${url('otel-collector:13133')}/`),
      });
    }
    await supervisor.start(appSpec);
    if (binaries.alertmanager) {
      await start({
        name: 'alertmanager',
        command: binaries.alertmanager.path,
        args: [
          `--config.file=${rendered.alertmanager.file}`,
          `--storage.path=${dataDir('alertmanager')}`,
          `--web.listen-address=127.0.0.1:${plan['alertmanager:9093']}`,
          `--web.external-url=${url('alertmanager:9093')}`,
          // One instance: no gossip port (9094 by default) to open.
          '--cluster.listen-address=',
        ],
        logFile: logFile('alertmanager'),
        ports: [plan['alertmanager:9093']],
        ready: ok(`${url('alertmanager:9093')}/-/ready`),
      });
    }
    // Last, so that its first scrape finds every target up. Prometheus evaluates rules from
    // its first second but starts scraping only at its first target reload, up to 5 s later;
    // with time-scaled `for:` that gap alone would fire ServiceDown (absent(up)). So, scaled,
    // it starts without rule_files and gets them (SIGHUP) once every target has been scraped.
    // Unscaled, `for: 1m` covers the gap and the rules load at once.
    if (binaries.prometheus) {
      if (scaling) writeFileSync(rendered.prometheus.file, rendered.prometheus.bootText);
      await start({
        name: 'prometheus',
        command: binaries.prometheus.path,
        args: [
          `--config.file=${rendered.prometheus.file}`,
          `--storage.tsdb.path=${dataDir('prometheus')}`,
          `--web.listen-address=127.0.0.1:${plan['prometheus:9090']}`,
          `--web.external-url=${url('prometheus:9090')}`,
          '--enable-feature=exemplar-storage',
          ...(scaling
            ? [
                `--rules.alert.resend-delay=${formatDuration(scaledResendDelayMs(timeScale, rendered.prometheus.evaluationIntervalMs))}`,
              ]
            : []),
        ],
        logFile: logFile('prometheus'),
        ports: [plan['prometheus:9090']],
        ready: ok(`${url('prometheus:9090')}/-/ready`),
      });
      if (scaling) {
        await loadRules(
          url('prometheus:9090'),
          rendered,
          () => supervisor.signal('prometheus', 'SIGHUP'),
          logFile('prometheus'),
        );
      }
    }
  } catch (err) {
    await stop();
    throw err;
  }

  return {
    urls: {
      app: url('app:8000'),
      receiver: receiver.url,
      prometheus: binaries.prometheus ? url('prometheus:9090') : undefined,
      alertmanager: binaries.alertmanager ? url('alertmanager:9093') : undefined,
      jaeger: traces ? url('jaeger:16686') : undefined,
      victorialogs: traces ? url('victorialogs:9428') : undefined,
      otlpHttp: traces ? url('otel-collector:4318') : undefined,
      otlpGrpc: traces ? addresses['otel-collector:4317']?.[0] : undefined,
    },
    addresses,
    adminToken: o.adminToken,
    apiKeys,
    timeScale,
    scaling,
    rendered,
    binaries,
    missing,
    receiver,
    dirs,
    processes: () => supervisor.processes,
    stopApp: () => supervisor.stop('app'),
    startApp: async () => {
      await supervisor.start(appSpec);
    },
    stopComponent: (c) => supervisor.stop(c),
    startComponent: async (c) => {
      const spec = specs.get(c);
      if (!spec) throw new Error(`${c} was not started by this stack`);
      await supervisor.start(spec);
    },
    stop,
  };
}
