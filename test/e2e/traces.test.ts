// The trace pipeline of the native stack (SPEC 8, issue 5): the app, the Collector built from
// otel-collector/builder-config.yaml with the repo's config, Jaeger v2 with jaeger/config.yaml
// and Prometheus with prometheus/prometheus.yml, all rewritten for loopback ports by the
// harness, one instance shared by every test here:
// - Prometheus scrapes the Collector, its span metrics and Jaeger;
// - an agent run's trace reaches Jaeger whole: server root, agent, LLM, tool and database spans;
// - the exemplars Prometheus stores for the app's histograms name traces Jaeger returns;
// - span metrics count exactly the server spans the app's own request counter counts;
// - with Jaeger stopped the app keeps serving, the Collector queues and retries, and the traces
//   sent during the outage are in Jaeger once it is back;
// - every Collector metric the alert rules name is one the running Collector really serves.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parser } from '@prometheus-io/lezer-promql';
import YAML from 'yaml';
import { defaultBinDir, describeBinary, findBinary } from '../../scripts/lib/binaries.ts';
import { PrometheusClient, waitUntil } from '../../scripts/lib/scenarios/clients.ts';
import { REPO_DIR } from '../../scripts/lib/stack/endpoints.ts';
import { freePorts } from '../../scripts/lib/stack/ports.ts';
import { startStack, type Stack } from '../../scripts/lib/stack/stack.ts';
import { Supervisor } from '../../scripts/lib/stack/supervisor.ts';
import { JaegerClient, SPAN_KIND, type JaegerSpan } from './jaeger-client.ts';

// Mild: the 15 s scrape and evaluation intervals become 1 s, so a scrape follows every step
// within a second. Nothing here waits for an alert.
const TIME_SCALE = 1 / 15;
// What the app calls itself (app/src/config.ts default); the harness passes the environment on.
const SERVICE = process.env.OTEL_SERVICE_NAME || 'agent-service';
const AGENTS = ['research', 'support', 'analyst'];
// The app's batch span processor exports every 5 s (the OTel default, OTEL_BSP_SCHEDULE_DELAY)
// and the Collector's batch processor waits up to 1 s more: 6 s after a request ended its
// spans are in the Collector's export queue; 10 s leaves room for a loaded machine.
const EXPORT_DELAY_MS = 10_000;
const RETRY_LOG = 'Will retry the request after interval';

interface LlmStep {
  type: 'llm';
  model: string;
  input_tokens: number;
  output_tokens: number;
}
interface ToolStep {
  type: 'tool';
  tool: string;
}
interface RunRecord {
  id: string;
  agent: string;
  model: string;
  trace_id: string;
  steps: (LlmStep | ToolStep)[];
  usage: { input_tokens: number; output_tokens: number };
}

/** Spans one successful run makes: the request, the run, one per step, the stored row. */
const spansOfRun = (run: RunRecord) => 3 + run.steps.length;

/**
 * One agent run that succeeded. The simulated provider fails 0.1 % of LLM calls
 * (LLM_ERROR_RATE); such a run is a real outcome but not the one these tests look at, so
 * another is started instead, at most twice. Every run's trace id, failed or not, goes into
 * `traces`: a failed run leaves exemplars too.
 */
async function successfulRun(
  { app: appUrl, apiKey }: { app: string; apiKey: string },
  agent: string,
  traces: Set<string>,
): Promise<RunRecord> {
  for (let attempt = 1; ; attempt++) {
    const res = await fetch(`${appUrl}/v1/agents/${agent}/runs`, {
      method: 'POST',
      headers: { 'x-api-key': apiKey, 'content-type': 'application/json' },
      // Unique, so the response cache never answers it (a cached run calls no LLM); the
      // expression sends the analyst to its calculator, the others search.
      body: JSON.stringify({
        input: `What is 17 * 3? (trace test ${randomUUID()})`,
        model: 'sim-small',
      }),
      signal: AbortSignal.timeout(30_000),
    });
    const body = (await res.json()) as RunRecord & { type?: string };
    if (body.trace_id) traces.add(body.trace_id);
    if (res.status === 201) return body;
    if (res.status < 500 || attempt === 3)
      assert.fail(`run of ${agent}: ${res.status} ${JSON.stringify(body)}`);
    console.log(`      a run of ${agent} failed (${res.status} ${body.type}); starting another`);
  }
}

// ------------------------------------------------------------------------- Prometheus text

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const SAMPLE_RE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL_RE = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** The samples of a /metrics page in the Prometheus text format (`#` lines never match). */
async function scrape(url: string): Promise<Sample[]> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  assert.ok(res.ok, `GET ${url}: ${res.status}`);
  return (await res.text()).split('\n').flatMap((line) => {
    const m = SAMPLE_RE.exec(line);
    if (!m) return [];
    const labels = Object.fromEntries(
      [...(m[2] ?? '').matchAll(LABEL_RE)].map((l) => [l[1], l[2]]),
    );
    return [{ name: m[1], labels, value: Number(m[3]) }];
  });
}

