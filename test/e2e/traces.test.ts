// The trace pipeline of the native stack (docs/native.md, ADR 0001): the app, the Collector built from
// otel-collector/builder-config.yaml with the repo's config, Jaeger v2 with jaeger/config.yaml
// and Prometheus with prometheus/prometheus.yml, all rewritten for loopback ports by the
// harness, one instance shared by every test here:
// - Prometheus scrapes the Collector, its span metrics and Jaeger;
// - an agent run's trace reaches Jaeger whole: server root, agent, LLM, tool and database spans;
// - the exemplars Prometheus stores for the app's histograms name traces Jaeger returns;
// - span metrics count exactly the server spans the app's own request counter counts;
// - with Jaeger stopped the app keeps serving, the Collector queues and retries, and the traces
//   sent during the outage are in Jaeger once it is back, beside those of before (on disk);
// - every Collector metric the alert rules name is one the running Collector really serves.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import type { Catalog } from '../../scripts/lib/load/catalog.ts';
import { PrometheusClient } from '../../scripts/lib/clients.ts';
import { waitUntil } from '../../scripts/lib/wait.ts';
import type { Stack } from '../../scripts/lib/stack/stack.ts';
import {
  checkRunTrace,
  SERVICE,
  spansOfRun,
  successfulRun,
  type RunRecord,
} from '../lib/agent-runs.ts';
import { appCatalog } from '../lib/app-module.ts';
import {
  count,
  jaegerExporter,
  logOf,
  otlpSpan,
  postOtlp,
  probeEnqueueFailure,
  probeTailSampling,
} from '../lib/collector-probe.ts';
import { stackFixture, type StackFixture, type StackFixtureOptions } from '../lib/stack-fixture.ts';
import { collectorNameRefs, type NameRef } from '../lib/collector-rule-refs.ts';
import { JaegerClient, SPAN_KIND, type JaegerSpan } from '../lib/jaeger-client.ts';
import { exemplars, scrape, total, type Exemplar } from '../lib/prometheus-text.ts';
import { REPO_ROOT } from '../../scripts/lib/repo.ts';
import { speedup } from '../../scripts/lib/time-scale.ts';

// Mild: the 15 s scrape and evaluation intervals become 1 s, so a scrape follows every step
// within a second. Nothing here waits for an alert.
const TIME_SCALE = speedup(15);
// The app's batch span processor exports every 5 s (the OTel default, OTEL_BSP_SCHEDULE_DELAY)
// and the Collector's batch processor waits up to 1 s more: 6 s after a request ended its
// spans are in the Collector's export queue; 10 s leaves room for a loaded machine.
const EXPORT_DELAY_MS = 10_000;
const RETRY_LOG = 'Will retry the request after interval';

/** The stack every test here shares, the clients that read it, and what earlier tests left. */
interface TracesStack extends StackFixture {
  prom: PrometheusClient;
  jaeger: JaegerClient;
  /** The Collector's own telemetry, where the harness moved compose's otel-collector:8888. */
  collectorMetrics: string;
  /**
   * The agents and models of the app, from its catalog module: asking GET /v1/agents would be
   * a request to a route whose counts the span-metrics test compares.
   */
  catalog: Catalog;
  /** The runs of the trace test; the exemplar and outage tests read them too. */
  runs: RunRecord[];
  /** The trace of every run this file started, failed ones included. */
  runTraces: Set<string>;
}

/** The stack started before the suite and stopped after it; its logs kept when a test failed. */
function tracesStackFixture(): TracesStack {
  const options: StackFixtureOptions = {
    tests: 'the trace tests',
    programs: ['otelcol', 'jaeger'],
    require: ['prometheus', 'otel-collector', 'jaeger'],
    // Its GET /v1/agents every scrape would keep the span-metrics count of that route moving:
    // the tests here compare counters and spans at points where no request is in flight.
    skip: ['blackbox-exporter'],
    timeScale: TIME_SCALE,
    stateDirPrefix: 'agent-obs-traces-',
  };
  const t = {
    failed: false,
    runs: [],
    runTraces: new Set(),
    timings: [],
    catalog: appCatalog(),
  } as unknown as TracesStack;
  return stackFixture(t, options, ({ stack }) => {
    t.prom = new PrometheusClient(stack.urls.prometheus as string);
    t.jaeger = new JaegerClient(stack.urls.jaeger as string);
    t.collectorMetrics = `http://${stack.addresses['otel-collector:8888']?.[0]}/metrics`;
  });
}

