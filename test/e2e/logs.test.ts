// The logs pipeline of the native stack (issue 18): the app's OTLP log records go through the
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
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { defaultBinDir, findBinary } from '../../scripts/lib/binaries.ts';
import { panelsOf, readDashboards } from '../../scripts/lib/dashboards/panel-queries.ts';
import { PrometheusClient } from '../../scripts/lib/clients.ts';
import { REPO_DIR } from '../../scripts/lib/endpoints.ts';
import { freePorts } from '../../scripts/lib/ports.ts';
import { startStack, type Stack } from '../../scripts/lib/stack/stack.ts';
import { Supervisor } from '../../scripts/lib/supervisor.ts';
import { waitUntil } from '../../scripts/lib/wait.ts';
import { logsqlString, VictoriaLogsClient, type LogRow } from '../lib/victorialogs.ts';
import { JaegerClient, SPAN_KIND } from '../lib/jaeger-client.ts';

// As the trace tests: 15 s scrapes become 1 s. Nothing here waits for an alert.
const TIME_SCALE = 1 / 15;
const SERVICE = process.env.OTEL_SERVICE_NAME || 'agent-service';
// The app exports spans every 5 s and log records every 1 s (OTel defaults), the Collector
// batches for up to 1 s more: 20 s leaves room for a loaded machine.
const ARRIVAL_MS = 20_000;
const RETRY_LOG = 'Will retry the request after interval';

/** The value of `name{labels…}` on a Prometheus text page, summed; 0 when absent. */
function sampleSum(text: string, name: string, label: string): number {
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
    .filter((line) => line.includes(label))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
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
  const file = path.join(REPO_DIR, 'grafana/provisioning/datasources/datasources.yml');
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

async function metricsPage(address: string | undefined): Promise<string> {
  assert.ok(address, 'no local address');
  const res = await fetch(`http://${address}/metrics`, { signal: AbortSignal.timeout(5_000) });
  return res.text();
}

/**
 * The rule metrics of the logs pipeline that the Collector creates only at a first failure
 * (exporterhelper counts send and enqueue failures only when they happen), from the stack's
 * own binary and telemetry settings (so the same names): a logs pipeline with one exporter to
 * a closed port without retries (fails at once) and one with a one-request queue waiting on
 * retries (refuses the third request). Returns the metric names it then serves.
 */
async function logFailureNames(s: Stack, dir: string): Promise<Set<string>> {
  const binary = s.binaries['otel-collector'];
  assert.ok(binary, 'the Collector binary');
  const rendered = YAML.parse(readFileSync(s.rendered.collector!.files[0]!, 'utf8')) as {
    service: {
      telemetry: { metrics: { readers: { pull: { exporter: { prometheus: object } } }[] } };
    };
  };
  const telemetry = rendered.service.telemetry;
  const [receiverPort, closedPort, metricsPort] = await freePorts(3);
  const prometheus = telemetry.metrics.readers[0]!.pull.exporter.prometheus;
  const closed = {
    endpoint: `http://127.0.0.1:${closedPort}`,
    sending_queue: { enabled: true, num_consumers: 1, queue_size: 1 },
  };
  const config = {
    receivers: { otlp: { protocols: { http: { endpoint: `127.0.0.1:${receiverPort}` } } } },
    exporters: {
      'otlp_http/fails': { ...closed, retry_on_failure: { enabled: false } },
      'otlp_http/full': { ...closed, retry_on_failure: { enabled: true, initial_interval: '30s' } },
    },
    service: {
      pipelines: {
        logs: { receivers: ['otlp'], exporters: ['otlp_http/fails', 'otlp_http/full'] },
      },
      telemetry: {
        ...telemetry,
        metrics: {
          ...telemetry.metrics,
          readers: [
            {
              pull: {
                exporter: { prometheus: { ...prometheus, host: '127.0.0.1', port: metricsPort } },
              },
            },
          ],
        },
      },
    },
  };
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'config.yaml'), YAML.stringify(config));
  const metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
  const supervisor = new Supervisor();
  try {
    await supervisor.start({
      name: 'probe-collector',
      command: binary.path,
      args: [`--config=${path.join(dir, 'config.yaml')}`],
      logFile: path.join(dir, 'otelcol.log'),
      ports: [receiverPort, metricsPort],
      ready: async () => (await fetch(metricsUrl, { signal: AbortSignal.timeout(2000) })).ok,
      readyTimeoutMs: 30_000,
    });
    const body = JSON.stringify({
      resourceLogs: [{ scopeLogs: [{ logRecords: [{ body: { stringValue: 'probe' } }] }] }],
    });
    return await waitUntil(
      'the failure counters of the logs exporters',
      20_000,
      async () => {
        await fetch(`http://127.0.0.1:${receiverPort}/v1/logs`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
          signal: AbortSignal.timeout(5_000),
        });
        const page = await (await fetch(metricsUrl)).text();
        const names = new Set(
          page.split('\n').map((l) => /^([a-zA-Z_:][\w:]*)/.exec(l)?.[1] ?? ''),
        );
        const both = ['send_failed', 'enqueue_failed'].every((k) =>
          [...names].some((n) => n.startsWith(`otelcol_exporter_${k}_log_records`)),
        );
        return both ? names : undefined;
      },
      200,
    );
  } finally {
    await supervisor.stopAll();
  }
}

