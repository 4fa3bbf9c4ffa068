// The logs pipeline of the native stack (ADR 0011): the app's OTLP log records go through the
// Collector built from otel-collector/builder-config.yaml (logs pipeline, otlp_http exporter)
// into VictoriaLogs built from its Go module, all with the repo's configs, time-scaled:
// - a run's trace id, read back from Jaeger, finds that run's log lines in VictoriaLogs through
//   its LogsQL API (the request line, the run line, and each line at the span that wrote it),
//   with the stream chosen by the Collector (service, not instance);
// - Grafana's two links and the overview's logs panel, as provisioned and generated, run as
//   LogsQL against the store (no Grafana runs here): Jaeger's trace-to-logs query and the
//   panel find the run's lines, each line's derived-field value is the trace id Jaeger returns;
// - Prometheus scrapes VictoriaLogs, and the Collector reports the records it delivered;
// - lines written while VictoriaLogs is down wait in the Collector's queue and arrive once it is
//   back, with none counted lost by the Collector or the app.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { panelsOf, readDashboards } from '../../scripts/lib/dashboards/panel-queries.ts';
import { PrometheusClient } from '../../scripts/lib/clients.ts';
import { waitUntil } from '../../scripts/lib/wait.ts';
import { count, logOf, probeLogExportFailures } from '../lib/collector-probe.ts';
import { JaegerClient, SPAN_KIND, type JaegerSpan } from '../lib/jaeger-client.ts';
import { scrape, total } from '../lib/prometheus-text.ts';
import { stackFixture, type StackFixture, type StackFixtureOptions } from '../lib/stack-fixture.ts';
import { logsqlString, VictoriaLogsClient, type LogRow } from '../lib/victorialogs.ts';
import { SERVICE } from '../lib/agent-runs.ts';
import { appCatalog } from '../lib/app-module.ts';
import { REPO_ROOT } from '../../scripts/lib/repo.ts';
import { speedup } from '../../scripts/lib/time-scale.ts';

// As the trace tests: 15 s scrapes become 1 s. Nothing here waits for an alert.
const TIME_SCALE = speedup(15);
// The app exports spans every 5 s and log records every 1 s (OTel defaults), the Collector
// batches for up to 1 s more: 20 s leaves room for a loaded machine.
const ARRIVAL_MS = 20_000;
const RETRY_LOG = 'Will retry the request after interval';
const TO_VICTORIALOGS = { exporter: 'otlp_http/victorialogs' };

/** The stack every test here shares, the clients that read it, and what earlier tests left. */
interface LogsStack extends StackFixture {
  logs: VictoriaLogsClient;
  jaeger: JaegerClient;
  apiKey: string;
  /** The Collector's own telemetry, where the harness moved compose's otel-collector:8888. */
  collectorMetrics: string;
  /** The run of the first test, for the Grafana link test. */
  traced?: { traceId: string; runId: string; requestId: string };
}

function logsStackFixture(): LogsStack {
  const options: StackFixtureOptions = {
    tests: 'the log tests',
    programs: ['otelcol', 'jaeger', 'victoria-logs'],
    require: ['prometheus', 'otel-collector', 'jaeger', 'victorialogs'],
    timeScale: TIME_SCALE,
    stateDirPrefix: 'agent-obs-logs-',
  };
  return stackFixture({ failed: false, timings: [] } as unknown as LogsStack, options, (f) => {
    f.logs = new VictoriaLogsClient(f.stack.urls.victorialogs as string);
    f.jaeger = new JaegerClient(f.stack.urls.jaeger as string);
    f.apiKey = f.stack.apiKeys.pro;
    f.collectorMetrics = `http://${f.stack.addresses['otel-collector:8888']?.[0]}/metrics`;
  });
}

interface Datasource {
  uid: string;
  jsonData?: {
    tracesToLogsV2?: { query: string };
    derivedFields?: { matcherRegex: string; datasourceUid?: string }[];
  };
}