/** One successful run of each agent the app lists, on its cheapest model. */
function runEveryAgent(t: TracesStack): Promise<RunRecord[]> {
  const target = { app: t.stack.urls.app, apiKey: t.stack.apiKeys.pro, model: t.catalog.models[0] };
  return Promise.all(t.catalog.agents.map((a) => successfulRun(target, a, t.runTraces)));
}

const seconds = (ms: number) => (ms / 1000).toFixed(1);

// ------------------------------------------------------------------------- scrapes, traces, exemplars

async function expectCollectorAndJaegerScraped({ prom }: TracesStack): Promise<void> {
  const jobs = ['otel-collector', 'spanmetrics', 'jaeger'];
  await waitUntil(`up == 1 for ${jobs.join(', ')}`, 20_000, async () => {
    const series = await prom.query(`up{job=~"${jobs.join('|')}"}`);
    const up = Object.fromEntries(series.map((s) => [s.metric.job, s.value[1]]));
    if (jobs.some((j) => up[j] !== '1')) throw new Error(`up: ${JSON.stringify(up)}`);
    return true;
  });
}

async function expectRunTracesInJaeger(t: TracesStack): Promise<void> {
  const started = Date.now();
  t.runs.push(...(await runEveryAgent(t)));
  for (const run of t.runs) {
    assert.match(run.trace_id, /^[0-9a-f]{32}$/, `run ${run.id} names its trace`);
    const spans = await waitUntil(
      `the trace of the ${run.agent} run in Jaeger`,
      30_000,
      async () => {
        const got = await t.jaeger.trace(run.trace_id);
        if ((got?.length ?? 0) < spansOfRun(run))
          throw new Error(`${got?.length ?? 0} of ${spansOfRun(run)} spans so far`);
        return got;
      },
    );
    checkRunTrace(run, spans);
  }
  t.timings.push(
    `${t.runs.length} runs' traces complete in Jaeger ${seconds(Date.now() - started)} s after they were started`,
  );
}

/** The exemplars of the run and request histograms, and the span each must name. */
const HISTOGRAM_EXEMPLARS = [
  {
    query: 'agent_run_duration_seconds_bucket{job="app"}',
    span: (e: Exemplar) => ({ name: `invoke_agent ${e.series.agent}`, kind: SPAN_KIND.INTERNAL }),
  },
  {
    query: 'http_request_duration_seconds_bucket{job="app", route="/v1/agents/:agent/runs"}',
    span: () => ({ name: 'POST /v1/agents/:agent/runs', kind: SPAN_KIND.SERVER }),
  },
];

async function expectExemplarsNameTraces(t: TracesStack): Promise<void> {
  assert.ok(t.runs.length, 'the runs of the trace test');
  for (const { query, span } of HISTOGRAM_EXEMPLARS) {
    // The next scrape (1 s) brings them; only this file's runs made such observations.
    const found = await waitUntil(`exemplars of ${query}`, 15_000, async () => {
      const ex = await exemplars(t.stack.urls.prometheus as string, query, Date.now() - 600_000);
      return ex.length > 0 && ex;
    });
    for (const e of found) await checkExemplar(t, query, e, span(e));
    console.log(`      ${query}: ${found.length} exemplars, every one a trace in Jaeger`);
  }
}

