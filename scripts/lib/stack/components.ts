// The native stack's components: which can run here (their binaries), the ports each listens
// on, and one process spec per component. stack.ts starts them in COMPONENTS' order.
//
// A new component is a row of the components table (scripts/lib/components.ts: its name and
// ports), one entry of COMPONENTS here (its program, install hint and spec, or what it needs to
// run) and, if it reads one, its config in configs.ts. A monitored service (python-agent, a
// fork's own) is none of that: its entry in services.yml, with `native:`, is all make native
// needs (native-services.ts).
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { findBinary, type FoundBinary, type ProgramName } from '../binaries.ts';
import type { ApiKeysByTier } from '../endpoints.ts';
import { collectorSources, nativeMemoryEnv, SOURCES, type Rendered } from './configs.ts';
import { listenPorts } from './rewrite.ts';
import {
  isTelemetryComponent,
  LISTENERS,
  NATIVE_COMPONENTS,
  portsFromConfig,
  type StackComponent,
} from '../components.ts';
import { scaledHealthCheckMs, scaledResendDelay, type TimeScaling } from './scaling.ts';
import type { ProcessSpec } from '../supervisor.ts';
import { victoriaLogsArgs } from './victorialogs.ts';
import { nodeExporterArgs } from './node-exporter.ts';
import {
  cannotRunService,
  nativeServicePortKeys,
  nativeServices,
  type ServicesContext,
} from './native-services.ts';

/** A process `make native` starts: every component but Grafana (no native build) and the
 * alert receiver (it runs inside the harness's own process). */
export type Component = Exclude<StackComponent, 'grafana' | 'alert-receiver'>;

/** The telemetry pipeline: the Collector exports to Jaeger and to VictoriaLogs, so all or none. */
const TELEMETRY = NATIVE_COMPONENTS.filter(isTelemetryComponent) as Component[];
export type Program = Exclude<Component, 'app' | 'python-agent'>;

/** Everything a component's spec is built from, once the ports are planned and configs rendered. */
export interface StackPlan {
  repoDir: string;
  dirs: { state: string; config: string; data: string; logs: string };
  /** Compose `host:port` → the local port it got. */
  ports: Record<string, number>;
  binaries: Partial<Record<Component, FoundBinary>>;
  /** Components that cannot run here, with the reason. */
  missing: Found['missing'];
  rendered: Rendered;
  scaling?: TimeScaling;
  adminToken: string;
  apiKeys: ApiKeysByTier;
  /** The synthetic probe's own key (blackbox/blackbox.yml), in the app's API_KEYS too. */
  probeKey: string;
  /** The bearer key of the app's provider listener, which python-agent calls. */
  providerKey: string;
}

export const localUrl = (p: StackPlan, key: string) => `http://127.0.0.1:${p.ports[key]}`;
const logFile = (p: StackPlan, name: string) => path.join(p.dirs.logs, `${name}.log`);
const ready = (url: string) => async () =>
  (await fetch(url, { signal: AbortSignal.timeout(2000) })).ok;
const portsOf = (p: StackPlan, c: string) =>
  Object.entries(p.ports)
    .filter(([k]) => k.startsWith(`${c}:`))
    .map(([, port]) => port);

function dataDir(p: StackPlan, name: string): string {
  const d = path.join(p.dirs.data, name);
  mkdirSync(d, { recursive: true });
  return d;
}

function binaryOf(p: StackPlan, c: Program): FoundBinary {
  const b = p.binaries[c];
  if (!b) throw new Error(`${c} has no binary`);
  return b;
}

function jaegerSpec(p: StackPlan): ProcessSpec {
  if (!p.rendered.jaeger) throw new Error('no Jaeger config rendered');
  return {
    name: 'jaeger',
    command: binaryOf(p, 'jaeger').path,
    args: [`--config=${p.rendered.jaeger.file}`],
    env: { ...process.env, ...nativeMemoryEnv(p.repoDir, 'jaeger') },
    logFile: logFile(p, 'jaeger'),
    ports: portsOf(p, 'jaeger'),
    ready: ready(`${localUrl(p, 'jaeger:13133')}/status`),
  };
}