/** Sum of the samples of `name` whose labels include `match`; undefined when there is none. */
function total(samples: Sample[], name: string, match: Record<string, string> = {}) {
  const found = samples.filter(
    (s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v),
  );
  return found.length ? found.reduce((n, s) => n + s.value, 0) : undefined;
}

interface Exemplar {
  series: Record<string, string>;
  traceId: string;
  spanId: string;
}

async function exemplars(promUrl: string, query: string, sinceMs: number): Promise<Exemplar[]> {
  const params = new URLSearchParams({
    query,
    start: String(sinceMs / 1000),
    end: String(Date.now() / 1000 + 60),
  });
  const res = await fetch(`${promUrl}/api/v1/query_exemplars?${params}`, {
    signal: AbortSignal.timeout(5_000),
  });
  if (!res.ok) assert.fail(`query_exemplars ${query}: ${res.status} ${await res.text()}`);
  const body = (await res.json()) as {
    data: {
      seriesLabels: Record<string, string>;
      exemplars: { labels: Record<string, string> }[];
    }[];
  };
  return body.data.flatMap((s) =>
    s.exemplars.map((e) => ({
      series: s.seriesLabels,
      traceId: e.labels.trace_id,
      spanId: e.labels.span_id,
    })),
  );
}

// ------------------------------------------------------------------------- rules

interface NameRef {
  rule: string;
  /** The matcher as PromQL, e.g. `__name__=~"otelcol_receiver_refused_spans(_total)?"`. */
  matcher: string;
  matches: (name: string) => boolean;
}

const unquote = (literal: string) => JSON.parse(literal.replace(/^'|'$/g, '"')) as string;

/** Every selector of the rules in prometheus/rules/ whose metric name is a Collector's (`otelcol_…`). */
function collectorNameRefs(): NameRef[] {
  const dir = path.join(REPO_DIR, 'prometheus/rules');
  const refs: NameRef[] = [];
  for (const file of readdirSync(dir).filter((f) => /\.ya?ml$/.test(f))) {
    const doc = YAML.parse(readFileSync(path.join(dir, file), 'utf8')) as {
      groups?: { rules?: { alert?: string; record?: string; expr: string }[] }[];
    };
    for (const rule of (doc.groups ?? []).flatMap((g) => g.rules ?? [])) {
      const expr = String(rule.expr);
      parser.parse(expr).iterate({
        enter(n) {
          if (n.name !== 'VectorSelector') return;
          const add = (matcher: string, matches: (name: string) => boolean, source: string) => {
            if (source.startsWith('otelcol_'))
              refs.push({ rule: `${rule.alert ?? rule.record} (${file})`, matcher, matches });
          };
          const identifier = n.node.getChild('Identifier');
          if (identifier) {
            const name = expr.slice(identifier.from, identifier.to);
            add(`__name__="${name}"`, (x) => x === name, name);
          }
          const matchers = n.node.getChild('LabelMatchers');
          for (let m = matchers?.firstChild; m; m = m.nextSibling) {
            const label = m.getChild('LabelName');
            const op = m.getChild('MatchOp');
            const value = m.getChild('StringLiteral');
            if (!label || !op || !value || expr.slice(label.from, label.to) !== '__name__')
              continue;
            const v = unquote(expr.slice(value.from, value.to));
            const opText = expr.slice(op.from, op.to);
            const matcher = `__name__${opText}${JSON.stringify(v)}`;
            if (opText === '=') add(matcher, (x) => x === v, v);
            else if (opText === '=~') {
              const re = new RegExp(`^(?:${v})$`);
              add(matcher, (x) => re.test(x), v);
            }
          }
        },
      });
    }
  }
  return refs;
}

// ------------------------------------------------------------------------- the Collector

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The Collector's merge of layered config files: maps key by key, anything else replaced. */
function merge(a: unknown, b: unknown): unknown {
  if (!isObj(a) || !isObj(b)) return b === undefined ? a : b;
  const out: Obj = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = merge(a[k], v);
  return out;
}

function collectorConfig(s: Stack): Obj {
  const files = s.rendered.collector?.files ?? [];
  return files.reduce<Obj>(
    (acc, f) => merge(acc, YAML.parse(readFileSync(f, 'utf8')) ?? {}) as Obj,
    {},
  );
}

/** The exporter that sends to Jaeger's OTLP port, as the rendered config names it. */
function jaegerExporter(s: Stack): string {
  const jaegerOtlp = s.addresses['jaeger:4317']?.[0];
  const exporters = collectorConfig(s).exporters;
  const found = Object.entries(isObj(exporters) ? exporters : {}).find(
    ([, cfg]) => isObj(cfg) && cfg.endpoint === jaegerOtlp,
  );
  assert.ok(found, `no Collector exporter sends to Jaeger (${jaegerOtlp})`);
  return found[0];
}

