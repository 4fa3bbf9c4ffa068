// make alert-<scenario>: apply a fault, drive load, follow the expected alert from Prometheus
// to the receiver, clear the fault and follow it back to resolved; print the timeline.
// `node scripts/scenario.ts --help` lists the scenarios and options.
import { writeFileSync } from 'node:fs';
import { StatusLine } from './lib/load/status-line.ts';
import {
  composeAvailable,
  composeControl,
  fileControl,
  nativeControl,
  type AppControl,
} from './lib/scenarios/app-control.ts';
import { parseStackArgs, requireApp } from './lib/cli.ts';
import { runScenario, type RunOptions, type ScenarioReport } from './lib/scenarios/runner.ts';
import {
  findScenario,
  SCALED_TIMEOUT_S,
  SCENARIOS,
  STEADY_RATE,
  type Scenario,
} from './lib/scenarios/table.ts';
import { ENDPOINT_HELP, resolveEndpoints, type Endpoints } from './lib/endpoints.ts';
import { REPO_ROOT } from './lib/repo.ts';
import { formatTimeScale } from './lib/time-scale.ts';

const HELP = `Usage: node scripts/scenario.ts <scenario> [options]   (make alert-<scenario>)

Scenarios:
${SCENARIOS.map((s) => `  ${s.name.padEnd(13)} ${s.description}\n  ${''.padEnd(13)} → ${s.expect.alertname}; ${s.timing}`).join('\n')}

  --timeout SECONDS          hard limit from fault to delivered notification (default: per scenario,
                             for the real rules; ${SCALED_TIMEOUT_S} s against a time-scaled stack)
  --resolve-timeout SECONDS  hard limit from clearing the fault to the resolved notification
  --time-scale F             the stack's time scale (60 or 1/60; env TIME_SCALE); read from a
                             running make native
  --rate N                   steady background load, req/s (default ${STEADY_RATE})
  --warmup SECONDS           steady load before the fault (default 10)
  --json FILE                also write the timeline and timings as JSON
${ENDPOINT_HELP}`;

const { values, positionals } = parseStackArgs(HELP, {
  timeout: { type: 'string' },
  'resolve-timeout': { type: 'string' },
  'time-scale': { type: 'string' },
  rate: { type: 'string' },
  warmup: { type: 'string' },
  json: { type: 'string' },
});
if (positionals.length !== 1) {
  console.log(HELP);
  process.exit(2);
}
const scenario = findScenario(positionals[0]);
if (!scenario) {
  console.error(
    `unknown scenario "${positionals[0]}"; one of: ${SCENARIOS.map((s) => s.name).join(', ')}`,
  );
  process.exit(2);
}

function seconds(value: string | undefined, fallback: number, flag: string): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!(n > 0)) {
    console.error(`--${flag} must be a positive number of seconds`);
    process.exit(2);
  }
  return n;
}

/** Who stops and starts the app for service-down: make native, a control dir, or compose. */
async function appControlFor(s: Scenario, endpoints: Endpoints): Promise<AppControl | undefined> {
  if (s.fault.kind !== 'stop-app') return undefined;
  if (endpoints.native?.controlUrl) return nativeControl(endpoints.native.controlUrl);
  if (endpoints.appControlDir) return fileControl(endpoints.appControlDir);
  return (await composeAvailable(REPO_ROOT)) ? composeControl(REPO_ROOT) : undefined;
}

