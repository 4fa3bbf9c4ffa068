// make native: the stack as local processes, for machines without Docker. Starts the app, the
// services of services.yml that have a native command (scripts/lib/stack/native-services.ts) and,
// where their binaries exist, Jaeger, the Collector, Alertmanager and Prometheus with the
// repo's own configs (rewritten for 127.0.0.1, see scripts/lib/stack/rewrite.ts), plus the
// local alert receiver; prints the URLs; shows a live status; stops everything on Ctrl-C or
// SIGTERM. `make load` and `make alert-*` find it through <state dir>/env.
import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { formatEnvValue } from './lib/env-file.ts';
import { StatusLine } from './lib/load/status-line.ts';
import { PrometheusClient, ReceiverClient } from './lib/clients.ts';
import { startControl, type ControlServer } from './lib/stack/control.ts';
import {
  nativeStateDir,
  requestedTimeScale,
  runningNative,
  SERVICES,
  type Service,
} from './lib/endpoints.ts';
import { formatTimeScale, REAL_TIME } from './lib/time-scale.ts';
import { startStack, type Stack } from './lib/stack/stack.ts';
import { nativeServices, servicePortKey } from './lib/stack/native-services.ts';
import { REPO_ROOT } from './lib/repo.ts';

const HELP = `Usage: node scripts/native.ts [options]   (make native)

  --ports compose|free   compose (default): the compose ports (app 8000 and 9464, Prometheus 9090,
                         Alertmanager 9093, receiver 9095, Jaeger 16686, OTLP 4317/4318), so the
                         scripts' defaults work; free: any free ports (tests, a second copy)
  --state-dir DIR        configs, data, logs and the env file (env NATIVE_STATE_DIR, default .native)
  --time-scale F         env TIME_SCALE: run every alerting time parameter (scrape and rule
                         intervals, windows, for:, Alertmanager timers) F times faster, e.g. 60
                         (or the factor 1/60): alerts fire and resolve in seconds
  --no-traces            do not start the Collector, Jaeger and VictoriaLogs`;