function logOf(s: Stack, name: string): string {
  const p = s.processes().find((m) => m.name === name);
  assert.ok(p, `${name} was not started`);
  return p.logFile;
}

const count = (file: string, text: string) => readFileSync(file, 'utf8').split(text).length - 1;

/** One OTLP/JSON request with one span; `attributes` as OTLP key-values. */
function otlpSpan(service: string, name: string, attributes: Obj[] = []): string {
  const now = String(BigInt(Date.now()) * 1_000_000n);
  return JSON.stringify({
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
        scopeSpans: [
          {
            spans: [
              {
                traceId: randomUUID().replaceAll('-', ''),
                spanId: randomUUID().replaceAll('-', '').slice(0, 16),
                name,
                kind: SPAN_KIND.INTERNAL,
                startTimeUnixNano: now,
                endTimeUnixNano: now,
                attributes,
              },
            ],
          },
        ],
      },
    ],
  });
}

const postOtlp = (url: string, body: string) =>
  fetch(`${url}/v1/traces`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
    signal: AbortSignal.timeout(10_000),
  });

// ------------------------------------------------------------------------- the tests

describe('whole stack, native: traces reach Jaeger through the real Collector', function () {
  let stack: Stack | undefined;
  let stateDir = '';
  let failed = false;
  let prom: PrometheusClient;
  let jaeger: JaegerClient;
  let collectorMetrics = '';
  /** The runs of the trace test; the exemplar and outage tests read them too. */
  const runs: RunRecord[] = [];
  /** The trace of every run this file started, failed ones included. */
  const runTraces = new Set<string>();
  const timings: string[] = [];

  before(async function () {
    const absent = (['otelcol', 'jaeger'] as const).filter((p) => !findBinary(p));
    if (absent.length) {
      console.log(
        `\n    !!! SKIPPED: the trace tests need the pinned ${absent.join(' and ')} build: run \`make tools\`` +
          ` (scripts/tools/build-binaries.sh) to build them into ${defaultBinDir()}\n`,
      );
      this.skip();
    }
    stateDir = mkdtempSync(path.join(tmpdir(), 'agent-obs-traces-'));
    const started = Date.now();
    try {
      stack = await startStack({
        stateDir,
        ports: 'free',
        timeScale: TIME_SCALE,
        require: ['prometheus', 'otel-collector', 'jaeger'],
        adminToken: `e2e-${randomUUID()}`,
        log: (l) => console.log(`    ${l}`),
      });
    } catch (err) {
      // Keep the logs of a failed start (afterEach sees only failed tests).
      failed = true;
      throw err;
    }
    timings.push(`stack up in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    for (const b of Object.values(stack.binaries)) console.log(`      ${describeBinary(b)}`);
    prom = new PrometheusClient(stack.urls.prometheus as string);
    jaeger = new JaegerClient(stack.urls.jaeger as string);
    // The Collector's own telemetry, where the harness moved compose's otel-collector:8888.
    collectorMetrics = `http://${stack.addresses['otel-collector:8888']?.[0]}/metrics`;
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') failed = true;
  });

  after(async function () {
    await stack?.stop();
    if (timings.length) console.log(`\n    Timings: ${timings.join('; ')}`);
    if (!stateDir) return;
    if (failed) console.log(`    logs and configs kept for the failure: ${stateDir}`);
    else rmSync(stateDir, { recursive: true, force: true });
  });

  it('Prometheus scrapes the Collector, its span metrics and Jaeger: up is 1 for each', async function () {
    const jobs = ['otel-collector', 'spanmetrics', 'jaeger'];
    await waitUntil(`up == 1 for ${jobs.join(', ')}`, 20_000, async () => {
      const series = await prom.query(`up{job=~"${jobs.join('|')}"}`);
      const up = Object.fromEntries(series.map((s) => [s.metric.job, s.value[1]]));
      if (jobs.some((j) => up[j] !== '1')) throw new Error(`up: ${JSON.stringify(up)}`);
      return true;
    });
  });

  it("an agent run's trace is in Jaeger: server root span, invoke_agent, chat spans with gen_ai.*, execute_tool and the database insert", async function () {
    const s = stack as Stack;
    const started = Date.now();
    runs.push(
      ...(await Promise.all(
        AGENTS.map((a) => successfulRun({ app: s.urls.app, apiKey: s.apiKeys.pro }, a, runTraces)),
      )),
    );
    for (const run of runs) {
      assert.match(run.trace_id, /^[0-9a-f]{32}$/, `run ${run.id} names its trace`);
      const spans = await waitUntil(
        `the trace of the ${run.agent} run in Jaeger`,
        30_000,
        async () => {
          const got = await jaeger.trace(run.trace_id);
          if ((got?.length ?? 0) < spansOfRun(run))
            throw new Error(`${got?.length ?? 0} of ${spansOfRun(run)} spans so far`);
          return got;
        },
      );
      checkRunTrace(run, spans);
    }
    timings.push(
      `3 runs' traces complete in Jaeger ${((Date.now() - started) / 1000).toFixed(1)} s after they were started`,
    );
  });

  it('the exemplars Prometheus returns for the run and request histograms name traces Jaeger returns, at the span they measured', async function () {
    assert.ok(runs.length, 'the runs of the trace test');
    const s = stack as Stack;
    const checks = [
      {
        query: 'agent_run_duration_seconds_bucket{job="app"}',
        span: (e: Exemplar) => ({
          name: `invoke_agent ${e.series.agent}`,
          kind: SPAN_KIND.INTERNAL,
        }),
      },
      {
        query: 'http_request_duration_seconds_bucket{job="app", route="/v1/agents/:agent/runs"}',
        span: () => ({ name: 'POST /v1/agents/:agent/runs', kind: SPAN_KIND.SERVER }),
      },
    ];
    for (const { query, span } of checks) {
      // The next scrape (1 s) brings them; only this file's runs made such observations.
      const found = await waitUntil(`exemplars of ${query}`, 15_000, async () => {
        const ex = await exemplars(s.urls.prometheus as string, query, Date.now() - 600_000);
        return ex.length > 0 && ex;
      });
      for (const e of found) {
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
          span(e),
          `the span an exemplar of ${query} names`,
        );
        // Grafana's exemplar link opens the trace through the older API: it has it whole too.
        assert.equal(
          await jaeger.legacySpanCount(e.traceId),
          spans.length,
          `/api/traces/${e.traceId}`,
        );
      }
      console.log(`      ${query}: ${found.length} exemplars, every one a trace in Jaeger`);
    }
  });

  it("span metrics in Prometheus count exactly the server spans the app's http_requests_total counts, route by route", async function () {
    assert.ok(runs.length, 'the runs of the trace test');
    const s = stack as Stack;
    // Routes nothing else in this file calls, each with the span name the app gives its server
    // span: `METHOD route`, or the bare method when no route matched.
    const load = [
      { route: '/v1/agents', span: 'GET /v1/agents', n: 12, status: 200, path: () => '/v1/agents' },
      {
        route: '/v1/runs/:id',
        span: 'GET /v1/runs/:id',
        n: 9,
        status: 200,
        path: (i: number) => `/v1/runs/${runs[i % runs.length].id}`,
      },
      {
        route: 'unmatched',
        span: 'GET',
        n: 5,
        status: 404,
        path: (i: number) => `/no/such/path/${i}`,
      },
    ];
    const counterQuery = `sum by (route) (http_requests_total{job="app", route=~"${load.map((l) => l.route).join('|')}"})`;
    const spanQuery =
      `sum by (span_name) (traces_span_metrics_calls_total{job="spanmetrics", service_name="${SERVICE}",` +
      ` span_kind="SPAN_KIND_SERVER", span_name=~"${load.map((l) => l.span).join('|')}"})`;
    const read = async () => {
      const [counters, spans] = await Promise.all([
        prom.query(counterQuery),
        prom.query(spanQuery),
      ]);
      const value = (series: typeof counters, label: string, v: string) =>
        Number(series.find((x) => x.metric[label] === v)?.value[1] ?? 0);
      return load.map((l) => ({
        route: l.route,
        counter: value(counters, 'route', l.route),
        spans: value(spans, 'span_name', l.span),
      }));
    };

    // First point in time: before any request to these routes, so none is in flight and both
    // sides are settled (the counter starts at 0, the span series does not exist yet).
    const before = await read();
    for (const b of before)
      assert.equal(b.spans, b.counter, `${b.route} before the load: nothing sent yet, both equal`);

    const sentAt = Date.now();
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
    const doneAt = Date.now();

    // Second point: every response has arrived, so again nothing is in flight; wait until the
    // counter (next scrape) and the span metrics (app export ≤ 5 s, Collector batch 1 s, span
    // metrics flushed every 15 s, a new series first flushed as 0, then the scrape) have caught
    // up. The tolerance is zero: with no request in flight at either point, any difference is
    // a span lost or counted twice.
    let counterAt = 0;
    let spansAt = 0;
    const after = await waitUntil(
      'span metrics and counters to count the load',
      75_000,
      async () => {
        const now = await read();
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
    for (const d of after) {
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
    timings.push(
      `counter caught up ${((counterAt - doneAt) / 1000).toFixed(1)} s and span metrics ` +
        `${((spansAt - doneAt) / 1000).toFixed(1)} s after the load`,
    );

    // The span metrics' own exemplars (Grafana links their latency points) name traces too.
    const query = `traces_span_metrics_duration_milliseconds_bucket{job="spanmetrics", span_name="GET /v1/agents"}`;
    const found = await waitUntil(`exemplars of ${query}`, 15_000, async () => {
      const ex = await exemplars(s.urls.prometheus as string, query, sentAt - 1000);
      return ex.length > 0 && ex;
    });
    for (const e of found) {
      const spans = await jaeger.trace(e.traceId);
      const measured = spans?.find((x) => x.spanId === e.spanId);
      assert.ok(measured, `span-metric exemplar ${e.traceId}/${e.spanId} is a span in Jaeger`);
      assert.equal(measured.name, 'GET /v1/agents');
    }
  });

  it('with Jaeger stopped the app keeps serving, the Collector queues and retries, and the traces of the outage reach Jaeger once it is back', async function () {
    const [earlier] = runs;
    assert.ok(earlier, 'the runs of the trace test');
    const s = stack as Stack;
    const on = { exporter: jaegerExporter(s) };
    const log = logOf(s, 'otel-collector');
    const appFailures = async () =>
      total(await scrape(`${s.urls.app}/metrics`), 'telemetry_export_failures_total', {
        signal: 'traces',
      });
    assert.ok(await jaeger.trace(earlier.trace_id), 'a trace from before the outage is in Jaeger');
    const appFailures0 = await appFailures();
    assert.notEqual(appFailures0, undefined, 'the app counts its failed span exports');

    await s.stopComponent('jaeger');
    const stoppedAt = Date.now();
    await assert.rejects(jaeger.trace(earlier.trace_id), /no answer/, 'Jaeger is down');
    // Read after Jaeger has exited: from here on nothing can be sent.
    const c0 = await scrape(collectorMetrics);
    const sent0 = total(c0, 'otelcol_exporter_sent_spans', on) ?? 0;
    const failed0 = total(c0, 'otelcol_exporter_send_failed_spans', on) ?? 0;
    const accepted0 = total(c0, 'otelcol_receiver_accepted_spans') ?? 0;
    const retries0 = count(log, RETRY_LOG);

    // The app serves runs as usual: its exporter talks to the Collector, not to Jaeger.
    const outage = await Promise.all(
      AGENTS.map((a) => successfulRun({ app: s.urls.app, apiKey: s.apiKeys.pro }, a, runTraces)),
    );
    const ranAt = Date.now();
    const expected = outage.reduce((n, r) => n + spansOfRun(r), 0);

    // Their spans reach the Collector and wait there: accepted, queued, retried, not sent.
    const held = await waitUntil("the Collector to hold the outage's spans", 40_000, async () => {
      const c = await scrape(collectorMetrics);
      const state = {
        accepted: (total(c, 'otelcol_receiver_accepted_spans') ?? 0) - accepted0,
        queued: total(c, 'otelcol_exporter_queue_size', on) ?? 0,
        inFlight: total(c, 'otelcol_exporter_in_flight_requests', on) ?? 0,
        retries: count(log, RETRY_LOG) - retries0,
        sent: (total(c, 'otelcol_exporter_sent_spans', on) ?? 0) - sent0,
        failed: (total(c, 'otelcol_exporter_send_failed_spans', on) ?? 0) - failed0,
      };
      const ready =
        Date.now() - ranAt >= EXPORT_DELAY_MS &&
        state.accepted >= expected &&
        state.queued > 0 &&
        state.retries > 0;
      if (!ready) throw new Error(JSON.stringify(state));
      return state;
    });
    assert.equal(held.sent, 0, 'nothing is sent while Jaeger is down');
    assert.equal(held.failed, 0, 'no span is given up: retry_on_failure keeps them');
    assert.equal(await appFailures(), appFailures0, "the app's own span exports never failed");
    console.log(
      `      Jaeger down ${((Date.now() - stoppedAt) / 1000).toFixed(1)} s: Collector accepted ` +
        `${held.accepted} spans, queue ${held.queued}, ${held.inFlight} export(s) in flight, ` +
        `${held.retries} retries logged, 0 sent, 0 failed`,
    );

    await s.startComponent('jaeger');
    const restartedAt = Date.now();
    // Its in-memory store starts empty: what arrives now came out of the Collector's queue.
    assert.equal(await jaeger.trace(earlier.trace_id), undefined, 'Jaeger starts empty');
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
    const arrivedAt = Date.now();
    for (const run of outage)
      checkRunTrace(run, (await jaeger.trace(run.trace_id)) as JaegerSpan[]);

    // The queue drains and nothing was lost on the way.
    const drained = await waitUntil("the Collector's queue to drain", 30_000, async () => {
      const c = await scrape(collectorMetrics);
      const state = {
        queued: total(c, 'otelcol_exporter_queue_size', on) ?? 0,
        sent: (total(c, 'otelcol_exporter_sent_spans', on) ?? 0) - sent0,
        failed: (total(c, 'otelcol_exporter_send_failed_spans', on) ?? 0) - failed0,
        enqueueFailed: total(c, 'otelcol_exporter_enqueue_failed_spans', on) ?? 0,
      };
      if (state.queued > 0 || state.sent < expected) throw new Error(JSON.stringify(state));
      return state;
    });
    assert.equal(drained.failed, 0, 'no span failed for good');
    assert.equal(drained.enqueueFailed, 0, 'no span was refused by a full queue');
    timings.push(
      `outage traces in Jaeger ${((arrivedAt - restartedAt) / 1000).toFixed(1)} s after its restart ` +
        `(down ${((restartedAt - stoppedAt) / 1000).toFixed(1)} s)`,
    );
  });

  it('every Collector metric the alert rules name is on the running Collector (those that appear at the first failure, once provoked)', async function () {
    const s = stack as Stack;
    const refs = collectorNameRefs();
    assert.ok(refs.length > 0, 'the rules watch the Collector');
    // The failures below need Jaeger up (the outage test restarts it; this keeps the test whole).
    if (s.processes().find((m) => m.name === 'jaeger')?.exit) await s.startComponent('jaeger');

    const names = async (url: string) => new Set((await scrape(url)).map((x) => x.name));
    const has = (ref: NameRef, set: Set<string>) => [...set].some(ref.matches);
    let served = await names(collectorMetrics);
    const absent = () => refs.filter((r) => !has(r, served));

    // Counters the Collector creates only when they first count something (exporterhelper
    // adds to them only on failure), and how to make that happen for real.
    const sendFailed = refs.filter((r) => r.matches('otelcol_exporter_send_failed_spans'));
    const enqueueFailed = refs.filter((r) => r.matches('otelcol_exporter_enqueue_failed_spans'));
    const other = absent().filter((r) => !sendFailed.includes(r) && !enqueueFailed.includes(r));
    assert.deepEqual(
      other.map((r) => `${r.matcher} in ${r.rule}`),
      [],
      `rule metrics missing from the Collector's /metrics (${[...served].filter((n) => n.startsWith('otelcol_')).join(', ')})`,
    );

    if (absent().some((r) => sendFailed.includes(r))) {
      // A span bigger than Jaeger's gRPC limit (max_recv_msg_size_mib in jaeger/config.yaml,
      // grpc-go's 4 MiB when unset): Jaeger answers ResourceExhausted without retry
      // information, which the exporter treats as permanent, so the batch fails at once
      // instead of after 300 s of retries. The real failure a too-large batch meets in
      // production. (The Collector's own HTTP receiver takes bodies up to 20 MiB.)
      const jaegerConfig = YAML.parse(
        readFileSync(path.join(REPO_DIR, 'jaeger/config.yaml'), 'utf8'),
      );
      const limitMiB = Number(
        jaegerConfig.receivers?.otlp?.protocols?.grpc?.max_recv_msg_size_mib ?? 4,
      );
      const blob = 'x'.repeat((limitMiB + 1) * 1024 * 1024);
      const res = await postOtlp(
        s.urls.otlpHttp as string,
        otlpSpan('e2e-oversize', 'oversize', [{ key: 'blob', value: { stringValue: blob } }]),
      );
      assert.equal(res.status, 200, 'the Collector accepts the span');
      served = await waitUntil(
        'otelcol_exporter_send_failed_spans on the Collector',
        20_000,
        async () => {
          const now = await names(collectorMetrics);
          return sendFailed.every((r) => has(r, now)) && now;
        },
      );
    }

    const probeChecked: string[] = [];
    if (absent().some((r) => enqueueFailed.includes(r))) {
      // Refused enqueues need the 1000-request queue full, which would take about a million
      // spans here. The same build with the repo's telemetry settings (so the same names) and a
      // one-request queue in front of a closed port refuses the second request already.
      const probeNames = await probeEnqueueFailure(s, stateDir);
      for (const r of enqueueFailed)
        assert.ok(
          has(r, probeNames),
          `${r.matcher} (${r.rule}) on the Collector after a full queue`,
        );
      probeChecked.push(...enqueueFailed.map((r) => r.matcher));
    }

    const onStack = refs.filter((r) => !probeChecked.includes(r.matcher));
    assert.deepEqual(
      onStack.filter((r) => !has(r, served)).map((r) => `${r.matcher} in ${r.rule}`),
      [],
      'rule metrics missing from the Collector after the failures',
    );
    // The rules read Prometheus, not /metrics: the same names are stored for the Collector's job.
    const matchers = [...new Set(onStack.map((r) => r.matcher))];
    await waitUntil('the rule metrics in Prometheus for job otel-collector', 15_000, async () => {
      const missing: string[] = [];
      for (const m of matchers)
        if (!(await prom.query(`count({${m}, job="otel-collector"})`)).length) missing.push(m);
      if (missing.length) throw new Error(`no series for ${missing.join(', ')}`);
      return true;
    });
    // Jaeger v2 is a Collector too, and the receiver rules are written for both.
    const jaegerNames = await names(`http://${s.addresses['jaeger:8888']?.[0]}/metrics`);
    const receiverRefs = refs.filter((r) => r.matcher.includes('otelcol_receiver_'));
    assert.deepEqual(
      receiverRefs.filter((r) => !has(r, jaegerNames)).map((r) => r.matcher),
      [],
      "receiver metrics of the rules missing from Jaeger's /metrics",
    );
    console.log(
      `      ${new Set(refs.map((r) => r.matcher)).size} Collector metric matchers in the rules, all served` +
        (probeChecked.length
          ? ` (${[...new Set(probeChecked)].join(', ')} on a one-request queue)`
          : ''),
    );
  });
});

/** The span tree of one successful run, checked against what the run reported. */
function checkRunTrace(run: RunRecord, spans: JaegerSpan[]): void {
  const where = `trace ${run.trace_id} (${run.agent})`;
  assert.equal(spans.length, spansOfRun(run), `${where}: span count`);
  for (const x of spans) {
    assert.equal(x.traceId, run.trace_id, `${where}: ${x.name} is in the run's trace`);
    assert.equal(x.service, SERVICE, `${where}: ${x.name} service.name`);
  }
  const ids = new Set(spans.map((x) => x.spanId));
  const orphans = spans.filter((x) => x.parentSpanId && !ids.has(x.parentSpanId));
  assert.deepEqual(
    orphans.map((x) => x.name),
    [],
    `${where}: spans whose parent is missing`,
  );

  const roots = spans.filter((x) => !x.parentSpanId);
  assert.equal(roots.length, 1, `${where}: one root span`);
  const [root] = roots;
  assert.equal(root.kind, SPAN_KIND.SERVER, `${where}: the root is the server span`);
  assert.equal(root.name, 'POST /v1/agents/:agent/runs');
  assert.equal(root.attributes['http.route'], '/v1/agents/:agent/runs');
  assert.equal(root.attributes['http.request.method'], 'POST');
  assert.equal(root.attributes['http.response.status_code'], 201);
  assert.equal(root.attributes['url.path'], `/v1/agents/${run.agent}/runs`);

  const agentSpans = spans.filter((x) => x.name === `invoke_agent ${run.agent}`);
  assert.equal(agentSpans.length, 1, `${where}: one invoke_agent span`);
  const [agent] = agentSpans;
  assert.equal(agent.parentSpanId, root.spanId, `${where}: the run is inside the request`);
  assert.deepEqual(
    pick(agent.attributes, [
      'gen_ai.operation.name',
      'gen_ai.agent.name',
      'gen_ai.agent.id',
      'app.run.id',
      'gen_ai.request.model',
      'gen_ai.usage.input_tokens',
      'gen_ai.usage.output_tokens',
    ]),
    {
      'gen_ai.operation.name': 'invoke_agent',
      'gen_ai.agent.name': run.agent,
      // The agent's stable id (GenAI conventions); the run's own id is app.run.id.
      'gen_ai.agent.id': run.agent,
      'app.run.id': run.id,
      'gen_ai.request.model': run.model,
      'gen_ai.usage.input_tokens': run.usage.input_tokens,
      'gen_ai.usage.output_tokens': run.usage.output_tokens,
    },
    `${where}: invoke_agent attributes`,
  );

  const children = spans.filter((x) => x.parentSpanId === agent.spanId);
  const llmSteps = run.steps.filter((x): x is LlmStep => x.type === 'llm');
  const chats = children.filter((x) => x.attributes['gen_ai.operation.name'] === 'chat');
  assert.equal(chats.length, llmSteps.length, `${where}: one chat span per LLM step`);
  const tokens = (list: { input: unknown; output: unknown }[]) =>
    list.map((t) => `${t.input}/${t.output}`).sort();
  assert.deepEqual(
    tokens(
      chats.map((c) => ({
        input: c.attributes['gen_ai.usage.input_tokens'],
        output: c.attributes['gen_ai.usage.output_tokens'],
      })),
    ),
    tokens(llmSteps.map((st) => ({ input: st.input_tokens, output: st.output_tokens }))),
    `${where}: token usage of the chat spans = the run's steps`,
  );
  for (const c of chats) {
    assert.equal(c.name, `chat ${run.model}`);
    assert.equal(c.kind, SPAN_KIND.CLIENT, `${where}: ${c.name} is a client span`);
    assert.equal(c.attributes['gen_ai.request.model'], run.model);
    assert.equal(c.attributes['gen_ai.response.model'], run.model);
    assert.equal(c.attributes['gen_ai.provider.name'], agent.attributes['gen_ai.provider.name']);
    assert.ok(c.attributes['gen_ai.response.id'], `${where}: ${c.name} has gen_ai.response.id`);
  }

  const toolSteps = run.steps.filter((x): x is ToolStep => x.type === 'tool');
  const tools = children.filter((x) => x.attributes['gen_ai.operation.name'] === 'execute_tool');
  assert.ok(toolSteps.length > 0, `${where}: the run called a tool`);
  assert.deepEqual(
    tools.map((t) => [t.name, t.attributes['gen_ai.tool.name']]).sort(),
    toolSteps.map((t) => [`execute_tool ${t.tool}`, t.tool]).sort(),
    `${where}: one execute_tool span per tool step`,
  );

  const inserts = children.filter((x) => x.name === 'INSERT runs');
  assert.equal(inserts.length, 1, `${where}: the run's row is stored inside the run`);
  assert.equal(inserts[0].kind, SPAN_KIND.CLIENT);
  assert.equal(inserts[0].attributes['db.system.name'], 'sqlite');
  assert.equal(inserts[0].attributes['db.operation.name'], 'INSERT');
}

const pick = (o: Record<string, unknown>, keys: string[]) =>
  Object.fromEntries(keys.map((k) => [k, o[k]]));

/**
 * The Collector's counter of refused enqueues, from the same binary with the telemetry
 * section of the stack's rendered config (the reader decides the names: suffixes, units),
 * an exporter with a one-request queue to a closed port, and requests until one is refused.
 * Returns the metric names it then serves.
 */
async function probeEnqueueFailure(s: Stack, stateDir: string): Promise<Set<string>> {
  const binary = s.binaries['otel-collector'];
  assert.ok(binary, 'the Collector binary');
  const service = collectorConfig(s).service;
  const telemetry = isObj(service) && isObj(service.telemetry) ? service.telemetry : {};
  const metrics = isObj(telemetry.metrics) ? telemetry.metrics : {};
  const [receiverPort, closedPort, metricsPort] = await freePorts(3);
  let readers = 0;
  const dir = path.join(stateDir, 'probe-collector');
  mkdirSync(dir, { recursive: true });
  const config = {
    receivers: { otlp: { protocols: { http: { endpoint: `127.0.0.1:${receiverPort}` } } } },
    exporters: {
      'otlp_grpc/closed': {
        endpoint: `127.0.0.1:${closedPort}`,
        tls: { insecure: true },
        sending_queue: { enabled: true, num_consumers: 1, queue_size: 1 },
        // Long enough that the one consumer holds the first request for the whole probe.
        retry_on_failure: { enabled: true, initial_interval: '30s' },
      },
    },
    service: {
      pipelines: { traces: { receivers: ['otlp'], exporters: ['otlp_grpc/closed'] } },
      telemetry: {
        ...telemetry,
        metrics: {
          ...metrics,
          readers: (Array.isArray(metrics.readers) ? metrics.readers : []).map((r: unknown) => {
            const prometheus =
              isObj(r) && isObj(r.pull) && isObj(r.pull.exporter)
                ? r.pull.exporter.prometheus
                : undefined;
            if (!isObj(prometheus)) return r;
            readers++;
            return {
              pull: {
                exporter: { prometheus: { ...prometheus, host: '127.0.0.1', port: metricsPort } },
              },
            };
          }),
        },
      },
    },
  };
  assert.ok(
    readers > 0,
    "the stack's Collector config has a Prometheus reader for its own metrics",
  );
  const file = path.join(dir, 'config.yaml');
  writeFileSync(file, YAML.stringify(config));
  const metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
  const supervisor = new Supervisor();
  try {
    await supervisor.start({
      name: 'probe-collector',
      command: binary.path,
      args: [`--config=${file}`],
      logFile: path.join(dir, 'otelcol.log'),
      ports: [receiverPort, metricsPort],
      ready: async () => (await fetch(metricsUrl, { signal: AbortSignal.timeout(2000) })).ok,
      readyTimeoutMs: 30_000,
    });
    const statuses: number[] = [];
    for (let i = 0; i < 5 && !statuses.some((x) => x >= 400); i++) {
      const res = await postOtlp(
        `http://127.0.0.1:${receiverPort}`,
        otlpSpan('e2e-probe', `probe ${i}`),
      );
      await res.arrayBuffer();
      statuses.push(res.status);
    }
    assert.ok(
      statuses.some((x) => x >= 400),
      `a full queue refuses a request (statuses ${statuses.join(', ')})`,
    );
    return await waitUntil('the probe Collector to count the refused enqueue', 10_000, async () => {
      const names = new Set((await scrape(metricsUrl)).map((x) => x.name));
      return [...names].some((n) => n.startsWith('otelcol_exporter_enqueue_failed')) && names;
    });
  } finally {
    await supervisor.stopAll();
  }
}