/** An exemplar names a trace of this file's runs that Jaeger returns, at the span it measured. */
async function checkExemplar(
  { jaeger, runTraces }: TracesStack,
  query: string,
  e: Exemplar,
  span: { name: string; kind: number },
): Promise<void> {
  assert.ok(
    runTraces.has(e.traceId),
    `exemplar of ${query} names trace ${e.traceId}, not one of the runs`,
  );
  const spans = await jaeger.trace(e.traceId);
  assert.ok(spans, `Jaeger returns trace ${e.traceId} named by an exemplar of ${query}`);
  const measured = spans.find((x) => x.spanId === e.spanId);
  assert.ok(measured, `trace ${e.traceId} has the exemplar's span ${e.spanId}`);
  assert.deepEqual(
    { name: measured.name, kind: measured.kind },
    span,
    `the span an exemplar of ${query} names`,
  );
  // Grafana's exemplar link opens the trace through the older API: it has it whole too.
  assert.equal(await jaeger.legacySpanCount(e.traceId), spans.length, `/api/traces/${e.traceId}`);
}

// ------------------------------------------------------------------------- span metrics

/** Requests to one route: its `route` label, the name of its server span, how many, and how. */
interface RouteLoad {
  route: string;
  span: string;
  n: number;
  status: number;
  path: (i: number) => string;
}

interface RouteCount {
  route: string;
  counter: number;
  spans: number;
}

/**
 * Routes nothing else in this file calls, each with the span name the app gives its server
 * span: `METHOD route`, or the bare method when no route matched.
 */
const routeLoad = (runs: RunRecord[]): RouteLoad[] => [
  { route: '/v1/agents', span: 'GET /v1/agents', n: 12, status: 200, path: () => '/v1/agents' },
  {
    route: '/v1/runs/:id',
    span: 'GET /v1/runs/:id',
    n: 9,
    status: 200,
    path: (i: number) => `/v1/runs/${runs[i % runs.length].id}`,
  },
  { route: 'unmatched', span: 'GET', n: 5, status: 404, path: (i: number) => `/no/such/path/${i}` },
];

/** http_requests_total and the server spans of span metrics, per route of `load`. */
async function readCounts(prom: PrometheusClient, load: RouteLoad[]): Promise<RouteCount[]> {
  const counterQuery = `sum by (route) (http_requests_total{job="app", route=~"${load.map((l) => l.route).join('|')}"})`;
  const spanQuery =
    `sum by (span_name) (traces_span_metrics_calls_total{job="spanmetrics", service_name="${SERVICE}",` +
    ` span_kind="SPAN_KIND_SERVER", span_name=~"${load.map((l) => l.span).join('|')}"})`;
  const [counters, spans] = await Promise.all([prom.query(counterQuery), prom.query(spanQuery)]);
  const value = (series: typeof counters, label: string, v: string) =>
    Number(series.find((x) => x.metric[label] === v)?.value[1] ?? 0);
  return load.map((l) => ({
    route: l.route,
    counter: value(counters, 'route', l.route),
    spans: value(spans, 'span_name', l.span),
  }));
}

/** Every request of `load`, four at a time, each answered with its expected status. */
async function sendLoad(s: Stack, load: RouteLoad[]): Promise<void> {
  const requests = load.flatMap((l) => Array.from({ length: l.n }, (_, i) => ({ l, i })));
  for (let i = 0; i < requests.length; i += 4) {
    await Promise.all(
      requests.slice(i, i + 4).map(async ({ l, i: k }) => {
        const res = await fetch(`${s.urls.app}${l.path(k)}`, {
          headers: { 'x-api-key': s.apiKeys.pro },
          signal: AbortSignal.timeout(10_000),
        });
        await res.arrayBuffer();
        assert.equal(res.status, l.status, `GET ${l.path(k)}`);
      }),
    );
  }
}

/**
 * Waits until the counter (next scrape) and the span metrics (app export ≤ 5 s, Collector
 * batch 1 s, span metrics flushed every 15 s, a new series first flushed as 0, then the
 * scrape) have both counted the load; returns the deltas and when each side caught up.
 */
async function awaitCounted(prom: PrometheusClient, load: RouteLoad[], before: RouteCount[]) {
  let counterAt = 0;
  let spansAt = 0;
  const deltas = await waitUntil(
    'span metrics and counters to count the load',
    75_000,
    async () => {
      const now = await readCounts(prom, load);
      const delta = now.map((x, i) => ({
        route: x.route,
        counter: x.counter - before[i].counter,
        spans: x.spans - before[i].spans,
        n: load[i].n,
      }));
      if (!counterAt && delta.every((d) => d.counter >= d.n)) counterAt = Date.now();
      if (!spansAt && delta.every((d) => d.spans >= d.n)) spansAt = Date.now();
      if (!counterAt || !spansAt) throw new Error(`deltas so far: ${JSON.stringify(delta)}`);
      return delta;
    },
    1000,
  );
  return { deltas, counterAt, spansAt };
}

