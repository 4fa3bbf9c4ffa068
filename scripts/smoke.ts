// make smoke: checks a running stack (compose or `make native`) from outside, through the
// services' public HTTP APIs: one PASS/FAIL/SKIP line per check, exit 1 on any failure.
// Run it after `make load`, so that there is traffic, traces and data on every panel.
import { readDashboards } from './lib/dashboards/panel-queries.ts';
import { grafanaChecks } from './lib/smoke/grafana.ts';
import { attempt, formatResult, skip, summary, type CheckResult } from './lib/smoke/report.ts';
import {
  checkAlertmanager,
  checkCollector,
  checkJaeger,
  checkPythonAgent,
  checkRules,
  checkServices,
  checkTargets,
} from './lib/smoke/stack-checks.ts';
import { parseStackArgs } from './lib/cli.ts';
import { ENDPOINT_HELP, resolveEndpoints } from './lib/endpoints.ts';

const HELP = `Usage: node scripts/smoke.ts [options]   (make smoke)

Checks every service's health, Prometheus' targets and rules, Alertmanager's config, traces
in Jaeger, one run of the Python example service (python-agent) and its trace, and, where Grafana runs (compose), its datasources, dashboards and panel queries.

  --trace-wait SECONDS    how long to wait for the app's traces to reach Jaeger (default 20)
  --grafana-url URL       GRAFANA_URL       default: compose's (make native has no Grafana)
${ENDPOINT_HELP}`;

const { values } = parseStackArgs(HELP, {
  'grafana-url': { type: 'string' },
  'trace-wait': { type: 'string', default: '20' },
});
const traceWaitMs = Number(values['trace-wait']) * 1000;
if (!(traceWaitMs >= 0)) {
  console.error('--trace-wait must be a number of seconds');
  process.exit(2);
}

const endpoints = resolveEndpoints(values);
console.log(`Smoke test of ${endpoints.origin}`);
const results: CheckResult[] = [];
const record = (rs: CheckResult[]) => {
  for (const r of rs) console.log(formatResult(r));
  results.push(...rs);
};

record(await attempt('services healthy', () => checkServices(endpoints)));
record(await attempt('service otel-collector healthy', () => checkCollector(endpoints.prometheus)));
record(await attempt('every Prometheus target up', () => checkTargets(endpoints.prometheus)));
record(await attempt('no rule evaluation failed', () => checkRules(endpoints.prometheus)));
record(await attempt('Alertmanager has its config', () => checkAlertmanager(endpoints)));
record(await attempt("Jaeger holds the app's traces", () => checkJaeger(endpoints, traceWaitMs)));
record(await attempt('python-agent answers a run', () => checkPythonAgent(endpoints, traceWaitMs)));
if (endpoints.native) {
  record([skip('Grafana checks', 'make native runs no Grafana (compose only), so none ran')]);
} else {
  record(
    await attempt('Grafana', () =>
      grafanaChecks(endpoints.grafana, endpoints.grafanaAuth, readDashboards()),
    ),
  );
}

const { line, failed } = summary(results);
console.log(line);
process.exit(failed ? 1 : 0);
