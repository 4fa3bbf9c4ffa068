// The native stack: the app (Node 24) and, where their binaries exist, Jaeger, VictoriaLogs, the Collector,
// Alertmanager and Prometheus, with the repo's own configs rewritten for loopback ports (and,
// for tests, scaled in time), plus the local alert receiver in this process. Used by
// `make native` (scripts/native.ts) and the whole-stack tests (test/e2e/). The components, their
// ports and their process specs are in components.ts; this file plans and starts them.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startAlertReceiver, type AlertReceiver } from '../alert-receiver.ts';
import type { FoundBinary } from '../binaries.ts';
import { ENDPOINT_NAMES, ENDPOINTS, USER_FACING_KEYS, type Endpoint } from '../components.ts';
import { type ApiKeysByTier } from '../endpoints.ts';
import { freePorts, isPortFree } from '../ports.ts';
import { PrometheusClient } from '../clients.ts';
import { loadRulesAfterFirstScrape, ruleGroupCount } from '../rules-after-scrape.ts';
import {
  canStart,
  COMPONENTS,
  findComponents,
  localUrl,
  portKeys,
  servicesContext,
  type Component,
  type Found,
  type Program,
  type StackPlan,
} from './components.ts';
import { renderConfigs, type Rendered } from './configs.ts';
import { nativeServices, startNativeServices } from './native-services.ts';
import type { AddressMap } from './rewrite.ts';
import { scalingFor, type TimeScaling } from './scaling.ts';
import { logTail, Supervisor, type Managed, type ProcessSpec } from '../supervisor.ts';
import { REPO_ROOT } from '../repo.ts';
import { REAL_TIME, type TimeScale } from '../time-scale.ts';

export { FLOORS, TEST_TIME_SCALE } from './scaling.ts';
export { INSTALL_HINT, type Component } from './components.ts';

export interface StackOptions {
  repoDir?: string;
  /** Configs, data and logs go under it. */
  stateDir: string;
  /** `compose`: the compose port numbers (make native); `free`: any free ports (tests). */
  ports: 'compose' | 'free';
  /** How much faster every time parameter runs (real time by default). */
  timeScale?: TimeScale;
  /** Start the Collector, Jaeger and VictoriaLogs where all three binaries exist (default true). */
  traces?: boolean;
  /** Components whose absence is an error rather than a warning. */
  require?: Component[];
  /** Components not to start even where their programs exist (a test that needs quiet). */
  skip?: Component[];
  adminToken: string;
  /** The app's keys; generated when not given (the app accepts no default keys). */
  apiKeys?: ApiKeysByTier;
  log?: (line: string) => void;
}

/**
 * The stack's URLs by endpoint (scripts/lib/components.ts), each http://127.0.0.1:<port>: the
 * app's API and management port and the receiver always; the others while their component runs
 * (`pythonAgent` needs its venv, Prometheus and Alertmanager their binaries, Jaeger,
 * VictoriaLogs and the Collector's OTLP endpoints the whole telemetry pipeline).
 */
export type StackUrls = Partial<Record<Endpoint, string>> &
  Record<'app' | 'management' | 'receiver', string>;