function victoriaLogsSpec(p: StackPlan): ProcessSpec {
  const listen = `127.0.0.1:${p.ports['victorialogs:9428']}`;
  return {
    name: 'victorialogs',
    command: binaryOf(p, 'victorialogs').path,
    args: victoriaLogsArgs(p.repoDir, dataDir(p, 'victorialogs'), listen),
    logFile: logFile(p, 'victorialogs'),
    ports: portsOf(p, 'victorialogs'),
    ready: ready(`${localUrl(p, 'victorialogs:9428')}/health`),
  };
}

function collectorSpec(p: StackPlan): ProcessSpec {
  if (!p.rendered.collector) throw new Error('no Collector config rendered');
  return {
    name: 'otel-collector',
    command: binaryOf(p, 'otel-collector').path,
    args: p.rendered.collector.files.map((f) => `--config=${f}`),
    env: { ...process.env, ...nativeMemoryEnv(p.repoDir, 'otel-collector') },
    logFile: logFile(p, 'otel-collector'),
    ports: portsOf(p, 'otel-collector'),
    ready: ready(`${localUrl(p, 'otel-collector:13133')}/`),
  };
}

/**
 * Whether a component runs: a program needs its binary, the app what it needs; a service
 * (python-agent) its entry's `native:` and what that requires.
 */
export function canStart(p: StackPlan, c: Component): boolean {
  const row = COMPONENTS.find((x) => x.component === c);
  if (row?.program) return Boolean(p.binaries[c]);
  const service = row || nativeServices(p.repoDir).some((s) => s.name === c);
  return service && !p.missing.some((m) => m.component === c);
}

/** What a service's process is built from (native-services.ts), from this stack's plan. */
export function servicesContext(p: StackPlan): ServicesContext {
  return {
    repoDir: p.repoDir,
    ports: p.ports,
    logs: p.dirs.logs,
    otlpHttpUrl: p.binaries['otel-collector'] ? localUrl(p, 'otel-collector:4318') : undefined,
    metricExportIntervalMs: p.rendered.prometheus.scrapeIntervalMs,
    // The key of the app's provider listener (compose passes its PROVIDER_API_KEY the same way).
    variables: { PROVIDER_API_KEY: p.providerKey },
  };
}

function appSpec(p: StackPlan): ProcessSpec {
  const traces = Boolean(p.binaries['otel-collector']);
  return {
    name: 'app',
    command: process.execPath,
    args: ['--require', './dist/telemetry/instrument.js', 'dist/server.js'],
    cwd: path.join(p.repoDir, 'app'),
    env: {
      ...process.env,
      PORT: String(p.ports['app:8000']),
      HOST: '127.0.0.1',
      MANAGEMENT_PORT: String(p.ports['app:9464']),
      MANAGEMENT_HOST: '127.0.0.1',
      DATA_DIR: dataDir(p, 'app'),
      ADMIN_TOKEN: p.adminToken,
      // The probe's key at the free tier, as compose gives it (docker-compose.yml).
      API_KEYS: `${p.apiKeys.free}:free,${p.apiKeys.pro}:pro,${p.probeKey}:free`,
      PROVIDER_PORT: String(p.ports['app:8001']),
      PROVIDER_API_KEY: p.providerKey,
      ...(traces
        ? { OTEL_EXPORTER_OTLP_ENDPOINT: localUrl(p, 'otel-collector:4318') }
        : // No Collector: sample no trace, so nothing is exported into the void (which would
          // count as export failures). TELEMETRY_ENABLED=false would not do: it also switches
          // off the HTTP metrics (the benchmark's bare baseline, app/README.md).
          { OTEL_TRACES_SAMPLER: 'always_off', OTEL_LOGS_EXPORTER: 'none' }),
      ...(p.scaling ? { HEALTH_CHECK_INTERVAL_MS: String(scaledHealthCheckMs(p.scaling)) } : {}),
    },
    logFile: logFile(p, 'app'),
    ports: [p.ports['app:8000'], p.ports['app:9464']],
    ready: ready(`${localUrl(p, 'app:9464')}/health/ready`),
  };
}

