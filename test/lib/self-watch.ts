// The stack watching itself (the self-watch alerts of prometheus/rules/alerts.yml), checked
// on a running native stack by the whole-stack test (test/e2e/stack.test.ts), after its
// scenarios:
// - the pinned Prometheus serves every counter its self-watch alerts read (the TSDB failure
//   alert adds six of them with `+`, which a missing one would silence);
// - Alertmanager keeps a silence across a restart (its --storage.path survives it);
// - with Alertmanager stopped, Prometheus counts the failed sends in
//   prometheus_notifications_errors_total only, not in _sent_total, so the rule
//   PrometheusErrorSendingAlertsToAnyAlertmanager divides by errors + sent and reads 100 %;
// - the span metrics of an app process that stopped leave Prometheus (the Collector's
//   span_metrics connector expires them).
import assert from 'node:assert/strict';
import { PrometheusClient } from '../../scripts/lib/clients.ts';
import { waitUntil } from '../../scripts/lib/wait.ts';
import type { Stack } from '../../scripts/lib/stack/stack.ts';

/** Counters the stack group of prometheus/rules/alerts.yml reads from Prometheus itself. */
export const PROMETHEUS_COUNTERS = [
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
export function counter(text: string, name: string): number | undefined {
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

/** The counters missing from Prometheus' /metrics (none, on the pinned build). */
export async function missingPrometheusCounters(promUrl: string): Promise<string[]> {
  const text = await metricsText(promUrl);
  return PROMETHEUS_COUNTERS.filter((name) => counter(text, name) === undefined);
}

/** Create a silence, restart Alertmanager, and read the silence back. */
export async function silenceSurvivesRestart(stack: Stack): Promise<void> {
  const amUrl = stack.urls.alertmanager as string;
  const silence = {
    matchers: [{ name: 'alertname', value: 'Watchdog', isRegex: false, isEqual: true }],
    startsAt: new Date().toISOString(),
    endsAt: new Date(Date.now() + 3_600_000).toISOString(),
    createdBy: 'test/e2e/stack.test.ts',
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
}

/**
 * Stop Alertmanager; Prometheus (re-sending Watchdog every few seconds, scaled) must count the
 * failures in errors_total alone, and its alert must read 1 (100 %). Alertmanager is started
 * again either way.
 */
export async function failedSendsCountedAsErrorsOnly(stack: Stack): Promise<void> {
  const promUrl = stack.urls.prometheus as string;
  const prom = new PrometheusClient(promUrl);
  const errors = (t: string) => counter(t, 'prometheus_notifications_errors_total')!;
  const sent = (t: string) => counter(t, 'prometheus_notifications_sent_total')!;
  await stack.stopComponent('alertmanager');
  try {
    const before = await metricsText(promUrl);
    const after = await waitUntil('failed sends to be counted', 30_000, async () => {
      const now = await metricsText(promUrl);
      return errors(now) - errors(before) >= 3 && now;
    });
    console.log(
      `      Alertmanager stopped: errors +${errors(after) - errors(before)}, sent +${sent(after) - sent(before)}`,
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
}

/** Restart the app: the span-metric series of the stopped process leave Prometheus. */
export async function spanMetricsOfStoppedAppExpire(stack: Stack): Promise<number> {
  const prom = new PrometheusClient(stack.urls.prometheus as string);
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
  return (Date.now() - stoppedAt) / 1000;
}