async function expectSpanMetricsMatchCounters(t: TracesStack): Promise<void> {
  assert.ok(t.runs.length, 'the runs of the trace test');
  const load = routeLoad(t.runs);
  // First point in time: before any request to these routes, so none is in flight and both
  // sides are settled (the counter starts at 0, the span series does not exist yet).
  const before = await readCounts(t.prom, load);
  for (const b of before)
    assert.equal(b.spans, b.counter, `${b.route} before the load: nothing sent yet, both equal`);

  const sentAt = Date.now();
  await sendLoad(t.stack, load);
  const doneAt = Date.now();
  // Second point: every response has arrived, so again nothing is in flight. The tolerance is
  // zero: with no request in flight at either point, any difference is a span lost or counted
  // twice.
  const { deltas, counterAt, spansAt } = await awaitCounted(t.prom, load, before);
  for (const d of deltas) {
    assert.equal(
      d.counter,
      d.n,
      `http_requests_total{route="${d.route}"} counted the ${d.n} requests`,
    );
    assert.equal(
      d.spans,
      d.counter,
      `server spans of ${d.route} in span metrics vs http_requests_total`,
    );
  }
  t.timings.push(
    `counter caught up ${seconds(counterAt - doneAt)} s and span metrics ` +
      `${seconds(spansAt - doneAt)} s after the load`,
  );
  await expectSpanMetricExemplars(t, sentAt);
}

/** The span metrics' own exemplars (Grafana links their latency points) name traces too. */
async function expectSpanMetricExemplars({ stack, jaeger }: TracesStack, sinceMs: number) {
  const query = `traces_span_metrics_duration_milliseconds_bucket{job="spanmetrics", span_name="GET /v1/agents"}`;
  const found = await waitUntil(`exemplars of ${query}`, 15_000, async () => {
    const ex = await exemplars(stack.urls.prometheus as string, query, sinceMs - 1000);
    return ex.length > 0 && ex;
  });
  for (const e of found) {
    const spans = await jaeger.trace(e.traceId);
    const measured = spans?.find((x) => x.spanId === e.spanId);
    assert.ok(measured, `span-metric exemplar ${e.traceId}/${e.spanId} is a span in Jaeger`);
    assert.equal(measured.name, 'GET /v1/agents');
  }
}

// ------------------------------------------------------------------------- Jaeger outage

/** The Collector's exporter to Jaeger, and its counters when the outage began. */
interface ExporterBaseline {
  on: { exporter: string };
  log: string;
  sent0: number;
  failed0: number;
  accepted0: number;
  retries0: number;
}

async function exporterBaseline(t: TracesStack): Promise<ExporterBaseline> {
  const on = { exporter: jaegerExporter(t.stack) };
  const log = logOf(t.stack, 'otel-collector');
  const c0 = await scrape(t.collectorMetrics);
  return {
    on,
    log,
    sent0: total(c0, 'otelcol_exporter_sent_spans', on) ?? 0,
    failed0: total(c0, 'otelcol_exporter_send_failed_spans', on) ?? 0,
    accepted0: total(c0, 'otelcol_receiver_accepted_spans') ?? 0,
    retries0: count(log, RETRY_LOG),
  };
}