function printPlan(
  s: Scenario,
  endpoints: Endpoints,
  fireTimeoutS: number,
  resolveTimeoutS: number,
) {
  const scale = endpoints.timeScale;
  const labels = Object.entries(s.expect.labels ?? {})
    .map(([k, v]) => `${k}="${v}"`)
    .join(', ');
  console.log(`Scenario ${s.name}: ${s.description}`);
  console.log(
    `Stack: ${endpoints.origin}${scale.speedup > 1 ? `, time scale ${formatTimeScale(scale)}` : ''}`,
  );
  console.log(`  app           ${endpoints.shown.app}`);
  console.log(`  Prometheus    ${endpoints.shown.prometheus}/alerts`);
  console.log(`  Alertmanager  ${endpoints.shown.alertmanager}/#/alerts`);
  console.log(`  receiver      ${endpoints.shown.receiver}/alerts`);
  console.log(
    `Expecting ${s.expect.alertname}${labels ? ` {${labels}}` : ''} within ${fireTimeoutS} s (${s.timing}), ` +
      `resolved within ${resolveTimeoutS} s of clearing the fault.`,
  );
}

/** Runs it with a live status line; Ctrl-C clears the fault and stops the load. */
async function run(s: Scenario, o: Omit<RunOptions, 'log' | 'setStatus' | 'signal'>) {
  const abort = new AbortController();
  let statusText = '';
  const line = new StatusLine(() => statusText).start();
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      line.log('Interrupted: clearing the fault and stopping the load…');
      abort.abort();
    });
  }
  try {
    return await runScenario(s, {
      ...o,
      log: (l) => line.log(l),
      setStatus: (t) => (statusText = t),
      signal: abort.signal,
    });
  } catch (err) {
    line.stop();
    console.error(`FAILED: ${(err as Error).message}`);
    process.exit(1);
  } finally {
    line.stop();
  }
}

function printReport(s: Scenario, report: ScenarioReport): void {
  const { load } = report;
  console.log('');
  if (report.ok) console.log(`Result: ${s.expect.alertname} fired, was delivered, and resolved.`);
  if (report.timeToAlertS !== undefined) {
    console.log(
      `  time to alert (fault applied → notification received): ${report.timeToAlertS.toFixed(1)} s`,
    );
  }
  if (report.timeToResolveS !== undefined) {
    console.log(
      `  time to resolve (fault cleared → resolved notification): ${report.timeToResolveS.toFixed(1)} s`,
    );
  }
  if (report.firing) {
    console.log(
      `  delivered: ${report.firing.alertname} [${report.firing.severity}] ${report.firing.summary}`,
    );
    if (report.firing.annotations.runbook_url)
      console.log(`  runbook: ${report.firing.annotations.runbook_url}`);
  }
  if (report.alsoFiring.length) console.log(`  also firing: ${report.alsoFiring.join(', ')}`);
  const counts = Object.entries(load.statusCounts)
    .map(([k, v]) => `${k} × ${v}`)
    .join(', ');
  console.log(
    `  load: ${load.sent} requests, ${load.completed} answered, error ratio ${(load.errorRatio * 100).toFixed(1)}% (${counts})`,
  );
}

const endpoints = resolveEndpoints(values);
const scaled = endpoints.timeScale.speedup > 1;
const fireTimeoutS = seconds(
  values.timeout,
  scaled ? SCALED_TIMEOUT_S : scenario.fireTimeoutS,
  'timeout',
);
const resolveTimeoutS = seconds(
  values['resolve-timeout'],
  scaled ? SCALED_TIMEOUT_S : scenario.resolveTimeoutS,
  'resolve-timeout',
);
const appControl = await appControlFor(scenario, endpoints);
printPlan(scenario, endpoints, fireTimeoutS, resolveTimeoutS);
await requireApp(endpoints);
const report = await run(scenario, {
  endpoints,
  fireTimeoutS,
  resolveTimeoutS,
  ttlS: Math.ceil(fireTimeoutS),
  steadyRate: seconds(values.rate, STEADY_RATE, 'rate'),
  warmupS: values.warmup === '0' ? 0 : seconds(values.warmup, 10, 'warmup'),
  appControl,
});
printReport(scenario, report);
if (values.json) writeFileSync(values.json, JSON.stringify(report, null, 2) + '\n');
if (!report.ok) {
  console.error(`FAILED: ${report.reason}`);
  process.exit(1);
}