/** The provisioned datasources, with Grafana's unescaping of `$$` (provisioning tests check it). */
function provisionedDatasource(uid: string): Datasource {
  const file = path.join(REPO_ROOT, 'grafana/provisioning/datasources/datasources.yml');
  const text = readFileSync(file, 'utf8').replaceAll('$$', '$');
  const found = (YAML.parse(text) as { datasources: Datasource[] }).datasources.find(
    (d) => d.uid === uid,
  );
  assert.ok(found, `no datasource ${uid}`);
  return found;
}

/** The LogsQL of every VictoriaLogs panel target, `${route:pipe}` as Grafana sends it. */
function logsPanelQueries(route: string | 'All'): { panel: string; expr: string }[] {
  return readDashboards().flatMap((dashboard) =>
    panelsOf(dashboard).flatMap((panel) =>
      (panel.targets ?? [])
        .filter(
          (t) => (t.datasource ?? panel.datasource)?.type === 'victoriametrics-logs-datasource',
        )
        .map((t) => {
          const variable = dashboard.templating?.list?.find((v) => v.name === 'route');
          // All: the custom allValue, unformatted; one value as it is (Grafana's `pipe`).
          const value = route === 'All' ? (variable?.allValue ?? '') : route;
          return {
            panel: `${dashboard.uid} / ${panel.title}`,
            expr: (t.expr ?? '').replaceAll('${route:pipe}', value),
          };
        }),
    ),
  );
}

/** The base names of the logs pipeline's Collector metrics the alert rules read. */
function ruleLogRecordNames(): string[] {
  const rules = readFileSync(path.join(REPO_ROOT, 'prometheus/rules/alerts.yml'), 'utf8');
  return [...new Set(rules.match(/otelcol_[a-z_]+_log_records/g) ?? [])].sort();
}

// ------------------------------------------------------------------------- a run's lines

/** One run (the app's first agent, its cheapest model) with its own request id; the run and its trace in Jaeger. */
async function tracedRun(f: LogsStack, requestId: string) {
  const { agents, models } = appCatalog();
  const res = await fetch(`${f.stack.urls.app}/v1/agents/${agents[0]}/runs`, {
    method: 'POST',
    headers: {
      'x-api-key': f.apiKey,
      'content-type': 'application/json',
      'x-request-id': requestId,
    },
    body: JSON.stringify({ input: `What is 17 * 3? (${requestId})`, model: models[0] }),
    signal: AbortSignal.timeout(30_000),
  });
  const run = (await res.json()) as { id: string; trace_id: string };
  assert.ok(res.status === 201 || res.status >= 500, `run: ${res.status}`);

  // The trace as a person finds it: in Jaeger, by its id.
  const spans = await waitUntil('the run in Jaeger', ARRIVAL_MS, async () => {
    const found = await f.jaeger.trace(run.trace_id);
    return found?.some((s) => s.kind === SPAN_KIND.SERVER) ? found : undefined;
  });
  return { run, spans, agent: agents[0] };
}

async function expectRunLinesAtTheirSpans(f: LogsStack): Promise<void> {
  const requestId = `logs-e2e-${randomUUID()}`;
  const { run, spans, agent: agentName } = await tracedRun(f, requestId);
  const server = spans.find((s) => s.kind === SPAN_KIND.SERVER)!;
  const agent = spans.find((s) => s.name === `invoke_agent ${agentName}`);
  assert.ok(agent, `no invoke_agent span in ${spans.map((s) => s.name).join(', ')}`);

  const query = `trace_id:=${logsqlString(run.trace_id)}`;
  const rows = await waitUntil(
    `the run's lines in VictoriaLogs (${query})`,
    ARRIVAL_MS,
    async () => {
      const found = await f.logs.query(query);
      const has = (msg: string) => found.some((r) => r._msg === msg);
      return has('request') && has('agent run finished') ? found : undefined;
    },
  );
  const one = (msg: string): LogRow => rows.find((r) => r._msg === msg)!;
  assert.equal(one('request').span_id, server.spanId);
  assert.equal(one('agent run finished').span_id, agent.spanId);
  assert.equal(one('agent run finished').run_id, run.id);
  expectLinesInTrace(rows, spans, requestId);
  assert.equal(one('request').severity_text, 'info');
  // The stream is the service, chosen by the Collector: no instance id or pid in it.
  assert.equal(one('request')._stream, `{service.name="${SERVICE}"}`);
  f.traced = { traceId: run.trace_id, runId: run.id, requestId };
}