export interface Stack {
  urls: StackUrls;
  /** Compose `host:port` → local address, every port the stack uses. */
  addresses: AddressMap;
  adminToken: string;
  /** A key of each tier, in the app's API_KEYS. */
  apiKeys: ApiKeysByTier;
  timeScale: TimeScale;
  scaling?: TimeScaling;
  rendered: Rendered;
  /** The binary each started component runs. */
  binaries: Partial<Record<Component, FoundBinary>>;
  /** Components and services.yml services not started, with the reason. */
  missing: Found['missing'];
  receiver: AlertReceiver;
  dirs: { state: string; config: string; data: string; logs: string };
  processes(): Managed[];
  stopApp(): Promise<void>;
  startApp(): Promise<void>;
  /**
   * Stop one started component (SIGTERM, as `docker compose stop` does), e.g. Jaeger, to watch
   * the Collector queue and retry while its backend is away.
   */
  stopComponent(c: Program): Promise<void>;
  /** Start it again with the same config, ports and data directory; resolves once it is ready. */
  startComponent(c: Program): Promise<void>;
  /** Stop everything this stack started, app first; safe to call twice. */
  stop(): Promise<void>;
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
      else if (USER_FACING_KEYS.has(key)) {
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

export async function startStack(o: StackOptions): Promise<Stack> {
  const repoDir = o.repoDir ?? REPO_ROOT;
  const log = o.log ?? (() => {});
  const dirs = stateDirs(o.stateDir);
  requireBuiltApp(repoDir);
  const found = findComponents(o.traces !== false, repoDir, o.skip);
  reportComponents(found, o.require ?? [], log);
  const traces = Boolean(found.binaries['otel-collector']);
  const ports = await planPorts(portKeys(repoDir, traces), o.ports);
  const addresses = addressesOf(ports);
  const scaling = scalingFor(o.timeScale ?? REAL_TIME);
  const probeKey = newKey();
  const rendered = render(repoDir, dirs, addresses, found, scaling, log, probeKey);
  const plan: StackPlan = {
    ...{
      repoDir,
      dirs,
      ports,
      binaries: found.binaries,
      missing: found.missing,
      rendered,
      scaling,
    },
    adminToken: o.adminToken,
    apiKeys: o.apiKeys ?? { free: newKey(), pro: newKey() },
    probeKey,
    providerKey: newKey(),
  };
  const supervisor = new Supervisor((m) =>
    log(
      `!! ${m.name} (pid ${m.pid}) exited unexpectedly (code ${m.exit?.code}, signal ${m.exit?.signal}); log: ${m.logFile}`,
    ),
  );
  const specs = new Map<string, ProcessSpec>();
  let receiver: AlertReceiver | undefined;
  const stop = once(async () => {
    // The services first (python-agent calls the app), then the pipeline they flush into.
    const services = nativeServices(repoDir).map((s) => s.name);
    const order = [...services, 'app', 'otel-collector', 'jaeger', 'victorialogs'];
    await supervisor.stopAll(order);
    await receiver?.close();
  });
  try {
    receiver = await startAlertReceiver({ port: ports['alert-receiver:9095'] });
    await startComponents(plan, supervisor, specs);
  } catch (err) {
    await stop();
    throw err;
  }
  const timeScale = o.timeScale ?? REAL_TIME;
  return stackHandle(plan, found, addresses, timeScale, receiver, supervisor, specs, stop);
}

// 32 base64url characters, like `make configure`'s: the app refuses keys under 16.
const newKey = () => randomBytes(24).toString('base64url');

function once(f: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | undefined;
  return () => (done ??= f());
}

function stateDirs(state: string): StackPlan['dirs'] {
  const dirs = {
    state,
    config: path.join(state, 'config'),
    data: path.join(state, 'data'),
    logs: path.join(state, 'logs'),
  };
  for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true });
  return dirs;
}

function requireBuiltApp(repoDir: string): void {
  const appEntry = path.join(repoDir, 'app/dist/server.js');
  if (!existsSync(appEntry))
    throw new Error(`${appEntry} is missing: build the app first (cd app && npm run build)`);
}

/** Fails on a required component that cannot run; says which others will not, and why. */
function reportComponents(found: Found, required: Component[], log: (l: string) => void): void {
  for (const c of required) {
    const m = found.missing.find((x) => x.component === c);
    if (m) throw new Error(`${c} is required here: ${m.reason}`);
  }
  for (const m of found.missing) log(`!! ${m.component} not started: ${m.reason}`);
  for (const [c, b] of Object.entries(found.binaries)) {
    if (b.source === 'debian') {
      log(
        `!! ${c}: using Debian's ${b.name} ${b.version} (${b.path}); the pinned build is not there (make tools)`,
      );
    }
  }
}

function addressesOf(ports: Record<string, number>): Record<string, string[]> {
  return Object.fromEntries(Object.entries(ports).map(([k, p]) => [k, [`127.0.0.1:${p}`]]));
}

/** The configs of the components that run, and what the rewrite changed in them. */
function render(
  repoDir: string,
  dirs: StackPlan['dirs'],
  addresses: AddressMap,
  found: Found,
  scaling: TimeScaling | undefined,
  log: (l: string) => void,
  probeKey: string,
): Rendered {
  const { binaries } = found;
  const traces = Boolean(binaries['otel-collector']);
  // The services of services.yml that will run: a probe of one (job blackbox) is kept.
  const services = nativeServices(repoDir)
    .map((s) => s.name)
    .filter((name) => !found.missing.some((m) => m.component === name));
  const rendered = renderConfigs({
    repoDir,
    outDir: dirs.config,
    dataDir: dirs.data,
    addresses,
    running: new Set<string>(['app', 'alert-receiver', ...Object.keys(binaries), ...services]),
    scaling,
    prometheusCompat: Number(binaries.prometheus?.version.split('.')[0]) >= 3 ? 'v3' : 'v2',
    collector: traces,
    jaeger: traces,
    probeKey: binaries['blackbox-exporter'] ? probeKey : undefined,
  });
  // What the rewrite changed, for the programs that run (the rest is not read by anything).
  if (binaries.prometheus)
    for (const n of rendered.prometheus.notes) log(`   prometheus config: ${n}`);
  if (binaries.alertmanager)
    for (const n of rendered.alertmanager.notes) log(`   alertmanager config: ${n}`);
  return rendered;
}