/** The base names of the logs pipeline's Collector metrics the alert rules read. */
function ruleLogRecordNames(): string[] {
  const rules = readFileSync(path.join(REPO_DIR, 'prometheus/rules/alerts.yml'), 'utf8');
  return [...new Set(rules.match(/otelcol_[a-z_]+_log_records/g) ?? [])].sort();
}

describe('whole stack, native: logs reach VictoriaLogs through the real Collector', function () {
  let stack: Stack | undefined;
  let stateDir = '';
  let failed = false;
  let logs: VictoriaLogsClient;
  let jaeger: JaegerClient;
  let apiKey = '';
  /** The run of the first test, for the Grafana link test. */
  let traced: { traceId: string; runId: string; requestId: string } | undefined;

  before(async function () {
    const absent = (['otelcol', 'jaeger', 'victoria-logs'] as const).filter((p) => !findBinary(p));
    if (absent.length) {
      console.log(
        `\n    !!! SKIPPED: the log tests need the pinned ${absent.join(', ')} build: run \`make tools\`` +
          ` (scripts/tools/build-binaries.sh) to build them into ${defaultBinDir()}\n`,
      );
      this.skip();
    }
    stateDir = mkdtempSync(path.join(tmpdir(), 'agent-obs-logs-'));
    const started = Date.now();
    try {
      stack = await startStack({
        stateDir,
        ports: 'free',
        timeScale: TIME_SCALE,
        require: ['prometheus', 'otel-collector', 'jaeger', 'victorialogs'],
        adminToken: `e2e-${randomUUID()}`,
        log: (l) => console.log(`    ${l}`),
      });
    } catch (err) {
      failed = true;
      throw err;
    }
    console.log(`      stack up in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    logs = new VictoriaLogsClient(stack.urls.victorialogs as string);
    jaeger = new JaegerClient(stack.urls.jaeger as string);
    apiKey = stack.apiKeys.pro;
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') failed = true;
  });

  after(async function () {
    await stack?.stop();
    if (failed) console.log(`      logs kept in ${stateDir}/logs`);
    else if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  });

  it("a run's trace id from Jaeger finds its log lines in VictoriaLogs: the request, the run, each at its span", async function () {
    const requestId = `logs-e2e-${randomUUID()}`;
    const res = await fetch(`${stack!.urls.app}/v1/agents/analyst/runs`, {
      method: 'POST',
      headers: {
        'x-api-key': apiKey,
        'content-type': 'application/json',
        'x-request-id': requestId,
      },
      body: JSON.stringify({ input: `What is 17 * 3? (${requestId})`, model: 'sim-small' }),
      signal: AbortSignal.timeout(30_000),
    });
    const run = (await res.json()) as { id: string; trace_id: string };
    assert.ok(res.status === 201 || res.status >= 500, `run: ${res.status}`);

    // The trace as a person finds it: in Jaeger, by its id.
    const spans = await waitUntil('the run in Jaeger', ARRIVAL_MS, async () => {
      const found = await jaeger.trace(run.trace_id);
      return found?.some((s) => s.kind === SPAN_KIND.SERVER) ? found : undefined;
    });
    const server = spans.find((s) => s.kind === SPAN_KIND.SERVER)!;
    const agent = spans.find((s) => s.name === 'invoke_agent analyst');
    assert.ok(agent, `no invoke_agent span in ${spans.map((s) => s.name).join(', ')}`);

    const query = `trace_id:=${logsqlString(run.trace_id)}`;
    const rows = await waitUntil(
      `the run's lines in VictoriaLogs (${query})`,
      ARRIVAL_MS,
      async () => {
        const found = await logs.query(query);
        const has = (msg: string) => found.some((r) => r._msg === msg);
        return has('request') && has('agent run finished') ? found : undefined;
      },
    );
    const one = (msg: string): LogRow => rows.find((r) => r._msg === msg)!;
    assert.equal(one('request').span_id, server.spanId);
    assert.equal(one('agent run finished').span_id, agent.spanId);
    assert.equal(one('agent run finished').run_id, run.id);
    // Every line of the trace sits at one of its spans (LLM calls included, when they log).
    const spanIds = new Set(spans.map((s) => s.spanId));
    for (const row of rows) {
      assert.ok(spanIds.has(row.span_id), `${row._msg}: span ${row.span_id} is not in the trace`);
      assert.equal(row.request_id, requestId, `${row._msg}: request_id`);
      assert.equal(row['service.name'], SERVICE);
    }
    assert.equal(one('request').severity_text, 'info');
    // The stream is the service, chosen by the Collector: no instance id or pid in it.
    assert.equal(one('request')._stream, `{service.name="${SERVICE}"}`);
    traced = { traceId: run.trace_id, runId: run.id, requestId };
  });

  it("Grafana's links and the overview's logs panel, run as LogsQL against the store, find the run's lines", async function () {
    if (!traced) this.skip();
    const { traceId, runId } = traced!;
    // Jaeger → logs: the custom query of tracesToLogsV2, as Grafana interpolates it.
    const toLogs = provisionedDatasource('jaeger').jsonData?.tracesToLogsV2?.query ?? '';
    const rows = await logs.query(toLogs.replaceAll('${__trace.traceId}', traceId));
    assert.ok(
      rows.some((r) => r._msg === 'agent run finished' && r.run_id === runId),
      toLogs,
    );
    // Logs → Jaeger: the derived field reads this field; its value is the trace Jaeger has.
    const derived = provisionedDatasource('victorialogs').jsonData?.derivedFields ?? [];
    const field = derived.find((d) => d.datasourceUid === 'jaeger')?.matcherRegex ?? '';
    for (const row of rows) assert.equal(row[field], traceId, `derived field ${field}`);
    assert.ok(await jaeger.trace(traceId));
    // The overview's logs panel, route = All and route = the run's route. The whole-stack
    // test runs every Prometheus panel query; these are the only other ones, run here.
    const types = readDashboards().flatMap((d) =>
      panelsOf(d).flatMap((p) =>
        (p.targets ?? []).map((t) => (t.datasource ?? p.datasource)?.type),
      ),
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
  });

  it('Prometheus scrapes VictoriaLogs, and the Collector reports the log records it delivered', async function () {
    const prom = new PrometheusClient(stack!.urls.prometheus as string);
    await waitUntil('up{job="victorialogs"} == 1', 15_000, async () => {
      const up = await prom.query('up{job="victorialogs"}');
      return up.length === 1 && Number(up[0].value[1]) === 1;
    });
    const collector = await metricsPage(stack!.addresses['otel-collector:8888']?.[0]);
    const exporter = 'exporter="otlp_http/victorialogs"';
    assert.ok(sampleSum(collector, 'otelcol_exporter_sent_log_records', exporter) > 0);
    assert.ok(sampleSum(await logs.metrics(), 'vl_rows_ingested_total', '') > 0);
  });

  it('every logs-pipeline metric the alert rules name is on the Collector (the failure-only ones once provoked)', async function () {
    const names = ruleLogRecordNames();
    assert.ok(names.length >= 5, names.join(', '));
    const page = await metricsPage(stack!.addresses['otel-collector:8888']?.[0]);
    const served = new Set(page.split('\n').map((l) => /^([a-zA-Z_:][\w:]*)/.exec(l)?.[1] ?? ''));
    const probed = await logFailureNames(stack!, path.join(stateDir, 'probe-collector'));
    for (const name of names) {
      // Counted only at a first failure: from the probe, same binary and telemetry settings.
      const where = /_(send|enqueue)_failed_/.test(name) ? probed : served;
      // The rules match the name with and without _total.
      assert.ok(where.has(name) || where.has(`${name}_total`), `${name} is not served`);
    }
  });

  it('lines written while VictoriaLogs is down arrive once it is back; none is counted lost', async function () {
    const collectorLog = path.join(stack!.dirs.logs, 'otel-collector.log');
    const retriesBefore = readFileSync(collectorLog, 'utf8').split(RETRY_LOG).length;
    await stack!.stopComponent('victorialogs');
    const prefix = `store-down-${randomUUID()}`;
    const ids = Array.from({ length: 5 }, (_, i) => `${prefix}-${i}`);
    for (const id of ids) {
      const res = await fetch(`${stack!.urls.app}/v1/agents`, {
        headers: { 'x-api-key': apiKey, 'x-request-id': id },
        signal: AbortSignal.timeout(5_000),
      });
      assert.equal(res.status, 200, 'the app keeps serving while the store is down');
    }
    // The Collector tried, failed and queued them for retry.
    await waitUntil('a retry of the logs exporter in the Collector log', ARRIVAL_MS, async () =>
      readFileSync(collectorLog, 'utf8').split(RETRY_LOG).length > retriesBefore ? true : undefined,
    );
    await stack!.startComponent('victorialogs');
    const query = `request_id:${logsqlString(prefix)}*`;
    await waitUntil(`the ${ids.length} lines of the outage (${query})`, 60_000, async () => {
      const found = new Set((await logs.query(query)).map((r) => r.request_id));
      return ids.every((id) => found.has(id)) ? true : undefined;
    });
    const collector = await metricsPage(stack!.addresses['otel-collector:8888']?.[0]);
    const exporter = 'exporter="otlp_http/victorialogs"';
    assert.equal(sampleSum(collector, 'otelcol_exporter_send_failed_log_records', exporter), 0);
    assert.equal(sampleSum(collector, 'otelcol_exporter_enqueue_failed_log_records', exporter), 0);
    const app = await (await fetch(`${stack!.urls.app}/metrics`)).text();
    assert.equal(sampleSum(app, 'telemetry_export_failures_total', 'signal="logs"'), 0);
  });
});
