// The stack watching itself (issue 15), on the pinned programs as local processes, time
// scaled by 1/60:
// - the pinned Prometheus serves every counter its self-watch alerts read (the TSDB failure
//   alert adds six of them with `+`, which a missing one would silence);
// - Alertmanager keeps a silence across a restart (its --storage.path survives it);
// - with Alertmanager stopped, Prometheus counts the failed sends in
//   prometheus_notifications_errors_total only, not in _sent_total, so the rule
//   PrometheusErrorSendingAlertsToAnyAlertmanager divides by errors + sent and reads 100 %;
// - the span metrics of an app process that stopped leave Prometheus (the Collector's
//   span_metrics connector expires them), where the Collector and Jaeger are built.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describeBinary } from '../../scripts/lib/binaries.ts';
import { PrometheusClient, waitUntil } from '../../scripts/lib/scenarios/clients.ts';
import { startStack, type Stack } from '../../scripts/lib/stack/stack.ts';

const TIME_SCALE = 1 / 60;

/** Counters the stack group of prometheus/rules/alerts.yml reads from Prometheus itself. */
const PROMETHEUS_COUNTERS = [
  'prometheus_notifications_errors_total',
  'prometheus_notifications_sent_total',
  'prometheus_rule_group_iterations_missed_total',
  'prometheus_tsdb_compactions_failed_total',
  'prometheus_tsdb_reloads_failures_total',
  'prometheus_tsdb_wal_corruptions_total',
  'prometheus_tsdb_wal_writes_failed_total',
  'prometheus_tsdb_wal_truncations_failed_total',
  'prometheus_tsdb_checkpoint_creations_failed_total',
  'prometheus_tsdb_size_retentions_total',
];

/** Sum of one counter over its series in a /metrics text (Prometheus' own exposition). */
function counter(text: string, name: string): number | undefined {
  const values = text
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
    .map((line) => Number(line.slice(line.lastIndexOf(' ') + 1)));
  return values.length ? values.reduce((a, b) => a + b, 0) : undefined;
}

async function metricsText(url: string): Promise<string> {
  const res = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5000) });
  return res.text();
}

describe('the stack watching itself (native, pinned programs)', function () {
  let stack: Stack;
  let stateDir: string;
  let failed = false;
  let prom: PrometheusClient;
  let amUrl: string;

  before(async function () {
    stateDir = mkdtempSync(path.join(tmpdir(), 'agent-obs-self-'));
    stack = await startStack({
      stateDir,
      ports: 'free',
      timeScale: TIME_SCALE,
      require: ['prometheus', 'alertmanager'],
      adminToken: `e2e-${Math.random().toString(36).slice(2)}`,
      log: (l) => console.log(`    ${l}`),
    });
    for (const b of Object.values(stack.binaries)) console.log(`      ${describeBinary(b)}`);
    prom = new PrometheusClient(stack.urls.prometheus as string);
    amUrl = stack.urls.alertmanager as string;
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') failed = true;
  });

  after(async function () {
    await stack?.stop();
    if (failed) console.log(`    logs and configs kept for the failure: ${stateDir}`);
    else if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  });

  it('Prometheus serves every counter its self-watch alerts read', async function () {
    const text = await metricsText(stack.urls.prometheus as string);
    const missing = PROMETHEUS_COUNTERS.filter((name) => counter(text, name) === undefined);
    assert.deepEqual(missing, [], 'counters missing from Prometheus /metrics');
    const [head] = await prom.query('prometheus_tsdb_head_series');
    console.log(`      head series of this stack: ${head?.value[1] ?? '?'}`);
  });

  it('Alertmanager keeps a silence across a restart', async function () {
    const silence = {
      matchers: [{ name: 'alertname', value: 'Watchdog', isRegex: false, isEqual: true }],
      startsAt: new Date().toISOString(),
      endsAt: new Date(Date.now() + 3_600_000).toISOString(),
      createdBy: 'stack-self.test.ts',
      comment: 'must survive a restart',
    };
    const res = await fetch(`${amUrl}/api/v2/silences`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(silence),
    });
    const text = await res.text();
    assert.equal(res.status, 200, text);
    const { silenceID } = JSON.parse(text) as { silenceID: string };
    await stack.stopComponent('alertmanager');
    await stack.startComponent('alertmanager');
    const after = await fetch(`${amUrl}/api/v2/silence/${silenceID}`);
    assert.equal(after.status, 200, `silence ${silenceID} after the restart`);
    const body = (await after.json()) as { status: { state: string }; comment: string };
    assert.equal(body.status.state, 'active');
    assert.equal(body.comment, silence.comment);
  });

  it('with Alertmanager stopped, only the errors counter grows and the alert reads 100 %', async function () {
    // Prometheus before 3.10 (Debian's 2.42) counted every attempt in sent_total.
    if (stack.binaries.prometheus?.source === 'debian') {
      console.log(
        '      skipped: the semantics checked are those of the pinned Prometheus (make tools)',
      );
      this.skip();
    }
    const promUrl = stack.urls.prometheus as string;
    await stack.stopComponent('alertmanager');
    try {
      const before = await metricsText(promUrl);
      // Watchdog is re-sent every few seconds (scaled --rules.alert.resend-delay).
      const after = await waitUntil('failed sends to be counted', 30_000, async () => {
        const now = await metricsText(promUrl);
        const grew =
          counter(now, 'prometheus_notifications_errors_total')! -
          counter(before, 'prometheus_notifications_errors_total')!;
        return grew >= 3 && now;
      });
      const sent = (t: string) => counter(t, 'prometheus_notifications_sent_total');
      console.log(
        `      errors +${counter(after, 'prometheus_notifications_errors_total')! - counter(before, 'prometheus_notifications_errors_total')!}, sent +${sent(after)! - sent(before)!}`,
      );
      assert.equal(sent(after), sent(before), 'sent_total counts only delivered alerts');
      const alert = await waitUntil('the alert to fire in Prometheus', 60_000, async () =>
        (await prom.alerts()).find(
          (a) =>
            a.labels.alertname === 'PrometheusErrorSendingAlertsToAnyAlertmanager' &&
            a.state === 'firing',
        ),
      );
      assert.equal(Number(alert.value), 1, `the share of failed sends is ${alert.value}`);
    } finally {
      await stack.startComponent('alertmanager');
    }
  });

  it('the span metrics of an app process that stopped leave Prometheus', async function () {
    if (!stack.urls.otlpHttp) {
      console.log('      skipped: the Collector and Jaeger are not built (make tools)');
      this.skip();
    }
    const instances = async () =>
      (await prom.query('count by (exported_instance) (traces_span_metrics_calls_total)')).map(
        (s) => s.metric.exported_instance,
      );
    // Every request is traced, Prometheus' scrapes of /metrics included.
    const [old] = await waitUntil('span metrics of the app', 30_000, async () => {
      const found = await instances();
      return found.length === 1 && found;
    });
    const stoppedAt = Date.now();
    await stack.stopApp();
    await stack.startApp();
    await waitUntil(`the series of instance ${old} to go`, 45_000, async () => {
      const found = await instances();
      return found.length >= 1 && !found.includes(old) && found;
    });
    console.log(
      `      old instance's series gone ${(Date.now() - stoppedAt) / 1000} s after the stop`,
    );
  });
});