/** The outage's spans reach the Collector and wait there: accepted, queued, retried, not sent. */
async function awaitHeld(t: TracesStack, base: ExporterBaseline, expected: number, ranAt: number) {
  const { on } = base;
  return waitUntil("the Collector to hold the outage's spans", 40_000, async () => {
    const c = await scrape(t.collectorMetrics);
    const state = {
      accepted: (total(c, 'otelcol_receiver_accepted_spans') ?? 0) - base.accepted0,
      queued: total(c, 'otelcol_exporter_queue_size', on) ?? 0,
      inFlight: total(c, 'otelcol_exporter_in_flight_requests', on) ?? 0,
      retries: count(base.log, RETRY_LOG) - base.retries0,
      sent: (total(c, 'otelcol_exporter_sent_spans', on) ?? 0) - base.sent0,
      failed: (total(c, 'otelcol_exporter_send_failed_spans', on) ?? 0) - base.failed0,
    };
    const ready =
      Date.now() - ranAt >= EXPORT_DELAY_MS &&
      state.accepted >= expected &&
      state.queued > 0 &&
      state.retries > 0;
    if (!ready) throw new Error(JSON.stringify(state));
    return state;
  });
}

/** Jaeger back: the outage's traces arrive whole, out of the Collector's queue. */
async function awaitOutageTraces({ jaeger }: TracesStack, outage: RunRecord[]): Promise<void> {
  await waitUntil(
    "the outage's traces in Jaeger",
    90_000,
    async () => {
      for (const run of outage) {
        const got = (await jaeger.trace(run.trace_id))?.length ?? 0;
        if (got < spansOfRun(run))
          throw new Error(`${run.agent} run: ${got} of ${spansOfRun(run)} spans`);
      }
      return true;
    },
    1000,
  );
  for (const run of outage) checkRunTrace(run, (await jaeger.trace(run.trace_id)) as JaegerSpan[]);
}

/** The queue drains and nothing was lost on the way. */
async function expectDrained(t: TracesStack, base: ExporterBaseline, expected: number) {
  const { on } = base;
  const drained = await waitUntil("the Collector's queue to drain", 30_000, async () => {
    const c = await scrape(t.collectorMetrics);
    const state = {
      queued: total(c, 'otelcol_exporter_queue_size', on) ?? 0,
      sent: (total(c, 'otelcol_exporter_sent_spans', on) ?? 0) - base.sent0,
      failed: (total(c, 'otelcol_exporter_send_failed_spans', on) ?? 0) - base.failed0,
      enqueueFailed: total(c, 'otelcol_exporter_enqueue_failed_spans', on) ?? 0,
    };
    if (state.queued > 0 || state.sent < expected) throw new Error(JSON.stringify(state));
    return state;
  });
  assert.equal(drained.failed, 0, 'no span failed for good');
  assert.equal(drained.enqueueFailed, 0, 'no span was refused by a full queue');
}

async function expectOutageSurvived(t: TracesStack): Promise<void> {
  const [earlier] = t.runs;
  assert.ok(earlier, 'the runs of the trace test');
  const appFailures = async () =>
    total(await scrape(`${t.stack.urls.management}/metrics`), 'telemetry_export_failures_total', {
      signal: 'traces',
    });
  assert.ok(await t.jaeger.trace(earlier.trace_id), 'a trace from before the outage is in Jaeger');
  const appFailures0 = await appFailures();
  assert.notEqual(appFailures0, undefined, 'the app counts its failed span exports');

  await t.stack.stopComponent('jaeger');
  const stoppedAt = Date.now();
  await assert.rejects(t.jaeger.trace(earlier.trace_id), /no answer/, 'Jaeger is down');
  // Read after Jaeger has exited: from here on nothing can be sent.
  const base = await exporterBaseline(t);
  // The app serves runs as usual: its exporter talks to the Collector, not to Jaeger.
  const outage = await runEveryAgent(t);
  const expected = outage.reduce((n, r) => n + spansOfRun(r), 0);
  const held = await awaitHeld(t, base, expected, Date.now());
  assert.equal(held.sent, 0, 'nothing is sent while Jaeger is down');
  assert.equal(held.failed, 0, 'no span is given up: retry_on_failure keeps them');
  assert.equal(await appFailures(), appFailures0, "the app's own span exports never failed");
  console.log(
    `      Jaeger down ${seconds(Date.now() - stoppedAt)} s: Collector accepted ` +
      `${held.accepted} spans, queue ${held.queued}, ${held.inFlight} export(s) in flight, ` +
      `${held.retries} retries logged, 0 sent, 0 failed`,
  );

  await t.stack.startComponent('jaeger');
  const restartedAt = Date.now();
  // Its Badger store is on disk: what it held before the restart is still there.
  const kept = await t.jaeger.trace(earlier.trace_id);
  assert.ok(kept && kept.length >= spansOfRun(earlier), 'the trace of before the restart is kept');
  await awaitOutageTraces(t, outage);
  const arrivedAt = Date.now();
  await expectDrained(t, base, expected);
  t.timings.push(
    `outage traces in Jaeger ${seconds(arrivedAt - restartedAt)} s after its restart ` +
      `(down ${seconds(restartedAt - stoppedAt)} s)`,
  );
}

