// A second service in another language, on the native stack: examples/python-agent (FastAPI, the
// official openai SDK and OpenTelemetry instrumentations, from its venv) calls the app's provider
// listener and sends OTLP only, through the Collector's metrics pipeline into Prometheus' OTLP
// receiver, its spans to Jaeger and its log records to VictoriaLogs:
// - a provider fault aimed at it fails its runs, not the app's;
// - its GenAI histograms are in Prometheus under the app's metric names, with exactly the same
//   label keys (per series, errors included) and the same bucket boundaries; its HTTP server
//   histogram has the app's HTTP boundaries; every series has service_name, scraped or pushed;
// - its exemplars survive the push: they name traces Jaeger returns;
// - a run's trace is in Jaeger whole, and its log lines are in VictoriaLogs by that trace id;
// - its entry in services.yml alone covers it: a provider fault aimed at it fires its generated
//   alerts (prometheus/rules/services.yml) with its own service label, delivered through its
//   team's receiver, while the demo's alerts stay silent;
// - killed, it has no `up`: the probe its entry gives it pages its team, the demo stays silent.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { PrometheusClient } from '../../scripts/lib/clients.ts';
import { waitUntil } from '../../scripts/lib/wait.ts';
import { SERVICE, successfulRun } from '../lib/agent-runs.ts';
import { appCatalog } from '../lib/app-module.ts';
import { JaegerClient, SPAN_KIND } from '../lib/jaeger-client.ts';
import { stackFixture, type StackFixture, type StackFixtureOptions } from '../lib/stack-fixture.ts';
import { logsqlString, VictoriaLogsClient } from '../lib/victorialogs.ts';
import { speedup } from '../../scripts/lib/time-scale.ts';
import { REPO_ROOT } from '../../scripts/lib/repo.ts';
import { loadServices } from '../../scripts/lib/services.ts';
import { panelQueries } from '../../scripts/lib/dashboards/panel-queries.ts';

// As the trace and log tests: 15 s scrapes (and the Python service's metric exports) become 1 s.
const TIME_SCALE = speedup(15);
// Spans leave both services within 5 s (batch span processors), log records within 1 s, metrics
// every second; the Collector batches for 1 s more. 20 s leaves room for a loaded machine.
const ARRIVAL_MS = 20_000;
const PYTHON = 'python-agent';
const GEN_AI = ['gen_ai_client_token_usage', 'gen_ai_client_operation_duration_seconds'];
const SERIES_SUFFIXES = ['_bucket', '_sum', '_count'];

interface PythonStack extends StackFixture {
  prom: PrometheusClient;
  jaeger: JaegerClient;
  logs: VictoriaLogsClient;
  /** Trace ids of the Python runs that succeeded. */
  traces: string[];
  /** Python runs that failed under the sustained aimed fault (the paging test). */
  pagedRuns: number;
}

function pythonStackFixture(): PythonStack {
  const options: StackFixtureOptions = {
    tests: 'the Python service tests',
    programs: [
      'otelcol',
      'jaeger',
      'victoria-logs',
      'prometheus',
      'alertmanager',
      'blackbox_exporter',
    ],
    require: [
      ...['prometheus', 'alertmanager', 'otel-collector', 'jaeger', 'victorialogs'],
      ...['blackbox-exporter', 'python-agent'],
    ] as StackFixtureOptions['require'],
    timeScale: TIME_SCALE,
    stateDirPrefix: 'agent-obs-python-',
  };
  const f = { failed: false, timings: [], traces: [], pagedRuns: 0 } as unknown as PythonStack;
  return stackFixture(f, options, (s) => {
    s.prom = new PrometheusClient(s.stack.urls.prometheus as string);
    s.jaeger = new JaegerClient(s.stack.urls.jaeger as string);
    s.logs = new VictoriaLogsClient(s.stack.urls.victorialogs as string);
  });
}

