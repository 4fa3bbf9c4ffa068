// The local alert receiver (scripts/lib/alert-receiver.ts) and `make alerts`' table: real HTTP on
// port 0, Alertmanager-shaped webhooks in, JSON out.

import assert from 'node:assert/strict';
import { formatAlertTable, ago } from '../../scripts/alerts.ts';
import {
  parseWebhook,
  startAlertReceiver,
  type AlertReceiver,
} from '../../scripts/lib/alert-receiver.ts';

function webhook(
  status: 'firing' | 'resolved',
  alertname: string,
  extra: Record<string, unknown> = {},
) {
  return {
    version: '4',
    groupKey: `{}:{alertname="${alertname}"}`,
    truncatedAlerts: 0,
    status,
    receiver: 'local',
    groupLabels: { alertname },
    commonLabels: { alertname },
    commonAnnotations: {},
    externalURL: 'http://localhost:9093',
    alerts: [
      {
        status,
        labels: { alertname, severity: 'critical', job: 'app' },
        annotations: { summary: `${alertname} summary`, runbook_url: 'docs/runbooks/x.md' },
        startsAt: '2026-11-23T10:00:00Z',
        endsAt: status === 'resolved' ? '2026-11-23T10:05:00Z' : '0001-01-01T00:00:00Z',
        generatorURL: 'http://localhost:9090/graph',
        fingerprint: 'f00',
        ...extra,
      },
    ],
  };
}

async function post(r: AlertReceiver, body: unknown, raw?: string): Promise<Response> {
  return fetch(r.webhookUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: raw ?? JSON.stringify(body),
  });
}

/** A fresh receiver per test (at most 3 alerts kept), and the lines it logged. */
function alertReceiverFixture() {
  let receiver: AlertReceiver;
  const logged: string[] = [];
  beforeEach(async () => {
    logged.length = 0;
    receiver = await startAlertReceiver({ port: 0, maxAlerts: 3, log: (l) => logged.push(l) });
  });
  afterEach(() => receiver.close());
  return {
    get receiver() {
      return receiver;
    },
    logged,
  };
}

function receiverStoresAndLists(f: ReturnType<typeof alertReceiverFixture>): void {
  it('answers /-/healthy', async () => {
    const res = await fetch(`${f.receiver.url}/-/healthy`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'OK');
  });

  it('stores webhook alerts and lists them oldest first, with a log line each', async () => {
    assert.equal((await post(f.receiver, webhook('firing', 'ServiceDown'))).status, 204);
    assert.equal((await post(f.receiver, webhook('resolved', 'ServiceDown'))).status, 204);
    const body = (await (await fetch(`${f.receiver.url}/alerts`)).json()) as {
      alerts: {
        status: string;
        alertname: string;
        severity: string;
        summary: string;
        labels: Record<string, string>;
      }[];
    };
    assert.deepEqual(
      body.alerts.map((a) => [a.status, a.alertname, a.severity, a.summary]),
      [
        ['firing', 'ServiceDown', 'critical', 'ServiceDown summary'],
        ['resolved', 'ServiceDown', 'critical', 'ServiceDown summary'],
      ],
    );
    assert.equal(body.alerts[0].labels.job, 'app');
    assert.equal(f.logged.length, 2);
    assert.match(f.logged[0], /FIRING +ServiceDown \[critical\] ServiceDown summary/);
  });

  it('filters by alertname and status, and forgets everything on DELETE', async () => {
    await post(f.receiver, webhook('firing', 'A'));
    await post(f.receiver, webhook('firing', 'B'));
    await post(f.receiver, webhook('resolved', 'A'));
    const list = async (q: string) =>
      (
        (await (await fetch(`${f.receiver.url}/alerts${q}`)).json()) as {
          alerts: { alertname: string; status: string }[];
        }
      ).alerts;
    assert.equal((await list('?alertname=A')).length, 2);
    assert.deepEqual(
      (await list('?alertname=A&status=resolved')).map((a) => a.status),
      ['resolved'],
    );
    assert.equal((await fetch(`${f.receiver.url}/alerts?status=pending`)).status, 400);
    assert.equal((await fetch(`${f.receiver.url}/alerts`, { method: 'DELETE' })).status, 204);
    assert.deepEqual(await list(''), []);
  });
}

