// Alertmanager's routing and inhibition (alertmanager/alertmanager.yml), checked with the real
// programs: `amtool config routes test` sends every alert of prometheus/rules/alerts.yml and
// host.yml to the receiver its severity promises; then a real Alertmanager on a free loopback
// port gets alerts through its API v2 and must inhibit, deliver (to the local alert receiver,
// started here) and silence them (with the commands the runbooks give) as the config says. The
// pinned builds are used when `make tools` made them, else Debian's.
//
// The only change to the config for the live part: webhook URLs point at this test's receiver,
// and group_wait/group_interval drop to 1 s so notifications arrive in seconds. Inhibition and
// routing do not depend on those timers.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import YAML from 'yaml';
import { renderAlertmanagerConfig } from '../../scripts/lib/alertmanager-config.ts';
import { startAlertReceiver, type AlertReceiver } from '../../scripts/lib/alert-receiver.ts';
import { describeBinary, findBinary } from '../../scripts/lib/binaries.ts';
import { waitUntil as until } from '../../scripts/lib/wait.ts';
import type { RuleFile } from '../../scripts/lib/helm/rules.ts';
import { REPO_ROOT } from '../../scripts/lib/repo.ts';
import { startAlertmanager, type LiveAlertmanager } from '../lib/live-alertmanager.ts';

const run = promisify(execFile);
const BASE = join(REPO_ROOT, 'alertmanager/alertmanager.yml');

/** What each severity promises (alertmanager.yml's header). */
const RECEIVER_OF: Record<string, string> = { critical: 'page', warning: 'ticket', info: 'info' };

const alertRules = ['alerts.yml', 'host.yml'].flatMap((file) =>
  (
    YAML.parse(readFileSync(join(REPO_ROOT, 'prometheus/rules', file), 'utf8')) as RuleFile
  ).groups.flatMap((g) => g.rules),
);

function expectedReceiver(labels: Record<string, string>): string {
  return labels.alertname === 'Watchdog' ? 'watchdog' : (RECEIVER_OF[labels.severity] ?? 'ticket');
}

const amtool = findBinary('amtool');
const alertmanager = findBinary('alertmanager');
const amtoolAtLeast026 = (() => {
  const [major, minor] = (amtool?.version ?? '0.0.0').split('.').map(Number);
  return major > 0 || minor >= 26;
})();

/** Where each severity (and the Watchdog) must be routed. */
const SEVERITY_ROUTES: [string, Record<string, string>, string][] = [
  ['critical pages', { alertname: 'X', severity: 'critical', service: 'agent-service' }, 'page'],
  ['warning opens a ticket', { alertname: 'X', severity: 'warning' }, 'ticket'],
  ['info goes to info', { alertname: 'X', severity: 'info' }, 'info'],
  [
    'Watchdog goes only to the dead man’s switch',
    { alertname: 'Watchdog', severity: 'none' },
    'watchdog',
  ],
  ['Watchdog wins over its severity', { alertname: 'Watchdog', severity: 'critical' }, 'watchdog'],
  ['no severity falls back to a ticket', { alertname: 'X' }, 'ticket'],
  ['an unknown severity falls back to a ticket', { alertname: 'X', severity: 'page' }, 'ticket'],
];

/** The receivers amtool picks for a label set. */
async function routesTo(configFile: string, labels: Record<string, string>): Promise<string> {
  const args = ['config', 'routes', 'test', `--config.file=${configFile}`];
  args.push(...Object.entries(labels).map(([k, v]) => `${k}=${v}`));
  const { stdout } = await run(amtool!.path, args, { timeout: 10_000 });
  return stdout.trim();
}

/** A work folder for rendered configs, for the whole suite. */
function routingTreeFixture() {
  const f = { work: '' };
  before(function () {
    assert.ok(amtool, 'no amtool: `make tools`, or apt-get install prometheus-alertmanager');
    f.work = mkdtempSync(join(tmpdir(), 'am-routes-'));
  });
  after(function () {
    if (f.work) rmSync(f.work, { recursive: true, force: true });
  });
  return f;
}