// ------------------------------------------------------------------------- the rules' Collector metrics

const namesAt = async (url: string) => new Set((await scrape(url)).map((x) => x.name));
const served = (ref: NameRef, names: Set<string>) => [...names].some(ref.matches);

/**
 * A span bigger than Jaeger's gRPC limit (max_recv_msg_size_mib in jaeger/config.yaml,
 * grpc-go's 4 MiB when unset): Jaeger answers ResourceExhausted without retry information,
 * which the exporter treats as permanent, so the batch fails at once instead of after 300 s of
 * retries. The real failure a too-large batch meets in production. (The Collector's own HTTP
 * receiver takes bodies up to 20 MiB.) Returns the names the Collector serves then.
 */
async function provokeSendFailure(t: TracesStack, sendFailed: NameRef[]): Promise<Set<string>> {
  const jaegerConfig = YAML.parse(readFileSync(path.join(REPO_ROOT, 'jaeger/config.yaml'), 'utf8'));
  const limitMiB = Number(
    jaegerConfig.receivers?.otlp?.protocols?.grpc?.max_recv_msg_size_mib ?? 4,
  );
  const blob = 'x'.repeat((limitMiB + 1) * 1024 * 1024);
  const res = await postOtlp(
    t.stack.urls.otlpHttp as string,
    otlpSpan('e2e-oversize', 'oversize', [{ key: 'blob', value: { stringValue: blob } }]),
  );
  assert.equal(res.status, 200, 'the Collector accepts the span');
  return waitUntil('otelcol_exporter_send_failed_spans on the Collector', 20_000, async () => {
    const now = await namesAt(t.collectorMetrics);
    return sendFailed.every((r) => served(r, now)) && now;
  });
}

/**
 * Refused enqueues need the 1000-request queue full, which would take about a million spans
 * here. The same build with the repo's telemetry settings (so the same names) and a
 * one-request queue in front of a closed port refuses the second request already.
 */
async function expectRefusedEnqueueOnProbe(t: TracesStack, refs: NameRef[]): Promise<void> {
  const probeNames = await probeEnqueueFailure(t.stack, t.stateDir);
  for (const r of refs)
    assert.ok(
      served(r, probeNames),
      `${r.matcher} (${r.rule}) on the Collector after a full queue`,
    );
}

/** The rules read Prometheus, not /metrics: the same names are stored for the Collector's job. */
async function expectStoredForTheCollectorJob(prom: PrometheusClient, refs: NameRef[]) {
  const matchers = [...new Set(refs.map((r) => r.matcher))];
  await waitUntil('the rule metrics in Prometheus for job otel-collector', 15_000, async () => {
    const missing: string[] = [];
    for (const m of matchers)
      if (!(await prom.query(`count({${m}, job="otel-collector"})`)).length) missing.push(m);
    if (missing.length) throw new Error(`no series for ${missing.join(', ')}`);
    return true;
  });
}

/** Jaeger v2 is a Collector too, and the receiver rules are written for both. */
async function expectJaegerServesReceiverMetrics(s: Stack, refs: NameRef[]): Promise<void> {
  const jaegerNames = await namesAt(`http://${s.addresses['jaeger:8888']?.[0]}/metrics`);
  const receiverRefs = refs.filter((r) => r.matcher.includes('otelcol_receiver_'));
  assert.deepEqual(
    receiverRefs.filter((r) => !served(r, jaegerNames)).map((r) => r.matcher),
    [],
    "receiver metrics of the rules missing from Jaeger's /metrics",
  );
}