/** The host's own metrics (CPU, memory, disks): this machine, as compose's host-metrics profile
 * measures the Docker host. */
function nodeExporterSpec(p: StackPlan): ProcessSpec {
  const listen = `127.0.0.1:${p.ports['node-exporter:9100']}`;
  return {
    name: 'node-exporter',
    command: binaryOf(p, 'node-exporter').path,
    args: nodeExporterArgs(p.repoDir, listen),
    logFile: logFile(p, 'node-exporter'),
    ports: [p.ports['node-exporter:9100']],
    ready: ready(`${localUrl(p, 'node-exporter:9100')}/metrics`),
  };
}

function blackboxSpec(p: StackPlan): ProcessSpec {
  if (!p.rendered.blackbox) throw new Error('no blackbox exporter config rendered');
  const listen = `127.0.0.1:${p.ports['blackbox-exporter:9115']}`;
  return {
    name: 'blackbox-exporter',
    command: binaryOf(p, 'blackbox-exporter').path,
    args: [`--config.file=${p.rendered.blackbox.file}`, `--web.listen-address=${listen}`],
    logFile: logFile(p, 'blackbox-exporter'),
    ports: [p.ports['blackbox-exporter:9115']],
    ready: ready(`${localUrl(p, 'blackbox-exporter:9115')}/-/healthy`),
  };
}

function alertmanagerSpec(p: StackPlan): ProcessSpec {
  return {
    name: 'alertmanager',
    command: binaryOf(p, 'alertmanager').path,
    args: [
      `--config.file=${p.rendered.alertmanager.file}`,
      `--storage.path=${dataDir(p, 'alertmanager')}`,
      `--web.listen-address=127.0.0.1:${p.ports['alertmanager:9093']}`,
      `--web.external-url=${localUrl(p, 'alertmanager:9093')}`,
      // One instance: no gossip port (9094 by default) to open.
      '--cluster.listen-address=',
    ],
    logFile: logFile(p, 'alertmanager'),
    ports: [p.ports['alertmanager:9093']],
    ready: ready(`${localUrl(p, 'alertmanager:9093')}/-/ready`),
  };
}

function prometheusSpec(p: StackPlan): ProcessSpec {
  const resend = p.scaling
    ? [
        `--rules.alert.resend-delay=${scaledResendDelay(p.scaling, p.rendered.prometheus.evaluationIntervalMs)}`,
      ]
    : [];
  return {
    name: 'prometheus',
    command: binaryOf(p, 'prometheus').path,
    args: [
      `--config.file=${p.rendered.prometheus.file}`,
      `--storage.tsdb.path=${dataDir(p, 'prometheus')}`,
      `--web.listen-address=127.0.0.1:${p.ports['prometheus:9090']}`,
      `--web.external-url=${localUrl(p, 'prometheus:9090')}`,
      '--enable-feature=exemplar-storage',
      // OTLP metrics the Collector pushes (prometheus.yml's `otlp:` block).
      '--web.enable-otlp-receiver',
      ...resend,
    ],
    logFile: logFile(p, 'prometheus'),
    ports: [p.ports['prometheus:9090']],
    ready: ready(`${localUrl(p, 'prometheus:9090')}/-/ready`),
  };
}

/**
 * The components in start order, each with its program (none: the app runs on this Node),
 * what to tell someone whose binary is missing, and its spec. Jaeger and VictoriaLogs before
 * the Collector that exports to them, the app before what scrapes or probes it, Prometheus
 * last so that its first scrape finds every target up.
 */