function routesBySeverity(f: ReturnType<typeof routingTreeFixture>): void {
  for (const [title, labels, receiver] of SEVERITY_ROUTES) {
    it(`${title} (${receiver})`, async function () {
      assert.equal(await routesTo(BASE, labels), receiver);
    });
  }

  it('every alerting rule reaches the receiver of its severity', async function () {
    for (const rule of alertRules) {
      const labels: Record<string, string> = { alertname: rule.alert!, ...rule.labels };
      for (const [k, v] of Object.entries(labels)) if (v.includes('{{')) labels[k] = 'templated';
      assert.equal(await routesTo(BASE, labels), expectedReceiver(labels), rule.alert);
    }
  });

  // The probe rule knows the service (the probe target's service_name) and not its team: the
  // team's route takes it by `service`, with the team's other pages of that service.
  it("a probed service's ServiceDown (probe rule, no team label) reaches its team's receiver", async function () {
    const labels = { alertname: 'ServiceDown', severity: 'critical', service: 'python-agent' };
    const probe = { ...labels, job: 'blackbox', instance: 'http://python-agent:8010/health/ready' };
    assert.equal(await routesTo(BASE, probe), 'agents-page');
  });

  // A team route takes its services' pages only: their warnings are tickets like everyone's.
  it("a probed service's warning (the probe SLO's slow burn) is a ticket, not its team's page", async function () {
    const labels = {
      alertname: 'ProbeErrorBudgetBurn',
      severity: 'warning',
      service: 'python-agent',
    };
    assert.equal(await routesTo(BASE, labels), 'ticket');
  });

  it('the rendered config with every optional receiver routes the same', async function () {
    const env: Record<string, string> = {
      SLACK_WEBHOOK_URL: 'https://hooks.slack.com/services/T/B/x',
      PAGERDUTY_ROUTING_KEY: 'key',
      SMTP_SMARTHOST: 'smtp.example.com:587',
      SMTP_FROM: 'a@example.com',
      SMTP_TO: 'b@example.com',
      SMTP_USERNAME: 'a@example.com',
      SMTP_PASSWORD: 'password',
      // Webhook url_file needs Alertmanager >= 0.26 (the pinned one); Debian's is 0.25.
      DEADMANSSWITCH_URL: amtoolAtLeast026 ? 'https://hc-ping.example.com/x' : '',
    };
    const file = join(f.work, 'alertmanager.yml');
    writeFileSync(file, renderAlertmanagerConfig(env, REPO_ROOT).yaml);
    for (const [, labels, receiver] of SEVERITY_ROUTES)
      assert.equal(await routesTo(file, labels), receiver);
  });
}

// ---------------------------------------------------------------------------- amtool routes

describe(`Alertmanager routes (${amtool ? describeBinary(amtool) : 'amtool not found'})`, function () {
  this.timeout(60_000);
  const f = routingTreeFixture();
  routesBySeverity(f);
});

// ---------------------------------------------------------------------------- a live Alertmanager

interface ApiAlert {
  labels: Record<string, string>;
  status: { state: string; inhibitedBy: string[]; silencedBy: string[] };
  receivers: { name: string }[];
}

/** One alert as Prometheus would send it: firing for the next hour. */
function alert(labels: Record<string, string>) {
  return {
    labels,
    annotations: { summary: `${labels.alertname} (test)` },
    startsAt: new Date().toISOString(),
    endsAt: new Date(Date.now() + 3_600_000).toISOString(),
  };
}