/** POST a run to the Python service; its status and body. */
async function pythonRun(f: PythonStack, input: string, model = 'sim-small') {
  const res = await fetch(`${f.stack.urls.pythonAgent}/v1/agents/assistant/runs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ input: `${input} (${randomUUID()})`, model }),
    signal: AbortSignal.timeout(30_000),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** Sets (or with `ttl` 0, clears) an llm_outage on the app's chaos API. */
async function llmOutage(f: PythonStack, ttl: number, caller?: string): Promise<void> {
  const url = `${f.stack.urls.management}/admin/chaos/llm_outage`;
  const auth = { authorization: `Bearer ${f.stack.adminToken}` };
  const res =
    ttl === 0
      ? await fetch(url, { method: 'DELETE', headers: auth })
      : await fetch(url, {
          method: 'PUT',
          headers: { ...auth, 'content-type': 'application/json' },
          body: JSON.stringify({ ttl_seconds: ttl, ...(caller ? { caller } : {}) }),
        });
  assert.ok(res.ok, `chaos ${res.status}: ${await res.text()}`);
}

/** Every series matching `match` (Prometheus' series API), as label maps. */
async function series(f: PythonStack, match: string): Promise<Record<string, string>[]> {
  const params = new URLSearchParams({ 'match[]': match, start: String(Date.now() / 1000 - 600) });
  const res = await fetch(`${f.stack.urls.prometheus}/api/v1/series?${params}`);
  assert.ok(res.ok, `series ${match}: ${res.status}`);
  return ((await res.json()) as { data: Record<string, string>[] }).data;
}

/** Per metric name, the distinct label-key sets of one service's series, sorted. */
async function labelKeySets(f: PythonStack, service: string): Promise<Record<string, string[]>> {
  const out: Record<string, Set<string>> = {};
  for (const s of await series(f, `{__name__=~"gen_ai_client_.+",service_name="${service}"}`)) {
    const keys = Object.keys(s)
      .filter((k) => k !== '__name__' && k !== 'le')
      .sort();
    (out[s.__name__] ??= new Set()).add(keys.join(','));
  }
  return Object.fromEntries(Object.entries(out).map(([name, sets]) => [name, [...sets].sort()]));
}

/** The `le` boundaries of a histogram's series, sorted numerically. */
async function boundaries(f: PythonStack, selector: string): Promise<number[]> {
  const les = new Set((await series(f, selector)).map((s) => s.le));
  return [...les].map(Number).sort((a, b) => a - b);
}

// ------------------------------------------------------------------------- the tests

/** Bad input: a 4xx problem that says what is wrong, before any model call. */
async function expectProblemsForBadInput(f: PythonStack): Promise<void> {
  const post = (path: string, body: string, type = 'application/json') =>
    fetch(`${f.stack.urls.pythonAgent}${path}`, {
      method: 'POST',
      headers: { 'content-type': type },
      body,
    });
  const cases: [Promise<Response>, number, string[]][] = [
    [post('/v1/agents/assistant/runs', '{"input": "", "extra": 1}'), 422, ['/input', '/extra']],
    [post('/v1/agents/assistant/runs', '{"input": "x", "model": "gpt-9"}'), 422, ['/model']],
    [post('/v1/agents/assistant/runs', `{"input": "${'x'.repeat(9000)}"}`), 422, ['/input']],
    [post('/v1/agents/nobody/runs', '{"input": "x"}'), 404, []],
  ];
  for (const [request, status, pointers] of cases) {
    const res = await request;
    const body = (await res.json()) as { status: number; errors?: { pointer: string }[] };
    assert.equal(res.status, status, JSON.stringify(body));
    assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/);
    assert.equal(body.status, status);
    assert.deepEqual(
      (body.errors ?? []).map((e) => e.pointer),
      pointers,
    );
  }
}

async function runBothWithAimedFault(f: PythonStack): Promise<void> {
  const started = Date.now();
  const { models } = appCatalog();
  const appRun = { app: f.stack.urls.app, apiKey: f.stack.apiKeys.pro, model: models[0] };
  const appTraces = new Set<string>();
  for (const input of ['What is 17 * 3?', 'What is an SLO?', 'What is a burn rate?']) {
    const run = await pythonRun(f, input);
    assert.equal(run.status, 201, JSON.stringify(run.body));
    f.traces.push(run.body.trace_id as string);
    await successfulRun(appRun, 'support', appTraces);
  }
  assert.equal((await pythonRun(f, 'A bigger model?', 'sim-medium')).status, 201);

  // Aimed at python-agent: its runs fail (502 from the provider's 503), the app's succeed.
  await llmOutage(f, 60, PYTHON);
  const failed = await pythonRun(f, 'Anyone there?');
  assert.equal(failed.status, 502, JSON.stringify(failed.body));
  assert.equal(failed.body.type, 'tag:agent-service.local,2026:problem:llm-provider-error');
  await successfulRun(appRun, 'support', appTraces);
  await llmOutage(f, 0);
  f.timings.push(`runs and faults in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

/** Untargeted, the fault fails the app's own calls too: both services then have error series. */
async function failBothWithUntargetedFault(f: PythonStack): Promise<void> {
  const { models } = appCatalog();
  await llmOutage(f, 60);
  const appFailed = await fetch(`${f.stack.urls.app}/v1/agents/support/runs`, {
    method: 'POST',
    headers: { 'x-api-key': f.stack.apiKeys.pro, 'content-type': 'application/json' },
    body: JSON.stringify({ input: `Down? (${randomUUID()})`, model: models[0] }),
  });
  assert.equal(appFailed.status, 502);
  await llmOutage(f, 0);
}

async function expectSameNamesAndLabelKeys(f: PythonStack): Promise<void> {
  const wanted = GEN_AI.flatMap((m) => SERIES_SUFFIXES.map((s) => m + s)).sort();
  const [python, app] = await waitUntil('GenAI series of both services', ARRIVAL_MS, async () => {
    const both = [await labelKeySets(f, PYTHON), await labelKeySets(f, SERVICE)];
    // Four label-key sets per duration series: with and without error_type, on both.
    const errors = (k: Record<string, string[]>) =>
      (k.gen_ai_client_operation_duration_seconds_count ?? []).length === 2;
    return both.every((k) => Object.keys(k).length === wanted.length && errors(k))
      ? both
      : undefined;
  });
  assert.deepEqual(Object.keys(python).sort(), wanted);
  assert.deepEqual(python, app);
  // Pushed or scraped, a series names its service in service_name; job and instance differ
  // in meaning (service.name / service.instance.id against the scrape job and target).
  for (const sets of Object.values(python)) for (const s of sets) assert.match(s, /service_name/);
}

async function expectSameBoundaries(f: PythonStack): Promise<void> {
  for (const m of GEN_AI) {
    const bucket = `${m}_bucket`;
    assert.deepEqual(
      await boundaries(f, `${bucket}{service_name="${PYTHON}"}`),
      await boundaries(f, `${bucket}{service_name="${SERVICE}"}`),
      m,
    );
  }
  const pythonHttp = `http_server_request_duration_seconds_bucket{service_name="${PYTHON}"}`;
  const http = await waitUntil('the Python HTTP histogram', ARRIVAL_MS, async () => {
    const les = await boundaries(f, pythonHttp);
    return les.length > 0 ? les : undefined;
  });
  assert.deepEqual(http, await boundaries(f, 'http_request_duration_seconds_bucket{job="app"}'));
  for (const threshold of [0.1, 0.25, 0.5, 1, 2, 5]) assert.ok(http.includes(threshold));
}

async function expectServiceLabelAndCounts(f: PythonStack): Promise<void> {
  const count = async (expr: string) => Number((await f.prom.query(expr))[0]?.value[1] ?? 0);
  const runs = (status: number) =>
    `http_server_request_duration_seconds_count{service_name="${PYTHON}",` +
    `http_route="/v1/agents/{agent}/runs",http_response_status_code="${status}"}`;
  assert.equal(await count(`sum(${runs(201)})`), 4);
  assert.equal(await count(`sum(${runs(502)})`), 1 + f.pagedRuns);
  const tokens = `gen_ai_client_token_usage_count{service_name="${PYTHON}"}`;
  // 4 runs of 2 chat calls, each with an input and an output token count.
  assert.equal(await count(`sum(${tokens})`), 16);
  // Its pushed series (job = its service.name), the Collector's span metrics of its spans
  // (scraped, job spanmetrics) and its probe's (job blackbox) name it the same way.
  // (The series its generated rules write, recorded and ALERTS*, carry no job: left out.)
  const jobs = await f.prom.query(
    `count by (job) ({service_name="${PYTHON}", __name__!~"ALERTS.*|.+:.+"})`,
  );
  assert.deepEqual(jobs.map((s) => s.metric.job).sort(), ['blackbox', PYTHON, 'spanmetrics']);
  // The provider listener's traffic is no request of the app: no route of it in the app's SLI.
  assert.equal(await count(`count(http_requests_total{job="app",route=~".*chat.*"})`), 0);
}

async function expectExemplarsSurvive(f: PythonStack): Promise<void> {
  const end = Date.now() / 1000;
  const params = new URLSearchParams({
    query: `http_server_request_duration_seconds_bucket{service_name="${PYTHON}"}`,
    start: String(end - 600),
    end: String(end),
  });
  const res = await fetch(`${f.stack.urls.prometheus}/api/v1/query_exemplars?${params}`);
  const body = (await res.json()) as {
    data: { exemplars: { labels: Record<string, string> }[] }[];
  };
  const traceIds = body.data.flatMap((s) => s.exemplars.map((e) => e.labels.trace_id));
  assert.ok(traceIds.length > 0, JSON.stringify(body));
  const known = traceIds.filter((id) => f.traces.includes(id));
  assert.ok(known.length > 0, `exemplar trace ids ${traceIds} are none of the runs'`);
  assert.ok(await f.jaeger.trace(known[0]!), `trace ${known[0]} is not in Jaeger`);
}

async function expectTraceAndLogs(f: PythonStack): Promise<void> {
  const traceId = f.traces[0]!;
  const spans = await waitUntil('the Python run in Jaeger', ARRIVAL_MS, async () => {
    const found = await f.jaeger.trace(traceId);
    return found && found.filter((s) => s.name.startsWith('chat ')).length === 2
      ? found
      : undefined;
  });
  const server = spans.find((s) => s.kind === SPAN_KIND.SERVER && !s.parentSpanId);
  assert.equal(server?.name, 'POST /v1/agents/{agent}/runs');
  const names = spans.map((s) => s.name);
  for (const name of ['invoke_agent assistant', 'execute_tool calculator', 'chat sim-small'])
    assert.ok(names.includes(name), `${name} not in ${names}`);
  for (const s of spans) assert.equal(s.service, PYTHON);
  const chat = spans.find((s) => s.name === 'chat sim-small')!;
  assert.equal(chat.attributes['gen_ai.provider.name'], 'openai');
  assert.equal(chat.attributes['gen_ai.system'], undefined);

  const query = `trace_id:=${logsqlString(traceId)}`;
  const rows = await waitUntil(`the run's lines (${query})`, ARRIVAL_MS, async () => {
    const found = await f.logs.query(query);
    return found.some((r) => r._msg === 'run finished') ? found : undefined;
  });
  const spanIds = new Set(spans.map((s) => s.spanId));
  for (const row of rows) {
    assert.equal(row['service.name'], PYTHON);
    assert.ok(spanIds.has(row.span_id), `${row._msg}: span ${row.span_id} not in the trace`);
  }
}

/** The alerts services.yml generates for a service (prometheus/rules/services.yml). */
const GENERATED_ALERTS = [
  'ServiceErrorBudgetBurn',
  'ServiceLatencyBudgetBurn',
  'GenAIClientErrorRatioHigh',
];
// A page needs its `for:` (2 min, 8 s scaled), its windows filled and Alertmanager's group_wait:
// well under a minute here; two leave room for a loaded machine.
const PAGE_MS = 120_000;

/**
 * Python runs (failing under the fault) and app runs (which must succeed: the fault is not
 * theirs) one after another until `stop` resolves; how many Python runs.
 */
async function driveBoth(f: PythonStack, stop: Promise<unknown>): Promise<number> {
  let done = false;
  void stop.finally(() => (done = true)).catch(() => {});
  const { models } = appCatalog();
  const appRun = { app: f.stack.urls.app, apiKey: f.stack.apiKeys.pro, model: models[0] };
  let runs = 0;
  while (!done) {
    const run = await pythonRun(f, 'Still down?');
    assert.equal(run.status, 502, JSON.stringify(run.body));
    runs++;
    await successfulRun(appRun, 'support', new Set());
  }
  return runs;
}

async function expectAimedFaultPagesItsTeam(f: PythonStack): Promise<void> {
  const entry = loadServices(REPO_ROOT).find((s) => s.name === PYTHON)!;
  const started = Date.now();
  await llmOutage(f, 300, PYTHON);
  const page = waitUntil(`a page of ${PYTHON} at the receiver`, PAGE_MS, async () =>
    f.stack.receiver
      .alerts()
      .find(
        (a) =>
          a.status === 'firing' &&
          a.labels.service === PYTHON &&
          GENERATED_ALERTS.includes(a.alertname),
      ),
  );
  const runs = await driveBoth(f, page);
  f.pagedRuns = runs;
  const alert = await page;
  // While its runs still fail: every panel of the services row has its series.
  await expectServicePanelsHaveData(f);
  await llmOutage(f, 0);
  f.timings.push(
    `aimed fault paged in ${((Date.now() - started) / 1000).toFixed(1)} s (${runs} runs)`,
  );
  assert.equal(alert.severity, 'critical');
  assert.equal(alert.labels.team, entry.team.name);
  assert.equal(alert.receiver, entry.team.receiver, JSON.stringify(alert));
  // The demo, served all along, stays silent: no alert of it pending or firing in Prometheus,
  // none delivered.
  assert.deepEqual(await demoAlerts(f), []);
  const delivered = f.stack.receiver
    .alerts()
    .filter((a) => a.labels.service === SERVICE && !a.alertname.startsWith('DiskSpace'));
  assert.deepEqual(
    delivered.map((a) => `${a.alertname} ${a.status}`),
    [],
  );
}

/** The SLO dashboard's panels on the `service` variable show python-agent (All selected). */
async function expectServicePanelsHaveData(f: PythonStack): Promise<void> {
  const queries = panelQueries({
    scrapeIntervalSeconds: f.stack.rendered.prometheus.scrapeIntervalMs / 1000,
  }).filter((q) => q.dashboard === 'agent-slo-alerts' && q.expr.includes('$service'));
  assert.ok(queries.length >= 3, `${queries.length} panel queries on $service`);
  for (const q of queries) {
    const result = await f.prom.query(q.expanded);
    const services = result.map((r) => r.metric.service_name);
    assert.ok(services.includes(PYTHON), `${q.panel} ${q.refId}: no ${PYTHON} in ${services}`);
  }
}

// Probes every second at this scale: ServiceDown's probe rule needs half its 8 s window failed
// and Alertmanager's scaled group_wait; 30 s leave room for a loaded machine.
const DOWN_MS = 30_000;

/**
 * The service killed (a crash: no goodbye): it has no `up`, so the probe its entry gives it
 * (prometheus/targets/probes/python-agent.yml) is what pages, its team's receiver, and the demo,
 * whose probe still succeeds, gets no page. (Not "no alert": the untargeted fault before failed
 * one of the demo's few runs, and its slow-burn and run-failure warnings go pending a little
 * later at this scale, whatever the kill does.) Last: nothing starts it again.
 */
async function expectKilledPagesItsTeamThroughItsProbe(f: PythonStack): Promise<void> {
  const entry = loadServices(REPO_ROOT).find((s) => s.name === PYTHON)!;
  const probeOf = async (service: string) =>
    (await f.prom.query(`probe_success{job="blackbox",service_name="${service}"}`))[0]?.value[1];
  assert.equal(await probeOf(PYTHON), '1', `no successful probe of ${PYTHON} before the kill`);
  const managed = f.stack.processes().find((p) => p.name === PYTHON && !p.exit);
  assert.ok(managed, `${PYTHON} is not running`);
  const killed = new Date();
  process.kill(managed.pid, 'SIGKILL');
  const alert = await waitUntil(`ServiceDown of ${PYTHON} at the receiver`, DOWN_MS, async () =>
    f.stack.receiver
      .alerts()
      .find(
        (a) =>
          a.status === 'firing' && a.alertname === 'ServiceDown' && a.labels.service === PYTHON,
      ),
  );
  f.timings.push(`killed, paged in ${((Date.now() - killed.getTime()) / 1000).toFixed(1)} s`);
  assert.equal(alert.labels.job, 'blackbox');
  assert.equal(alert.receiver, entry.team.receiver, JSON.stringify(alert));
  assert.equal(await probeOf(SERVICE), '1', 'the demo fails its probe');
  const pages = (await demoAlerts(f)).filter((a) => a.labels.severity === 'critical');
  assert.deepEqual(pages, [], 'demo pages pending or firing');
  const delivered = f.stack.receiver
    .alerts()
    .filter((a) => a.labels.service === SERVICE && new Date(a.receivedAt) >= killed)
    .filter((a) => a.severity === 'critical');
  assert.deepEqual(
    delivered.map((a) => `${a.alertname} ${a.status}`),
    [],
  );
}

interface ActiveAlert {
  labels: Record<string, string>;
  activeAt: string;
}

/** The demo's pending and firing alerts (Prometheus' alerts API: when each became active). */
async function demoAlerts(f: PythonStack): Promise<ActiveAlert[]> {
  const res = await fetch(`${f.stack.urls.prometheus}/api/v1/alerts`);
  assert.ok(res.ok, `alerts: ${res.status}`);
  const { data } = (await res.json()) as { data: { alerts: ActiveAlert[] } };
  // Not the data volume's alerts: they judge the disk of the machine the test runs on, which
  // no provider fault changes.
  return data.alerts.filter(
    (a) => a.labels.service === SERVICE && !a.labels.alertname.startsWith('DiskSpace'),
  );
}

describe('a second service, in Python, sending OTLP only (examples/python-agent)', () => {
  const f = pythonStackFixture();

  it('runs both services; a provider fault aimed at the Python one fails its runs only', () =>
    runBothWithAimedFault(f));
  it("a fault aimed at it pages its team with its generated alert; the demo's stay silent", () =>
    expectAimedFaultPagesItsTeam(f));
  it('an untargeted provider fault fails the runs of both', () => failBothWithUntargetedFault(f));
  it('its GenAI series have the app metric names and exactly its label keys (errors included)', () =>
    expectSameNamesAndLabelKeys(f));
  it('answers bad input with a 4xx problem+json that points at the field', () =>
    expectProblemsForBadInput(f));
  it('with the same bucket boundaries: GenAI as the app, HTTP server as the app HTTP histogram', () =>
    expectSameBoundaries(f));
  it('carries its service label on every pushed series, and counts what it did', () =>
    expectServiceLabelAndCounts(f));
  it('keeps its exemplars through the push: trace ids of traces Jaeger has', () =>
    expectExemplarsSurvive(f));
  it("has a run's whole trace in Jaeger, and its log lines in VictoriaLogs by that trace id", () =>
    expectTraceAndLogs(f));
  it('killed, it pages its team through the probe of its entry; the demo gets no page', () =>
    expectKilledPagesItsTeamThroughItsProbe(f));
});