function receiverLimitsAndParsing(f: ReturnType<typeof alertReceiverFixture>): void {
  it('keeps only the last maxAlerts', async () => {
    for (const name of ['A', 'B', 'C', 'D']) await post(f.receiver, webhook('firing', name));
    assert.deepEqual(
      f.receiver.alerts().map((a) => a.alertname),
      ['B', 'C', 'D'],
    );
  });

  it('refuses what is not an Alertmanager webhook with 400, and unknown paths and methods', async () => {
    assert.equal((await post(f.receiver, undefined, '{not json')).status, 400);
    assert.equal((await post(f.receiver, { alerts: 'x' })).status, 400);
    assert.equal(
      (await post(f.receiver, webhook('firing', 'A', { status: 'pending' }))).status,
      400,
    );
    assert.equal(
      (await post(f.receiver, webhook('firing', 'A', { labels: { alertname: 5 } }))).status,
      400,
    );
    assert.equal((await fetch(`${f.receiver.url}/nope`)).status, 404);
    assert.equal((await fetch(`${f.receiver.url}/alerts`, { method: 'PUT' })).status, 405);
    assert.deepEqual(f.receiver.alerts(), []);
  });

  it('refuses a body over 1 MiB', async () => {
    const res = await post(
      f.receiver,
      undefined,
      JSON.stringify({ alerts: [], pad: 'x'.repeat(1024 * 1024) }),
    );
    assert.equal(res.status, 400);
  });

  it('waitFor resolves with an alert already stored or arriving later, and times out otherwise', async () => {
    await post(f.receiver, webhook('firing', 'Early'));
    assert.equal((await f.receiver.waitFor({ alertname: 'Early' }, 100)).status, 'firing');
    const later = f.receiver.waitFor({ alertname: 'Late', status: 'resolved' }, 5000);
    await post(f.receiver, webhook('firing', 'Late'));
    await post(f.receiver, webhook('resolved', 'Late'));
    assert.equal((await later).status, 'resolved');
    await assert.rejects(f.receiver.waitFor({ alertname: 'Never' }, 50), /no alert matching/);
  });

  it('parseWebhook flattens labels and annotations', () => {
    const [a] = parseWebhook(webhook('firing', 'X'), new Date('2026-11-23T10:01:00Z'));
    assert.equal(a.receivedAt, '2026-11-23T10:01:00.000Z');
    assert.equal(a.receiver, 'local');
    assert.equal(a.fingerprint, 'f00');
  });
}

describe('alert receiver', () => {
  const f = alertReceiverFixture();
  receiverStoresAndLists(f);
  receiverLimitsAndParsing(f);
});

describe('make alerts (formatting)', () => {
  const now = new Date('2026-11-23T10:10:00Z');
  it('prints status, alertname, severity, summary and since, in columns', () => {
    const alerts = [
      ...parseWebhook(webhook('firing', 'HighErrorBudgetBurn'), now),
      ...parseWebhook(webhook('resolved', 'ServiceDown'), now),
    ];
    const lines = formatAlertTable(alerts, now).split('\n');
    assert.match(lines[0], /^STATUS +ALERTNAME +SEVERITY +SUMMARY +SINCE$/);
    assert.match(
      lines[1],
      /^firing +HighErrorBudgetBurn +critical +HighErrorBudgetBurn summary +since 10m ago$/,
    );
    assert.match(
      lines[2],
      /^resolved +ServiceDown +critical +ServiceDown summary +resolved 5m ago$/,
    );
  });
  it('says so when nothing was delivered, and reads times', () => {
    assert.equal(formatAlertTable([], now), 'No alerts delivered yet.');
    assert.equal(ago('0001-01-01T00:00:00Z', now), '-');
    assert.equal(ago('2026-11-23T07:10:00Z', now), '3h ago');
    assert.equal(ago('2026-11-21T10:10:00Z', now), '2d ago');
  });
});