export const COMPONENTS: {
  component: Component;
  program?: ProgramName;
  installHint?: string;
  spec: (p: StackPlan) => ProcessSpec;
}[] = [
  {
    component: 'jaeger',
    program: 'jaeger',
    installHint: 'make tools (builds Jaeger v2 from Go modules)',
    spec: jaegerSpec,
  },
  {
    component: 'victorialogs',
    program: 'victoria-logs',
    installHint: 'make tools (builds VictoriaLogs from its Go module)',
    spec: victoriaLogsSpec,
  },
  {
    component: 'otel-collector',
    program: 'otelcol',
    installHint: 'make tools (builds otelcol with the Collector Builder)',
    spec: collectorSpec,
  },
  { component: 'app', spec: appSpec },
  {
    component: 'blackbox-exporter',
    program: 'blackbox_exporter',
    installHint: 'make tools (builds the blackbox exporter from its Go module)',
    spec: blackboxSpec,
  },
  {
    component: 'node-exporter',
    program: 'node_exporter',
    installHint: 'make tools (builds the node exporter from its Go module)',
    spec: nodeExporterSpec,
  },
  {
    component: 'alertmanager',
    program: 'alertmanager',
    installHint: 'make tools (pinned build), or apt-get install prometheus-alertmanager',
    spec: alertmanagerSpec,
  },
  {
    component: 'prometheus',
    program: 'prometheus',
    // Debian's 2.42 cannot load prometheus.yml (its OTLP receiver settings need 3.x).
    installHint: 'make tools (builds Prometheus 3 from Go modules)',
    spec: prometheusSpec,
  },
];

/** What to tell someone whose binary is missing. */
export const INSTALL_HINT = Object.fromEntries(
  COMPONENTS.filter((c) => c.installHint).map((c) => [c.component, c.installHint]),
) as Record<Program, string>;

export interface Found {
  binaries: Partial<Record<Component, FoundBinary>>;
  /** Components and services (services.yml entries with `native:`) not started, with the reason. */
  missing: { component: Component | string; reason: string }[];
}

/** Which components can run here; the telemetry pipeline only whole (the Collector exports to both stores). */
export function findComponents(
  traces: boolean,
  repoDir: string,
  skip: readonly (Component | string)[] = [],
): Found {
  const found: Found = { binaries: {}, missing: [] };
  for (const { component: c, program } of COMPONENTS) {
    if (skip.includes(c)) found.missing.push({ component: c, reason: 'skipped by this run' });
    if (skip.includes(c) || !program || (!traces && isTelemetryComponent(c))) continue;
    const b = findBinary(program);
    if (b) found.binaries[c] = b;
    else
      found.missing.push({
        component: c,
        reason: `no ${program} binary (install: ${INSTALL_HINT[c as Program]})`,
      });
  }
  const absent = TELEMETRY.filter((c) => !found.binaries[c]);
  if (absent.length > 0) {
    for (const c of TELEMETRY) {
      if (!found.binaries[c]) continue;
      found.missing.push({ component: c, reason: `not started: ${absent.join(' and ')} missing` });
      delete found.binaries[c];
    }
  }
  for (const s of nativeServices(repoDir)) {
    const reason = skip.includes(s.name) ? 'skipped by this run' : cannotRunService(repoDir, s);
    if (reason) found.missing.push({ component: s.name, reason });
  }
  return found;
}

/** Ports a component's config listens on (compose keys): the Collector's and Jaeger's. */
function configPorts(repoDir: string, component: StackComponent): string[] {
  const files = component === 'jaeger' ? [SOURCES.jaeger] : collectorSources();
  return files
    .map((rel) => path.join(repoDir, rel))
    .filter((f) => existsSync(f))
    .flatMap((f) => listenPorts(readFileSync(f, 'utf8'), component));
}

/**
 * Every compose `host:port` the native stack listens on: each native component's listeners
 * (components.ts) and, for the Collector and Jaeger, the ports their configs add; the
 * telemetry pipeline's only with `traces`; the port of each service with `native:`.
 */
export function portKeys(repoDir: string, traces: boolean): string[] {
  const keys = new Set<string>();
  for (const c of NATIVE_COMPONENTS) {
    if (isTelemetryComponent(c) && !traces) continue;
    for (const l of LISTENERS) if (l.component === c) keys.add(l.key);
    if (portsFromConfig(c)) for (const key of configPorts(repoDir, c)) keys.add(key);
  }
  for (const key of nativeServicePortKeys(repoDir)) keys.add(key);
  return [...keys];
}