async function expectRuleMetricsServed(t: TracesStack): Promise<void> {
  // The trace pipeline's names; the logs pipeline's (*_log_records) are test/e2e/logs.test.ts's.
  const refs = collectorNameRefs().filter((r) => !r.matcher.includes('_log_records'));
  assert.ok(refs.length > 0, 'the rules watch the Collector');
  // The failures below need Jaeger up (the outage test restarts it; this keeps the test whole).
  if (t.stack.processes().find((m) => m.name === 'jaeger')?.exit)
    await t.stack.startComponent('jaeger');
  let names = await namesAt(t.collectorMetrics);
  const absent = () => refs.filter((r) => !served(r, names));
  // Counters the Collector creates only when they first count something (exporterhelper adds
  // to them only on failure), and how to make that happen for real.
  const sendFailed = refs.filter((r) => r.matches('otelcol_exporter_send_failed_spans'));
  const enqueueFailed = refs.filter((r) => r.matches('otelcol_exporter_enqueue_failed_spans'));
  // The tail sampler's, which exist only where tail sampling is on (not on this stack).
  const tailSampling = refs.filter((r) => r.matcher.includes('otelcol_processor_tail_sampling_'));
  const provoked = [...sendFailed, ...enqueueFailed, ...tailSampling];
  const other = absent().filter((r) => !provoked.includes(r));
  assert.deepEqual(
    other.map((r) => `${r.matcher} in ${r.rule}`),
    [],
    `rule metrics missing from the Collector's /metrics (${[...names].filter((n) => n.startsWith('otelcol_')).join(', ')})`,
  );
  if (absent().some((r) => sendFailed.includes(r))) names = await provokeSendFailure(t, sendFailed);
  const probeChecked: string[] = [];
  if (absent().some((r) => enqueueFailed.includes(r))) {
    await expectRefusedEnqueueOnProbe(t, enqueueFailed);
    probeChecked.push(...enqueueFailed.map((r) => r.matcher));
  }
  if (absent().some((r) => tailSampling.includes(r))) {
    const sampler = await probeTailSampling(t.stack, t.stateDir);
    for (const r of tailSampling)
      assert.ok(served(r, sampler), `${r.matcher} (${r.rule}) on a Collector with tail sampling`);
    probeChecked.push(...tailSampling.map((r) => r.matcher));
  }
  const onStack = refs.filter((r) => !probeChecked.includes(r.matcher));
  assert.deepEqual(
    onStack.filter((r) => !served(r, names)).map((r) => `${r.matcher} in ${r.rule}`),
    [],
    'rule metrics missing from the Collector after the failures',
  );
  await expectStoredForTheCollectorJob(t.prom, onStack);
  await expectJaegerServesReceiverMetrics(t.stack, refs);
  console.log(
    `      ${new Set(refs.map((r) => r.matcher)).size} Collector metric matchers in the rules, all served` +
      (probeChecked.length
        ? ` (${[...new Set(probeChecked)].join(', ')} on a probe Collector)`
        : ''),
  );
}

// ------------------------------------------------------------------------- the tests

describe('whole stack, native: traces reach Jaeger through the real Collector', function () {
  const t = tracesStackFixture();

  it('Prometheus scrapes the Collector, its span metrics and Jaeger: up is 1 for each', () =>
    expectCollectorAndJaegerScraped(t));

  it("an agent run's trace is in Jaeger: server root span, invoke_agent, chat spans with gen_ai.*, execute_tool and the database insert", () =>
    expectRunTracesInJaeger(t));

  it('the exemplars Prometheus returns for the run and request histograms name traces Jaeger returns, at the span they measured', () =>
    expectExemplarsNameTraces(t));

  it("span metrics in Prometheus count exactly the server spans the app's http_requests_total counts, route by route", () =>
    expectSpanMetricsMatchCounters(t));

  it('with Jaeger stopped the app keeps serving, the Collector queues and retries, and the traces of the outage reach Jaeger once it is back', () =>
    expectOutageSurvived(t));

  it('every Collector metric the alert rules name is on the running Collector (those that appear at the first failure, once provoked)', () =>
    expectRuleMetricsServed(t));
});
