// make native: the stack as local processes, for machines without Docker. Starts the app and,
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
import { PrometheusClient, ReceiverClient } from './lib/scenarios/clients.ts';
import { startControl } from './lib/stack/control.ts';
import { parseFactor } from './lib/stack/duration.ts';
import { nativeStateDir, runningNative } from './lib/stack/endpoints.ts';
import { startStack, type Stack } from './lib/stack/stack.ts';

const HELP = `Usage: node scripts/native.ts [options]   (make native)

  --ports compose|free   compose (default): the compose ports (app 8000, Prometheus 9090,
                         Alertmanager 9093, receiver 9095, Jaeger 16686, OTLP 4317/4318), so the
                         scripts' defaults work; free: any free ports (tests, a second copy)
  --state-dir DIR        configs, data, logs and the env file (env NATIVE_STATE_DIR, default .native)
  --time-scale F         env TIME_SCALE: run every alerting time parameter (scrape and rule
                         intervals, windows, for:, Alertmanager timers) F times faster, e.g. 60
                         (or the factor 1/60): alerts fire and resolve in seconds
  --no-traces            do not start the Collector and Jaeger`;

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
const env = { ...process.env, NATIVE_STATE_DIR: stateDir };
const already = runningNative(env);
if (already) {
  console.error(
    `make native is already running (pid ${already.NATIVE_PID}, ${already.APP_URL}); stop it first.`,
  );
  process.exit(1);
}
const timeScaleText = values['time-scale'] || process.env.TIME_SCALE || '1';
const timeScale = parseFactor(timeScaleText);
const envFile = path.join(stateDir, 'env');
const stateFile = path.join(stateDir, 'state.json');

// A fresh token per session: the chaos API is open to whoever has it, so never a fixed one.
const adminToken = randomBytes(24).toString('base64url');
const rel = (p: string) => path.relative(process.cwd(), p) || '.';

console.log(`Starting the native stack (state in ${rel(stateDir)})…`);
let stack: Stack;
try {
  stack = await startStack({
    stateDir,
    ports: values.ports,
    timeScale,
    traces: !values['no-traces'],
    adminToken,
    log: (l) => console.log(l),
  });
} catch (err) {
  console.error(`make native could not start: ${(err as Error).message}`);
  process.exit(1);
}
const control = await startControl(stack);
const { urls } = stack;

const envVars: Record<string, string | undefined> = {
  APP_URL: urls.app,
  PROMETHEUS_URL: urls.prometheus,
  ALERTMANAGER_URL: urls.alertmanager,
  RECEIVER_URL: urls.receiver,
  JAEGER_URL: urls.jaeger,
  VICTORIALOGS_URL: urls.victorialogs,
  ADMIN_TOKEN: adminToken,
  // The keys the stack's app accepts (generated per session); make load and the scenarios use them.
  API_KEYS: `${stack.apiKeys.free}:free,${stack.apiKeys.pro}:pro`,
  NATIVE_PID: String(process.pid),
  NATIVE_CONTROL_URL: control.url,
  NATIVE_TIME_SCALE: timeScaleText,
};
writeFileSync(
  envFile,
  '# Written by make native for the running session; removed when it stops.\n' +
    Object.entries(envVars)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}=${formatEnvValue(v as string)}`)
      .join('\n') +
    '\n',
  { mode: 0o600 },
);
const writeState = () =>
  writeFileSync(
    stateFile,
    JSON.stringify(
      {
        pid: process.pid,
        urls,
        controlUrl: control.url,
        // Ports this process itself listens on (receiver, control API); the children's are below.
        ownPorts: [stack.receiver.port, control.port],
        processes: stack.processes(),
        dirs: stack.dirs,
      },
      null,
      2,
    ) + '\n',
  );
writeState();

const row = (name: string, value: string | undefined, note = '') =>
  console.log(`  ${name.padEnd(14)} ${value ?? '-'}${note ? `  ${note}` : ''}`);
console.log('\nThe native stack is up:');
row('app', urls.app, `(API; admin token below)`);
row('Prometheus', urls.prometheus, urls.prometheus ? '(alerts: /alerts, targets: /targets)' : '');
row('Alertmanager', urls.alertmanager);
row('receiver', `${urls.receiver}/alerts`, '(delivered alerts; `make alerts` prints them)');
row('Jaeger', urls.jaeger);
row('VictoriaLogs', urls.victorialogs, urls.victorialogs ? '(logs: /select/vmui)' : '');
row('OTLP', urls.otlpHttp, urls.otlpHttp ? `(HTTP; gRPC ${urls.otlpGrpc})` : '');
row(
  'Grafana',
  undefined,
  '(no native build: import grafana/dashboards/*.json into a Grafana on Prometheus)',
);
console.log(`\n  ADMIN_TOKEN=${adminToken}`);
console.log(
  `  API keys   free ${stack.apiKeys.free}   pro ${stack.apiKeys.pro}  (header X-API-Key)`,
);
console.log(`  env file   ${rel(envFile)} (make load / make alert-<scenario> read it)`);
console.log(
  `  data       ${rel(stack.dirs.data)}   logs ${rel(stack.dirs.logs)}/<name>.log   configs ${rel(stack.dirs.config)}`,
);
if (timeScale < 1)
  console.log(
    `  time scale ${timeScaleText}: intervals, rule windows, for: and Alertmanager timers run ${Math.round(1 / timeScale)}× faster`,
  );
for (const m of stack.missing) console.log(`!! ${m.component} not started: ${m.reason}`);
const alerting = urls.prometheus && urls.alertmanager;
console.log(
  `\nTry: make load${alerting ? ', make alert-errors' : ' (make alert-* needs Prometheus and Alertmanager)'}. ` +
    'Ctrl-C stops everything.\n',
);

const prom = urls.prometheus ? new PrometheusClient(urls.prometheus) : undefined;
const receiver = new ReceiverClient(urls.receiver);
let statusText = 'starting…';
const refresh = async () => {
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
  parts.push(`receiver: ${(await receiver.alerts().catch(() => [])).length} notifications`);
  statusText = `${new Date().toTimeString().slice(0, 8)}  ${parts.join(' · ')}`;
};
await refresh();
const line = new StatusLine(() => statusText, { plainEveryMs: 60_000 }).start(1000);
const poll = setInterval(() => {
  void refresh();
  writeState();
}, 5_000);

let stopping = false;
const shutdown = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  clearInterval(poll);
  line.stop();
  console.log(`${signal}: stopping every process…`);
  rmSync(envFile, { force: true });
  await control.close();
  await stack.stop();
  writeState();
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