/** Every line of the trace sits at one of its spans (LLM calls included, when they log). */
function expectLinesInTrace(rows: LogRow[], spans: JaegerSpan[], requestId: string): void {
  const spanIds = new Set(spans.map((s) => s.spanId));
  for (const row of rows) {
    assert.ok(spanIds.has(row.span_id), `${row._msg}: span ${row.span_id} is not in the trace`);
    assert.equal(row.request_id, requestId, `${row._msg}: request_id`);
    assert.equal(row['service.name'], SERVICE);
  }
}

// ------------------------------------------------------------------------- Grafana's links and panel

async function expectGrafanaLinksFindRun(f: LogsStack, traceId: string, runId: string) {
  // Jaeger → logs: the custom query of tracesToLogsV2, as Grafana interpolates it.
  const toLogs = provisionedDatasource('jaeger').jsonData?.tracesToLogsV2?.query ?? '';
  const rows = await f.logs.query(toLogs.replaceAll('${__trace.traceId}', traceId));
  assert.ok(
    rows.some((r) => r._msg === 'agent run finished' && r.run_id === runId),
    toLogs,
  );
  // Logs → Jaeger: the derived field reads this field; its value is the trace Jaeger has.
  const derived = provisionedDatasource('victorialogs').jsonData?.derivedFields ?? [];
  const field = derived.find((d) => d.datasourceUid === 'jaeger')?.matcherRegex ?? '';
  for (const row of rows) assert.equal(row[field], traceId, `derived field ${field}`);
  assert.ok(await f.jaeger.trace(traceId));
  await expectLogsPanelsFindRun(f, traceId);
}

/**
 * The overview's logs panel, route = All and route = the run's route. The whole-stack test
 * runs every Prometheus panel query; these are the only other ones, run here.
 */
async function expectLogsPanelsFindRun({ logs }: LogsStack, traceId: string): Promise<void> {
  const types = readDashboards().flatMap((d) =>
    panelsOf(d).flatMap((p) => (p.targets ?? []).map((t) => (t.datasource ?? p.datasource)?.type)),
  );
  assert.deepEqual(
    [...new Set(types)].sort(),
    ['prometheus', 'victoriametrics-logs-datasource'],
    'every panel query is run by a live test',
  );
  const queries = [...logsPanelQueries('All'), ...logsPanelQueries('/v1/agents/:agent/runs')];
  assert.ok(queries.length >= 2, 'the dashboards have a logs panel');
  for (const { panel, expr } of queries) {
    const found = await logs.query(`${expr} AND trace_id:=${logsqlString(traceId)}`);
    assert.ok(
      found.some((r) => r._msg === 'request'),
      `${panel}: ${expr}`,
    );
  }
  // Another route selects none of this run's request lines.
  for (const { panel, expr } of logsPanelQueries('/v1/agents')) {
    const found = await logs.query(`${expr} AND trace_id:=${logsqlString(traceId)}`);
    assert.equal(found.filter((r) => r._msg === 'request').length, 0, `${panel}: ${expr}`);
  }
}

// ------------------------------------------------------------------------- the pipeline's own metrics

async function expectStoreScrapedAndDelivered(f: LogsStack): Promise<void> {
  const prom = new PrometheusClient(f.stack.urls.prometheus as string);
  await waitUntil('up{job="victorialogs"} == 1', 15_000, async () => {
    const up = await prom.query('up{job="victorialogs"}');
    return up.length === 1 && Number(up[0].value[1]) === 1;
  });
  const collector = await scrape(f.collectorMetrics);
  assert.ok((total(collector, 'otelcol_exporter_sent_log_records', TO_VICTORIALOGS) ?? 0) > 0);
  const store = await scrape(`${f.stack.urls.victorialogs}/metrics`);
  assert.ok((total(store, 'vl_rows_ingested_total') ?? 0) > 0);
}

