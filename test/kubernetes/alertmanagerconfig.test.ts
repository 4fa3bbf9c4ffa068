// The chart's AlertmanagerConfig on a real Alertmanager: the rendered object (every receiver
// integration set), turned into the config the Prometheus Operator would load
// (test/lib/operator-config.ts), and fed the alerts of an outage as they exist on Kubernetes:
// ours carry `namespace` and their rule's `service`; kube-prometheus-stack's TargetDown carries
// `service` = the Kubernetes Service's name. The receivers deliver to the local alert receiver,
// and Slack to a local server standing in for Slack's incoming webhook.
//   - An app outage is one page (one group, one receiver) and no ticket.
//   - A Collector outage is one notification to a human, its consequences held back.
//   - Slack messages carry each alert's summary, description and runbook.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import YAML from 'yaml';
import { startAlertReceiver, type AlertReceiver } from '../../scripts/lib/alert-receiver.ts';
import { describeBinary, findBinary } from '../../scripts/lib/binaries.ts';
import { waitUntil } from '../../scripts/lib/wait.ts';
import { COMBINATIONS, byKind, renderChart } from '../lib/helm.ts';
import { startAlertmanager, type LiveAlertmanager } from '../lib/live-alertmanager.ts';
import { operatorAlertmanagerConfig } from '../lib/operator-config.ts';

const NS = 'agents';
const alertmanager = findBinary('alertmanager');

/** Slack's incoming webhook, locally: keeps the bodies Alertmanager posts. */
async function startSlack(): Promise<{ url: string; bodies: string[]; server: Server }> {
  const bodies: string[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      bodies.push(body);
      res.end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/slack`, bodies, server };
}

/** One alert as Prometheus sends it, firing for the next hour. */
const firing = (labels: Record<string, string>, annotations: Record<string, string> = {}) => ({
  labels: { namespace: NS, ...labels } as Record<string, string>,
  annotations,
  startsAt: new Date().toISOString(),
  endsAt: new Date(Date.now() + 3_600_000).toISOString(),
});

const RUNBOOK =
  'https://github.com/agent-observability/agent-observability-stack/blob/main/docs/runbooks/ServiceDown.md';
const APP_OUTAGE = [
  firing(
    {
      alertname: 'ServiceDown',
      severity: 'critical',
      service: 'agent-service',
      job: 'app',
      instance: '10.1.2.3:9464',
      pod: 'obs-agent-observability-app-7d9f-x2kq',
    },
    {
      summary: 'The agent service is down or cannot be scraped',
      description: 'Prometheus failed 100% of its scrapes of 10.1.2.3:9464 (job app)',
      runbook_url: RUNBOOK,
    },
  ),
  firing({
    alertname: 'ServiceDown',
    severity: 'critical',
    service: 'agent-service',
    job: 'blackbox',
    instance: 'http://obs-agent-observability-app.agents.svc:8000/v1/agents',
  }),
  firing({ alertname: 'APIErrorRatioHigh', severity: 'critical', service: 'agent-service' }),
  firing({
    alertname: 'ErrorBudgetBurn',
    severity: 'critical',
    service: 'agent-service',
    long_window: '1h',
  }),
  // kube-prometheus-stack's: `service` is the Kubernetes Service.
  firing({
    alertname: 'TargetDown',
    severity: 'warning',
    job: 'app',
    service: 'obs-agent-observability-app',
  }),
];
const COLLECTOR_OUTAGE = [
  ...['otel-collector', 'spanmetrics'].map((job) =>
    firing({
      alertname: 'TargetDown',
      severity: 'warning',
      job,
      service: 'obs-agent-observability-collector',
    }),
  ),
  firing({
    alertname: 'TelemetryExportFailing',
    severity: 'warning',
    service: 'agent-service',
    job: 'app',
    instance: '10.1.2.3:9464',
    signal: 'traces',
  }),
];

interface Live {
  am: LiveAlertmanager;
  receiver: AlertReceiver;
  slack: Awaited<ReturnType<typeof startSlack>>;
}

async function startLive(): Promise<Live> {
  const r = renderChart({ namespace: NS, values: COMBINATIONS['every receiver integration'] });
  assert.ok(r.ok, r.output);
  const [amc] = byKind(r.objects, 'AlertmanagerConfig');
  const receiver = await startAlertReceiver({ port: 0 });
  const slack = await startSlack();
  const config = operatorAlertmanagerConfig(amc, {
    namespace: NS,
    timer: '1s',
    integrations: (rcv) => ({
      webhook_configs: [{ url: receiver.webhookUrl, send_resolved: true }],
      ...(rcv.slackConfigs
        ? {
            slack_configs: rcv.slackConfigs.map((c) => ({
              api_url: slack.url,
              channel: c.channel,
              title: c.title,
              text: c.text,
              color: c.color,
            })),
          }
        : {}),
    }),
  });
  const am = await startAlertmanager(alertmanager!.path, YAML.stringify(config));
  return { am, receiver, slack };
}

async function post(url: string, alerts: object[]): Promise<void> {
  const res = await fetch(`${url}/api/v2/alerts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(alerts),
  });
  assert.equal(res.status, 200, await res.text());
}