/** What the command line asks for (exits on --help or a bad value). */
function parseOptions() {
  const { values } = parseArgs({
    options: {
      ports: { type: 'string', default: 'compose' },
      'state-dir': { type: 'string' },
      'time-scale': { type: 'string' },
      'no-traces': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(HELP);
    process.exit(0);
  }
  if (values.ports !== 'compose' && values.ports !== 'free') {
    console.error('--ports must be compose or free');
    process.exit(2);
  }
  const stateDir = values['state-dir'] ? path.resolve(values['state-dir']) : nativeStateDir();
  return {
    ports: values.ports as 'compose' | 'free',
    stateDir,
    timeScale: requestedTimeScale({ 'time-scale': values['time-scale'] }) ?? REAL_TIME,
    traces: !values['no-traces'],
  };
}

type Options = ReturnType<typeof parseOptions>;

const rel = (p: string) => path.relative(process.cwd(), p) || '.';

function refuseSecondCopy(stateDir: string): void {
  const already = runningNative({ ...process.env, NATIVE_STATE_DIR: stateDir });
  if (already) {
    console.error(
      `make native is already running (pid ${already.NATIVE_PID}, ${already.APP_URL}); stop it first.`,
    );
    process.exit(1);
  }
}

async function start(o: Options, adminToken: string): Promise<Stack> {
  console.log(`Starting the native stack (state in ${rel(o.stateDir)})…`);
  try {
    return await startStack({
      stateDir: o.stateDir,
      ports: o.ports,
      timeScale: o.timeScale,
      traces: o.traces,
      adminToken,
      log: (l) => console.log(l),
    });
  } catch (err) {
    console.error(`make native could not start: ${(err as Error).message}`);
    process.exit(1);
  }
}

/** The env file the resolver (scripts/lib/endpoints.ts) reads: every URL under its urlVar. */
function writeEnvFile(file: string, stack: Stack, control: ControlServer, o: Options): void {
  const urls = stack.urls as Partial<Record<Service, string>>;
  const envVars: Record<string, string | undefined> = {
    ...Object.fromEntries(
      (Object.keys(SERVICES) as Service[]).map((s) => [SERVICES[s].urlVar, urls[s]]),
    ),
    ADMIN_TOKEN: stack.adminToken,
    // The keys the stack's app accepts (generated per session); make load and the scenarios use them.
    API_KEYS: `${stack.apiKeys.free}:free,${stack.apiKeys.pro}:pro`,
    NATIVE_PID: String(process.pid),
    NATIVE_CONTROL_URL: control.url,
    NATIVE_TIME_SCALE: formatTimeScale(o.timeScale),
  };
  const lines = Object.entries(envVars)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${formatEnvValue(v as string)}`);
  writeFileSync(
    file,
    `# Written by make native for the running session; removed when it stops.\n${lines.join('\n')}\n`,
    { mode: 0o600 },
  );
}

/** state.json: what runs, for tests and a person looking (rewritten every few seconds). */
function writeState(file: string, stack: Stack, control: ControlServer): void {
  const state = {
    pid: process.pid,
    urls: stack.urls,
    controlUrl: control.url,
    // Ports this process itself listens on (receiver, control API); the children's are below.
    ownPorts: [stack.receiver.port, control.port],
    processes: stack.processes(),
    dirs: stack.dirs,
  };
  writeFileSync(file, JSON.stringify(state, null, 2) + '\n');
}

/** Each services.yml service this stack runs, at its local port (if it listens on one). */
function serviceUrls(stack: Stack): [string, string | undefined][] {
  const running = new Set(stack.processes().map((p) => p.name));
  return nativeServices(REPO_ROOT)
    .filter((s) => running.has(s.name))
    .map((s) => {
      const key = servicePortKey(s);
      const address = key ? stack.addresses[key]?.[0] : undefined;
      return [s.name, address ? `http://${address}` : undefined];
    });
}

function printBanner(stack: Stack, envFile: string, o: Options): void {
  const { urls } = stack;
  const row = (name: string, value: string | undefined, note = '') =>
    console.log(`  ${name.padEnd(14)} ${value ?? '-'}${note ? `  ${note}` : ''}`);
  console.log('\nThe native stack is up:');
  row('app', urls.app, '(API)');
  row(
    'app metrics',
    `${urls.management}/metrics`,
    '(management port: /health, /admin/chaos with the token below)',
  );
  for (const [name, url] of serviceUrls(stack)) row(name, url, '(services.yml)');
  row('Prometheus', urls.prometheus, urls.prometheus ? '(alerts: /alerts, targets: /targets)' : '');
  row('Alertmanager', urls.alertmanager);
  row('receiver', `${urls.receiver}/alerts`, '(delivered alerts; `make alerts` prints them)');
  row('Jaeger', urls.jaeger);
  row('VictoriaLogs', urls.victorialogs, urls.victorialogs ? '(logs: /select/vmui)' : '');
  const grpc = urls.otlpGrpc?.replace(/^http:\/\//, '');
  row('OTLP', urls.otlpHttp, urls.otlpHttp ? `(HTTP; gRPC ${grpc})` : '');
  row(
    'Grafana',
    undefined,
    '(no native build: import grafana/dashboards/*.json into a Grafana on Prometheus)',
  );
  console.log(`\n  ADMIN_TOKEN=${stack.adminToken}`);
  console.log(
    `  API keys   free ${stack.apiKeys.free}   pro ${stack.apiKeys.pro}  (header X-API-Key)`,
  );
  console.log(`  env file   ${rel(envFile)} (make load / make alert-<scenario> read it)`);
  console.log(
    `  data       ${rel(stack.dirs.data)}   logs ${rel(stack.dirs.logs)}/<name>.log   configs ${rel(stack.dirs.config)}`,
  );
  if (o.timeScale.speedup > 1)
    console.log(
      `  time scale ${formatTimeScale(o.timeScale)}: intervals, rule windows, for: and Alertmanager timers run ${formatTimeScale(o.timeScale)}× faster`,
    );
  for (const m of stack.missing) console.log(`!! ${m.component} not started: ${m.reason}`);
  const alerting = urls.prometheus && urls.alertmanager;
  console.log(
    `\nTry: make load${alerting ? ', make alert-errors' : ' (make alert-* needs Prometheus and Alertmanager)'}. ` +
      'Ctrl-C stops everything.\n',
  );
}

/** One status line: processes, targets, firing alerts, notifications. */
async function statusOf(stack: Stack, prom?: PrometheusClient): Promise<string> {
  const parts: string[] = [];
  const down = stack.processes().filter((p) => p.exit);
  parts.push(
    down.length ? `stopped: ${down.map((p) => p.name).join(', ')}` : 'all processes running',
  );
  if (prom) {
    try {
      const targets = await prom.targets();
      const firing = (await prom.alerts())
        .filter((a) => a.state === 'firing')
        .map((a) => a.labels.alertname);
      parts.push(`targets up ${targets.filter((t) => t.health === 'up').length}/${targets.length}`);
      parts.push(`firing: ${firing.length ? [...new Set(firing)].join(', ') : 'none'}`);
    } catch {
      parts.push('Prometheus not answering');
    }
  }
  const receiver = new ReceiverClient(stack.urls.receiver);
  parts.push(`receiver: ${(await receiver.alerts().catch(() => [])).length} notifications`);
  return `${new Date().toTimeString().slice(0, 8)}  ${parts.join(' · ')}`;
}

/** The live status line, refreshed (with state.json) every 5 s; returns how to stop it. */
async function watch(stack: Stack, saveState: () => void): Promise<() => void> {
  const prom = stack.urls.prometheus ? new PrometheusClient(stack.urls.prometheus) : undefined;
  let statusText = await statusOf(stack, prom);
  const line = new StatusLine(() => statusText, { plainEveryMs: 60_000 }).start(1000);
  const poll = setInterval(() => {
    void statusOf(stack, prom).then((t) => (statusText = t));
    saveState();
  }, 5_000);
  return () => {
    clearInterval(poll);
    line.stop();
  };
}

/** On SIGINT or SIGTERM: stop every process, remove the env file, say what stopped. */
function stopOnSignals(session: Session, unwatch: () => void): void {
  const { stack, control, envFile, saveState, stateDir } = session;
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    unwatch();
    console.log(`${signal}: stopping every process…`);
    rmSync(envFile, { force: true });
    await control.close();
    await stack.stop();
    saveState();
    for (const p of stack.processes()) {
      console.log(
        `  ${p.name.padEnd(14)} pid ${p.pid} stopped (${p.exit?.signal ?? `exit ${p.exit?.code}`})`,
      );
    }
    console.log(`Stopped. Data and logs stay in ${rel(stateDir)} (make clean removes them).`);
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}

interface Session {
  stack: Stack;
  control: ControlServer;
  envFile: string;
  stateDir: string;
  saveState: () => void;
}

const options = parseOptions();
refuseSecondCopy(options.stateDir);
// A fresh token per session: the chaos API is open to whoever has it, so never a fixed one.
const stack = await start(options, randomBytes(24).toString('base64url'));
const control = await startControl(stack);
const envFile = path.join(options.stateDir, 'env');
const saveState = () => writeState(path.join(options.stateDir, 'state.json'), stack, control);
writeEnvFile(envFile, stack, control, options);
saveState();
printBanner(stack, envFile, options);
stopOnSignals(
  { stack, control, envFile, stateDir: options.stateDir, saveState },
  await watch(stack, saveState),
);