/**
 * Every component that can run, in COMPONENTS' order. Prometheus evaluates rules from its first
 * second but starts scraping only at its first target reload, up to 5 s later; with time-scaled
 * `for:` that gap alone would fire ServiceDown (absent(up)). So, scaled, it starts without
 * rule_files and gets them (SIGHUP) once every target has been scraped. Unscaled, `for: 1m`
 * covers the gap and the rules load at once.
 */
async function startComponents(
  p: StackPlan,
  supervisor: Supervisor,
  specs: Map<string, ProcessSpec>,
): Promise<void> {
  const prometheus = p.rendered.prometheus;
  if (p.scaling && p.binaries.prometheus) writeFileSync(prometheus.file, prometheus.bootText);
  for (const { component, spec } of COMPONENTS) {
    if (!canStart(p, component)) continue;
    const s = spec(p);
    specs.set(component, s);
    await supervisor.start(s);
    // The services of services.yml next: they call the app (python-agent its provider), and
    // what scrapes or probes them starts after them.
    if (component !== 'app') continue;
    const skip = p.missing.map((m) => m.component);
    for (const started of await startNativeServices(servicesContext(p), supervisor, skip))
      specs.set(started.name, started);
  }
  if (p.scaling && p.binaries.prometheus) {
    await loadRules(p, () => supervisor.signal('prometheus', 'SIGHUP'));
  }
}

/** The rules, once every target has been scraped (rules-after-scrape.ts says why). */
async function loadRules(p: StackPlan, reload: () => void): Promise<void> {
  const { file, fullText, ruleFiles } = p.rendered.prometheus;
  const log = path.join(p.dirs.logs, 'prometheus.log');
  const swap = () => {
    writeFileSync(file, fullText);
    reload();
  };
  const prometheus = new PrometheusClient(localUrl(p, 'prometheus:9090'));
  try {
    await loadRulesAfterFirstScrape(prometheus, swap, ruleGroupCount(ruleFiles));
  } catch (err) {
    throw new Error(`${(err as Error).message}; last lines of ${log}:\n${logTail(log)}`, {
      cause: err,
    });
  }
}

/** Each endpoint of a component that runs, on its local port (the receiver runs in-process). */
function stackUrls(p: StackPlan, receiver: AlertReceiver): StackUrls {
  const urls: Partial<Record<Endpoint, string>> = { receiver: receiver.url };
  for (const e of ENDPOINT_NAMES) {
    const { component, key } = ENDPOINTS[e];
    if (component === 'grafana' || component === 'alert-receiver') continue;
    if (canStart(p, component)) urls[e] = localUrl(p, key);
  }
  return urls as StackUrls;
}

function stackHandle(
  p: StackPlan,
  found: Found,
  addresses: AddressMap,
  timeScale: TimeScale,
  receiver: AlertReceiver,
  supervisor: Supervisor,
  specs: Map<string, ProcessSpec>,
  stop: () => Promise<void>,
): Stack {
  const { binaries } = p;
  const startAgain = async (c: Component) => {
    const spec = specs.get(c);
    if (!spec) throw new Error(`${c} was not started by this stack`);
    await supervisor.start(spec);
  };
  return {
    urls: stackUrls(p, receiver),
    ...{ addresses, adminToken: p.adminToken, apiKeys: p.apiKeys, timeScale },
    ...{ scaling: p.scaling, rendered: p.rendered, binaries, missing: found.missing },
    ...{ receiver, dirs: p.dirs, stop },
    processes: () => supervisor.processes,
    stopApp: () => supervisor.stop('app'),
    startApp: () => startAgain('app'),
    stopComponent: (c) => supervisor.stop(c),
    startComponent: (c) => startAgain(c),
  };
}