/**
 * The alerts of an outage in the order they fire: the causes first (ServiceDown, TargetDown
 * fire before the `for:` of their consequences runs out), then the rest once Alertmanager holds
 * the causes. Posted together, a consequence could be notified within the test's 1 s
 * group_wait before the inhibitor has seen its cause, which the real timers never allow.
 */
async function postOutage(url: string, alerts: ReturnType<typeof firing>[], causes: string[]) {
  const isCause = (a: ReturnType<typeof firing>) => causes.includes(a.labels.alertname);
  await post(url, alerts.filter(isCause));
  await waitUntil('the causes in Alertmanager', 10_000, async () => {
    const res = await fetch(`${url}/api/v2/alerts`);
    const got = (await res.json()) as unknown[];
    return got.length >= alerts.filter(isCause).length ? true : undefined;
  });
  await post(
    url,
    alerts.filter((a) => !isCause(a)),
  );
}

/** Group keys each receiver got notifications under, once `expected` alerts have arrived. */
async function groupsByReceiver(live: Live, expected: number): Promise<Map<string, Set<string>>> {
  await waitUntil(`${expected} delivered alerts`, 20_000, async () =>
    live.receiver.alerts().length >= expected ? true : undefined,
  );
  // group_interval is 1 s: anything held back would have arrived by now.
  await new Promise((r) => setTimeout(r, 2_500));
  const out = new Map<string, Set<string>>();
  for (const a of live.receiver.alerts()) {
    const name = a.receiver.split('/').at(-1)!;
    out.set(name, (out.get(name) ?? new Set()).add(a.groupKey));
  }
  return out;
}

describe(`the chart's AlertmanagerConfig on a real Alertmanager (${alertmanager ? describeBinary(alertmanager) : 'not found'})`, function () {
  this.timeout(120_000);
  let live: Live | undefined;
  beforeEach(async function () {
    assert.ok(alertmanager, 'no alertmanager: `make tools`');
    live = await startLive();
  });
  afterEach(async function () {
    await live?.am.stop();
    await live?.receiver.close();
    live?.slack.server.close();
  });

  it('an app outage is one page and no ticket; Slack carries summary, description and runbook', async function () {
    await postOutage(live!.am.url, APP_OUTAGE, ['ServiceDown']);
    const groups = await groupsByReceiver(live!, 3);
    assert.deepEqual([...groups.keys()], ['page']);
    assert.equal(groups.get('page')!.size, 1, [...groups.get('page')!].join('\n'));
    const pages = live!.receiver.alerts().map((a) => a.alertname);
    assert.ok(!pages.includes('TargetDown') && !pages.includes('ErrorBudgetBurn'), pages.join());
    // The page's Slack message names every alert of the group (their names differ).
    const text = await waitUntil('the Slack message of the whole page', 10_000, async () => {
      const all = JSON.stringify(live!.slack.bodies.map((b) => JSON.parse(b) as unknown));
      return /critical [A-Za-z, ]*APIErrorRatioHigh[A-Za-z, ]* \(agent-service\)/.test(all)
        ? all
        : undefined;
    });
    for (const part of [
      'The agent service is down or cannot be scraped',
      'Prometheus failed 100% of its scrapes',
      `Runbook: ${RUNBOOK}`,
    ])
      assert.ok(text.includes(part), `${part} not in ${text}`);
  });

  it('a Collector outage is one ticket, its consequences held back', async function () {
    await postOutage(live!.am.url, COLLECTOR_OUTAGE, ['TargetDown']);
    const groups = await groupsByReceiver(live!, 2);
    assert.deepEqual([...groups.keys()], ['ticket']);
    assert.equal(groups.get('ticket')!.size, 1);
    const names = live!.receiver.alerts().map((a) => a.alertname);
    assert.deepEqual([...new Set(names)], ['TargetDown']);
  });
});