const APP = { service: 'agent-service' };
// Round 1: each inhibition rule with an alert it must hold back and one it must not.
const ROUND_1 = {
  burnFast: {
    alertname: 'ErrorBudgetBurn',
    severity: 'critical',
    ...APP,
    slo: 'api-availability',
    long_window: '1h',
    short_window: '5m',
  },
  // The fast RED alert pages first; the critical burn of the same failure waits.
  redFast: {
    alertname: 'APIErrorRatioHigh',
    severity: 'critical',
    ...APP,
    slo: 'api-availability',
  },
  burnSlow: {
    alertname: 'ErrorBudgetBurn',
    severity: 'warning',
    ...APP,
    slo: 'api-availability',
    long_window: '1d',
    short_window: '2h',
  },
  diskCritical: {
    alertname: 'DiskSpaceCritical',
    severity: 'critical',
    ...APP,
    instance: 'app:8000',
  },
  diskLow: { alertname: 'DiskSpaceLow', severity: 'warning', ...APP, instance: 'app:8000' },
  diskLowElsewhere: {
    alertname: 'DiskSpaceLow',
    severity: 'warning',
    ...APP,
    instance: 'app-2:8000',
  },
  llmDown: { alertname: 'LLMProviderDown', severity: 'critical', ...APP, provider: 'simulated' },
  runFailures: {
    alertname: 'AgentRunFailureRatioHigh',
    severity: 'warning',
    ...APP,
    agent: 'research',
  },
  dbDown: { alertname: 'DatabaseDown', severity: 'critical', ...APP, instance: 'app:8000' },
  dbSlow: {
    alertname: 'DatabaseSlowQueries',
    severity: 'warning',
    ...APP,
    operation: 'insert_run',
  },
  dbSlowOtherService: {
    alertname: 'DatabaseSlowQueries',
    severity: 'warning',
    service: 'billing',
    operation: 'insert_run',
  },
  memory: { alertname: 'HighMemoryUsage', severity: 'warning', ...APP, instance: 'app:8000' },
  volume: { alertname: 'HighRequestVolume', severity: 'info', ...APP },
  // A Collector outage: both of its scrape jobs are down (one group: same alertname and
  // service), and what it causes waits: the app's failing trace exports, the Collector's own
  // export alerts. Error reports (Sentry) and Jaeger's alerts are other paths.
  targetDown: {
    alertname: 'TargetDown',
    severity: 'warning',
    service: 'otel-collector',
    job: 'otel-collector',
  },
  targetDownSpanmetrics: {
    alertname: 'TargetDown',
    severity: 'warning',
    service: 'otel-collector',
    job: 'spanmetrics',
  },
  traceExportFailing: {
    alertname: 'TelemetryExportFailing',
    severity: 'warning',
    ...APP,
    instance: 'app:8000',
    signal: 'traces',
  },
  errorExportFailing: {
    alertname: 'TelemetryExportFailing',
    severity: 'warning',
    ...APP,
    instance: 'app:8000',
    signal: 'errors',
  },
  collectorExport: {
    alertname: 'CollectorExportFailing',
    severity: 'warning',
    service: 'otel-collector',
    job: 'otel-collector',
    exporter: 'otlp_grpc/jaeger',
  },
  jaegerRefusing: {
    alertname: 'CollectorRefusingSpans',
    severity: 'warning',
    service: 'jaeger',
    job: 'jaeger',
    receiver: 'otlp',
  },
  ruleFailures: {
    alertname: 'PrometheusRuleFailures',
    severity: 'critical',
    service: 'prometheus',
    instance: 'localhost:9090',
  },
  watchdog: { alertname: 'Watchdog', severity: 'none' },
};
type Name = keyof typeof ROUND_1;
const INHIBITED_1: Name[] = [
  'burnFast',
  'burnSlow',
  'diskLow',
  'runFailures',
  'dbSlow',
  'traceExportFailing',
  'collectorExport',
];
// Round 2: ServiceDown of instance app:8000 holds back the other alerts of that instance (and
// kube-prometheus-stack's TargetDown of its job, `service` there being the Kubernetes
// Service's name), nothing else: a healthy replica's alerts, and the service's own pages,
// which join ServiceDown in one page (one-incident.test.ts) rather than disappear.
const SERVICE_DOWN = {
  alertname: 'ServiceDown',
  severity: 'critical',
  ...APP,
  job: 'app',
  instance: 'app:8000',
};
const KUBE_TARGET_DOWN = {
  alertname: 'TargetDown',
  severity: 'warning',
  service: 'agents-agent-observability-app',
  job: 'app',
};
const OF_THE_DEAD_INSTANCE = (Object.keys(ROUND_1) as Name[]).filter(
  (n) => (ROUND_1[n] as Record<string, string>).instance === SERVICE_DOWN.instance,
);