async function expectRuleLogMetricsServed(f: LogsStack): Promise<void> {
  const names = ruleLogRecordNames();
  assert.ok(names.length >= 5, names.join(', '));
  const served = new Set((await scrape(f.collectorMetrics)).map((x) => x.name));
  const probed = await probeLogExportFailures(f.stack, f.stateDir);
  for (const name of names) {
    // Counted only at a first failure: from the probe, same binary and telemetry settings.
    const where = /_(send|enqueue)_failed_/.test(name) ? probed : served;
    // The rules match the name with and without _total.
    assert.ok(where.has(name) || where.has(`${name}_total`), `${name} is not served`);
  }
}

// ------------------------------------------------------------------------- the store down

async function expectOutageLinesArrive(f: LogsStack): Promise<void> {
  const collectorLog = logOf(f.stack, 'otel-collector');
  const retriesBefore = count(collectorLog, RETRY_LOG);
  await f.stack.stopComponent('victorialogs');
  const prefix = `store-down-${randomUUID()}`;
  const ids = Array.from({ length: 5 }, (_, i) => `${prefix}-${i}`);
  for (const id of ids) {
    const res = await fetch(`${f.stack.urls.app}/v1/agents`, {
      headers: { 'x-api-key': f.apiKey, 'x-request-id': id },
      signal: AbortSignal.timeout(5_000),
    });
    assert.equal(res.status, 200, 'the app keeps serving while the store is down');
  }
  // The Collector tried, failed and queued them for retry.
  await waitUntil('a retry of the logs exporter in the Collector log', ARRIVAL_MS, async () =>
    count(collectorLog, RETRY_LOG) > retriesBefore ? true : undefined,
  );
  await f.stack.startComponent('victorialogs');
  const query = `request_id:${logsqlString(prefix)}*`;
  await waitUntil(`the ${ids.length} lines of the outage (${query})`, 60_000, async () => {
    const found = new Set((await f.logs.query(query)).map((r) => r.request_id));
    return ids.every((id) => found.has(id)) ? true : undefined;
  });
  await expectNoneLost(f);
}

async function expectNoneLost(f: LogsStack): Promise<void> {
  const collector = await scrape(f.collectorMetrics);
  for (const lost of ['send_failed', 'enqueue_failed']) {
    const name = `otelcol_exporter_${lost}_log_records`;
    assert.equal(total(collector, name, TO_VICTORIALOGS) ?? 0, 0, name);
  }
  const app = await scrape(`${f.stack.urls.management}/metrics`);
  assert.equal(total(app, 'telemetry_export_failures_total', { signal: 'logs' }) ?? 0, 0);
}

describe('whole stack, native: logs reach VictoriaLogs through the real Collector', function () {
  const f = logsStackFixture();

  it("a run's trace id from Jaeger finds its log lines in VictoriaLogs: the request, the run, each at its span", () =>
    expectRunLinesAtTheirSpans(f));

  it("Grafana's links and the overview's logs panel, run as LogsQL against the store, find the run's lines", async function () {
    if (!f.traced) this.skip();
    await expectGrafanaLinksFindRun(f, f.traced!.traceId, f.traced!.runId);
  });

  it('Prometheus scrapes VictoriaLogs, and the Collector reports the log records it delivered', () =>
    expectStoreScrapedAndDelivered(f));

  it('every logs-pipeline metric the alert rules name is on the Collector (the failure-only ones once provoked)', () =>
    expectRuleLogMetricsServed(f));

  it('lines written while VictoriaLogs is down arrive once it is back; none is counted lost', () =>
    expectOutageLinesArrive(f));
});