/**
 * An Alertmanager on the repo's config with 1 s group timers and every webhook pointed at
 * `webhookUrl`.
 */
async function startLiveAlertmanager(path: string, webhookUrl: string): Promise<LiveAlertmanager> {
  const config = YAML.parse(readFileSync(BASE, 'utf8')) as {
    route: Record<string, unknown> & { routes?: Record<string, unknown>[] };
    receivers: { webhook_configs?: { url: string }[] }[];
  };
  for (const r of config.receivers)
    for (const hook of r.webhook_configs ?? []) hook.url = webhookUrl;
  for (const route of [config.route, ...(config.route.routes ?? [])]) {
    route.group_wait = '1s';
    route.group_interval = '1s';
  }
  return startAlertmanager(path, YAML.stringify(config));
}

async function postAlerts(url: string, alerts: Record<string, string>[]): Promise<void> {
  const res = await fetch(`${url}/api/v2/alerts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(alerts.map(alert)),
  });
  assert.equal(res.status, 200, await res.text());
}

/** Alertmanager's view once every posted alert is processed. */
async function viewAlerts(url: string, count: number): Promise<ApiAlert[]> {
  return until(`${count} processed alerts`, 15_000, async () => {
    const res = await fetch(`${url}/api/v2/alerts`);
    const alerts = (await res.json()) as ApiAlert[];
    const done = alerts.length === count && alerts.every((a) => a.status.state !== 'unprocessed');
    return done ? alerts : undefined;
  });
}

function find(alerts: ApiAlert[], labels: Record<string, string>): ApiAlert {
  const found = alerts.find((a) => Object.entries(labels).every(([k, v]) => a.labels[k] === v));
  assert.ok(found, `alert ${JSON.stringify(labels)}`);
  return found;
}

async function expectStates(
  url: string,
  inhibited: Record<string, string>[],
  active: Record<string, string>[],
) {
  const count = inhibited.length + active.length;
  await until('the expected inhibitions', 15_000, async () => {
    const alerts = await viewAlerts(url, count);
    const ok =
      inhibited.every((l) => find(alerts, l).status.inhibitedBy.length > 0) &&
      active.every((l) => find(alerts, l).status.state === 'active');
    return ok ? true : undefined;
  }).catch(async (err: Error) => {
    const alerts = await viewAlerts(url, count);
    const states = alerts.map(
      (a) => `${JSON.stringify(a.labels)}: ${a.status.state} ${a.status.inhibitedBy.length}`,
    );
    throw new Error(`${err.message}\n${states.join('\n')}`);
  });
}

/** The local receiver and a live Alertmanager delivering to it, for the whole suite. */
function liveAlertmanagerFixture() {
  let receiver: AlertReceiver | undefined;
  let am: LiveAlertmanager | undefined;
  before(async function () {
    assert.ok(
      alertmanager,
      'no alertmanager: `make tools`, or apt-get install prometheus-alertmanager',
    );
    receiver = await startAlertReceiver({ port: 0 });
    am = await startLiveAlertmanager(alertmanager.path, receiver.webhookUrl);
  });
  after(async function () {
    await am?.stop();
    await receiver?.close();
  });
  return {
    get url() {
      return am!.url;
    },
    get receiver() {
      return receiver!;
    },
  };
}
type LiveFixture = ReturnType<typeof liveAlertmanagerFixture>;

function inhibitsAndRoutes(f: LiveFixture): void {
  it('inhibits a warning by the critical of the same name and service, and by its cause; a Collector outage reaches a human once', async function () {
    await postAlerts(f.url, Object.values(ROUND_1));
    const inhibited = INHIBITED_1.map((n) => ROUND_1[n]);
    const active = (Object.keys(ROUND_1) as Name[])
      .filter((n) => !INHIBITED_1.includes(n))
      .map((n) => ROUND_1[n]);
    await expectStates(f.url, inhibited, active);
  });

  it('routes each alert to the receiver of its severity, as the API reports', async function () {
    const alerts = await viewAlerts(f.url, Object.keys(ROUND_1).length);
    for (const labels of Object.values(ROUND_1)) {
      assert.deepEqual(
        find(alerts, labels).receivers.map((r) => r.name),
        [expectedReceiver(labels)],
        labels.alertname,
      );
    }
  });

  it('delivers active alerts to the local receiver under their receiver, never inhibited ones or Watchdog', async function () {
    const delivered = (Object.keys(ROUND_1) as Name[]).filter(
      (n) => !INHIBITED_1.includes(n) && n !== 'watchdog',
    );
    const seen = () => f.receiver.alerts().filter((a) => a.status === 'firing');
    await until('every active alert at the receiver', 20_000, async () =>
      delivered.every((n) => seen().some((a) => sameAlert(a.labels, ROUND_1[n])))
        ? true
        : undefined,
    );
    for (const n of delivered) {
      const got = seen().find((a) => sameAlert(a.labels, ROUND_1[n]))!;
      assert.equal(got.receiver, expectedReceiver(ROUND_1[n]), n);
    }
    // The Collector's two scrape jobs: one group, so one notification for a human.
    const groupOf = (n: Name) => seen().find((a) => sameAlert(a.labels, ROUND_1[n]))!.groupKey;
    assert.equal(groupOf('targetDown'), groupOf('targetDownSpanmetrics'));
    // group_interval is 1 s: anything held back would have arrived by now.
    await new Promise((r) => setTimeout(r, 2_000));
    for (const n of [...INHIBITED_1, 'watchdog' as Name]) {
      assert.ok(!seen().some((a) => sameAlert(a.labels, ROUND_1[n])), `${n} was delivered`);
    }
  });
}

function serviceDownInhibits(f: LiveFixture): void {
  it('ServiceDown holds back the alerts of its instance and the TargetDown of its job, and nothing else', async function () {
    await postAlerts(f.url, [SERVICE_DOWN, KUBE_TARGET_DOWN]);
    const others = (Object.keys(ROUND_1) as Name[]).filter(
      (n) => !OF_THE_DEAD_INSTANCE.includes(n),
    );
    // The others keep their state of round 1.
    const still = (inhibited: boolean) =>
      others.filter((n) => INHIBITED_1.includes(n) === inhibited).map((n) => ROUND_1[n]);
    assert.ok(OF_THE_DEAD_INSTANCE.includes('diskCritical') && others.includes('diskLowElsewhere'));
    await expectStates(
      f.url,
      [...OF_THE_DEAD_INSTANCE.map((n) => ROUND_1[n]), KUBE_TARGET_DOWN, ...still(true)],
      [SERVICE_DOWN, ...still(false)],
    );
  });
}

const SILENCING = readFileSync(join(REPO_ROOT, 'docs/runbooks/silencing.md'), 'utf8');
/** The example's matchers in silencing.md's commands. */
const EXAMPLE_MATCHERS = 'alertname=ServiceDown service=agent-service';

/** The matchers a runbook's Silencing section names ("match `alertname=X job=y`"). */
function runbookMatchers(alert: string): string[] {
  const runbook = readFileSync(join(REPO_ROOT, `docs/runbooks/${alert}.md`), 'utf8');
  const matchers = /## Silencing\n\n[^\n]*match `([^`]+)`/.exec(runbook)?.[1];
  assert.ok(matchers, `${alert}.md names its matchers in its Silencing section`);
  return matchers.split(/\s+/);
}

/** silencing.md's API v2 command, its matchers swapped for those of a runbook. */
function apiCommandFor(alert: string, url: string): string {
  const snippet = /```sh\n(start=[\s\S]*?)```/.exec(SILENCING)?.[1];
  assert.ok(snippet, 'silencing.md has the curl snippet');
  const example = EXAMPLE_MATCHERS.split(' ').map(toJsonMatcher).join(', ');
  assert.ok(snippet.includes(example), "the curl snippet's matchers are the example's");
  const wanted = runbookMatchers(alert).map(toJsonMatcher).join(', ');
  return snippet.replace(example, wanted).replaceAll('http://localhost:9093', url);
}

function toJsonMatcher(m: string): string {
  const [name, value] = m.split('=');
  return `{"name": "${name}", "value": "${value}", "isRegex": false, "isEqual": true}`;
}

function silencesAsTheRunbooksSay(f: LiveFixture): void {
  it('silences with the API v2 command of the runbooks', async function () {
    await run('bash', ['-euo', 'pipefail', '-c', apiCommandFor('TargetDown', f.url)], {
      env: { ...process.env, USER: 'rules-test' },
      timeout: 15_000,
    });
    await until('TargetDown silenced', 15_000, async () => {
      const res = await fetch(`${f.url}/api/v2/alerts?silenced=true&inhibited=true&active=true`);
      const alerts = (await res.json()) as ApiAlert[];
      return find(alerts, ROUND_1.targetDown).status.silencedBy.length > 0 ? true : undefined;
    });
  });

  it('silences with the amtool command of the runbooks', async function () {
    const command = /```sh\n(amtool [^\n]*\\\n[^\n]*)\n/.exec(SILENCING)?.[1];
    assert.ok(command?.includes(EXAMPLE_MATCHERS), 'silencing.md has the amtool command');
    const script = command!
      .replace(EXAMPLE_MATCHERS, runbookMatchers('PrometheusRuleFailures').join(' '))
      .replace(/^amtool /, `"${amtool!.path}" `)
      .replaceAll('http://localhost:9093', f.url);
    await run('bash', ['-euo', 'pipefail', '-c', script], {
      env: { ...process.env, USER: 'rules-test' },
      timeout: 15_000,
    });
    await until('PrometheusRuleFailures silenced', 15_000, async () => {
      const res = await fetch(`${f.url}/api/v2/alerts`);
      const alerts = (await res.json()) as ApiAlert[];
      return find(alerts, ROUND_1.ruleFailures).status.silencedBy.length > 0 ? true : undefined;
    });
  });
}

describe(`a live Alertmanager (${alertmanager ? describeBinary(alertmanager) : 'not found'})`, function () {
  this.timeout(120_000);
  const f = liveAlertmanagerFixture();
  inhibitsAndRoutes(f);
  serviceDownInhibits(f);
  silencesAsTheRunbooksSay(f);
});

function sameAlert(got: Record<string, string>, wanted: Record<string, string>): boolean {
  return Object.entries(wanted).every(([k, v]) => got[k] === v);
}

// The app's container OOM-killed and the app down (prometheus/rules/host.yml): the kill's page
// stands in for ServiceDown, and the kills explain that container's restarts, not another's.
const OOM_KILLED = {
  alertname: 'ContainerOOMKilled',
  service: 'app',
  compose_service: 'app',
  container_name: 'agent-observability-app-1',
};
const OOM_ROUND = {
  serviceDown: SERVICE_DOWN,
  oomPage: { ...OOM_KILLED, severity: 'critical', job: 'app' },
  oomTicket: { ...OOM_KILLED, severity: 'warning' },
  restarting: { ...OOM_KILLED, alertname: 'ContainerRestarting', severity: 'warning' },
  otherRestarting: {
    alertname: 'ContainerRestarting',
    severity: 'warning',
    service: 'jaeger',
    container_name: 'agent-observability-jaeger-1',
  },
};

describe(`a live Alertmanager, an OOM kill that takes the app down (${alertmanager ? describeBinary(alertmanager) : 'not found'})`, function () {
  this.timeout(120_000);
  const f = liveAlertmanagerFixture();

  it('pages once, with the cause: ServiceDown and the same container’s restarts are held back', async function () {
    const r = OOM_ROUND;
    await postAlerts(f.url, Object.values(r));
    await expectStates(
      f.url,
      [r.serviceDown, r.oomTicket, r.restarting],
      [r.oomPage, r.otherRestarting],
    );
    const firing = () => f.receiver.alerts().filter((a) => a.status === 'firing');
    await until('the OOM page at the receiver', 20_000, async () =>
      firing().some((a) => sameAlert(a.labels, r.oomPage)) ? true : undefined,
    );
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const pages = firing().filter((a) => a.receiver === 'page');
    assert.deepEqual(
      pages.map((a) => a.alertname),
      ['ContainerOOMKilled'],
      'one page, naming the OOM kill',
    );
  });
});
