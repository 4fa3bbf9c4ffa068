import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import request from 'supertest';
import { AGENT_NAMES, AGENTS, MODEL_NAMES } from '../src/agent/catalog';
import type { LlmStep, RunRecord } from '../src/agent/run';
import { ADMIN_TOKEN, appPerSuite, buildApp, FREE_KEY, PRO_KEY } from './support/app';
import { getWithKey, newTraceparent, postRun, scrape, scrapeText } from './support/http';
import {
  assertGrowth,
  delta,
  families,
  findSample,
  parseMetrics,
  valueOf,
} from './support/metrics';
import { flushSpans, otlp } from './support/telemetry';
import { Counter, Gauge, Histogram, Registry, type OpenMetricsContentType } from 'prom-client';
import { renderOpenMetrics } from '../src/telemetry/exposition';
import { metrics, metricsText, observeWithExemplar } from '../src/telemetry/metrics';

// SPEC 4: every family, its type and its labels (histograms also carry `le` on _bucket).
const CATALOG: { family: string; type: string; labels: string[] }[] = [
  { family: 'http_requests', type: 'counter', labels: ['method', 'route', 'status_code'] },
  {
    family: 'http_request_duration_seconds',
    type: 'histogram',
    labels: ['method', 'route', 'status_code'],
  },
  { family: 'http_requests_in_flight', type: 'gauge', labels: [] },
  { family: 'http_protocol_errors', type: 'counter', labels: ['reason'] },
  { family: 'http_connections_refused', type: 'counter', labels: ['reason'] },
  { family: 'log_lines_suppressed', type: 'counter', labels: ['source'] },
  { family: 'app_data_disk_free_bytes', type: 'gauge', labels: [] },
  { family: 'app_data_disk_size_bytes', type: 'gauge', labels: [] },
  { family: 'telemetry_export_failures', type: 'counter', labels: ['signal'] },
  { family: 'agent_runs', type: 'counter', labels: ['agent', 'tier', 'status'] },
  { family: 'agent_run_duration_seconds', type: 'histogram', labels: ['agent', 'status'] },
  { family: 'agent_runs_in_progress', type: 'gauge', labels: ['agent'] },
  { family: 'agent_tool_calls', type: 'counter', labels: ['agent', 'tool', 'status'] },
  { family: 'llm_requests', type: 'counter', labels: ['provider', 'model', 'status'] },
  { family: 'llm_request_duration_seconds', type: 'histogram', labels: ['provider', 'model'] },
  { family: 'llm_tokens', type: 'counter', labels: ['provider', 'model', 'type'] },
  { family: 'llm_cost_usd', type: 'counter', labels: ['provider', 'model', 'tier', 'agent'] },
  {
    family: 'llm_cache_saved_tokens',
    type: 'counter',
    labels: ['provider', 'model', 'type'],
  },
  { family: 'llm_cache_saved_cost_usd', type: 'counter', labels: ['provider', 'model', 'tier'] },
  { family: 'agent_run_tokens', type: 'histogram', labels: ['agent'] },
  { family: 'agent_run_llm_calls', type: 'histogram', labels: ['agent'] },
  // The GenAI conventions' metrics (src/telemetry/genai.ts); error_type only on failures.
  {
    family: 'gen_ai_client_token_usage',
    type: 'histogram',
    labels: [
      'gen_ai_operation_name',
      'gen_ai_provider_name',
      'gen_ai_request_model',
      'gen_ai_token_type',
    ],
  },
  {
    family: 'gen_ai_client_operation_duration_seconds',
    type: 'histogram',
    labels: ['gen_ai_operation_name', 'gen_ai_provider_name', 'gen_ai_request_model'],
  },
  { family: 'circuit_breaker_state', type: 'gauge', labels: ['dependency'] },
  { family: 'cache_requests', type: 'counter', labels: ['cache', 'result'] },
  { family: 'db_query_duration_seconds', type: 'histogram', labels: ['operation'] },
  { family: 'db_errors', type: 'counter', labels: ['operation'] },
  { family: 'rate_limit_rejections', type: 'counter', labels: ['tier'] },
  { family: 'auth_failures', type: 'counter', labels: ['reason'] },
  { family: 'health_check_status', type: 'gauge', labels: ['check'] },
  { family: 'app_build_info', type: 'gauge', labels: ['version', 'commit', 'node_version'] },
];

const sampleName = (family: string, type: string) =>
  type === 'counter' ? `${family}_total` : type === 'histogram' ? `${family}_bucket` : family;

describe('metrics', () => {
  const t = appPerSuite({ GIT_COMMIT: 'abc1234' });

  it("writes exactly prom-client's own OpenMetrics text, in less time (exposition.ts)", async () => {
    const registry = new Registry<OpenMetricsContentType>();
    registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
    const registers = [registry];
    const counter = new Counter({
      name: 'c_total',
      help: 'a "help"\\ with\nbreaks',
      labelNames: ['a', 'b'],
      registers,
    });
    counter.labels('x"y', 'back\\slash\nnew').inc(2);
    counter.inc({ a: '', b: 'z' }, 0.5);
    new Gauge({ name: 'g', help: 'g', registers }).set(Number.NaN);
    const histogram = new Histogram({
      name: 'h_seconds',
      help: 'h',
      labelNames: ['r'],
      buckets: [0.1, 1],
      enableExemplars: true,
      registers,
    });
    observeWithExemplar(histogram, { r: 'a' }, 0.5, { trace_id: 't', span_id: 's' });
    histogram.labels('b').observe(3);
    new Histogram({ name: 'empty', help: 'never observed', registers });
    assert.equal(await renderOpenMetrics(registry), await registry.metrics());
    // The service's own registry, without the runtime families whose values move between calls.
    const steady = (text: string) =>
      text
        .split('\n')
        .filter((line) => !/^(# (HELP|TYPE) )?(process|nodejs)_/.test(line))
        .join('\n');
    assert.equal(steady(await metricsText()), steady(await metrics.registry.metrics()));
  });

  it('serves OpenMetrics text ending in # EOF', async () => {
    const { text, contentType } = await scrapeText(t.ops);
    assert.equal(contentType, 'application/openmetrics-text; version=1.0.0; charset=utf-8');
    assert.ok(text.endsWith('# EOF\n'));
  });

  it('has every catalog family with its labels after a run, plus the runtime defaults', async () => {
    await postRun(t.app, 'research', PRO_KEY)
      .send({ input: 'what is the billing cycle?' })
      .expect(201);
    await request(t.ops).get('/health').expect(200);
    const { text } = await scrapeText(t.ops);
    const types = families(text);
    const samples = parseMetrics(text);
    for (const { family, type, labels } of CATALOG) {
      assert.equal(types.get(family), type, `# TYPE of ${family}`);
      const name = sampleName(family, type);
      const sample = samples.find((s) => s.name === name);
      assert.ok(sample, `no ${name} sample`);
      const expected = type === 'histogram' ? [...labels, 'le'] : labels;
      assert.deepEqual(Object.keys(sample.labels).sort(), [...expected].sort(), name);
    }
    for (const name of [
      'process_cpu_user_seconds_total',
      'process_resident_memory_bytes',
      'nodejs_eventloop_lag_p99_seconds',
      'nodejs_heap_size_used_bytes',
      'nodejs_gc_duration_seconds_bucket',
    ]) {
      assert.ok(
        samples.some((s) => s.name === name),
        `default metric ${name}`,
      );
    }
    const build = findSample(samples, 'app_build_info', {
      version: '0.1.0',
      commit: 'abc1234',
      node_version: process.version,
    });
    assert.equal(build?.value, 1);
    assert.ok(valueOf(samples, 'app_data_disk_size_bytes') > 0);
    assert.ok(valueOf(samples, 'app_data_disk_free_bytes') > 0);
    assert.equal(valueOf(samples, 'health_check_status', { check: 'database' }), 1);
  });

  it('starts the counters of every known label set at 0', async () => {
    const samples = await scrape(t.ops);
    const exists = (name: string, labels: Record<string, string>) =>
      assert.ok(findSample(samples, name, labels), `${name} ${JSON.stringify(labels)}`);
    for (const agent of AGENT_NAMES) {
      for (const tier of ['free', 'pro']) {
        for (const status of ['success', 'error', 'timeout', 'rejected']) {
          exists('agent_runs_total', { agent, tier, status });
        }
      }
      for (const tool of AGENTS[agent].tools) {
        for (const status of ['success', 'error']) {
          exists('agent_tool_calls_total', { agent, tool, status });
        }
      }
      exists('agent_runs_in_progress', { agent });
    }
    for (const model of MODEL_NAMES) {
      for (const status of ['success', 'error', 'circuit_open']) {
        exists('llm_requests_total', { provider: 'simulated', model, status });
      }
      for (const type of ['input', 'output']) {
        exists('llm_tokens_total', { provider: 'simulated', model, type });
      }
      for (const tier of ['free', 'pro']) {
        for (const agent of AGENT_NAMES) {
          exists('llm_cost_usd_total', { provider: 'simulated', model, tier, agent });
        }
      }
    }
    for (const result of ['hit', 'miss'])
      exists('cache_requests_total', { cache: 'response', result });
    for (const operation of ['insert_run', 'get_run', 'ping']) {
      exists('db_errors_total', { operation });
    }
    for (const reason of ['missing_key', 'invalid_key', 'invalid_admin_token']) {
      exists('auth_failures_total', { reason });
    }
    for (const tier of ['free', 'pro']) exists('rate_limit_rejections_total', { tier });
    for (const signal of ['traces', 'logs', 'errors'])
      exists('telemetry_export_failures_total', { signal });
    exists('circuit_breaker_state', { dependency: 'llm_provider' });
    // The SLI's numerator and denominator exist before the first error.
    for (const [method, route] of [
      ['POST', '/v1/agents/:agent/runs'],
      ['GET', '/v1/agents'],
      ['GET', '/v1/runs/:id'],
    ]) {
      exists('http_requests_total', { method: method!, route: route!, status_code: '500' });
    }
    exists('http_requests_total', { method: 'GET', route: '/v1/agents', status_code: '200' });
    exists('http_requests_total', { method: 'PUT', route: '/admin/chaos', status_code: '200' });
  });

  it('moves every counter of a run by the right amount', async () => {
    const input = 'Compute 6 * 7 and check the refund policy';
    const before = await scrape(t.ops);
    const res = await postRun(t.app, 'analyst', FREE_KEY)
      .send({ input, model: 'sim-small' })
      .expect(201);
    const after = await scrape(t.ops);
    const run = res.body as RunRecord;
    const llmSteps = run.steps.filter((s): s is LlmStep => s.type === 'llm');
    const llm = { provider: 'simulated', model: 'sim-small' };

    assertGrowth(after, before, {
      'agent_runs_total{agent="analyst",tier="free",status="success"}': 1,
      'agent_tool_calls_total{agent="analyst",tool="calculator",status="success"}': 1,
    });
    assert.equal(
      delta(after, before, 'llm_requests_total', { ...llm, status: 'success' }),
      llmSteps.length,
    );
    assert.equal(
      delta(after, before, 'llm_tokens_total', { ...llm, type: 'input' }),
      run.usage.input_tokens,
    );
    assert.equal(
      delta(after, before, 'llm_tokens_total', { ...llm, type: 'output' }),
      run.usage.output_tokens,
    );
    const cost = delta(after, before, 'llm_cost_usd_total', {
      ...llm,
      tier: 'free',
      agent: 'analyst',
    });
    assert.ok(Math.abs(cost - run.cost_usd) < 1e-9, `${cost} vs ${run.cost_usd}`);
    assert.equal(delta(after, before, 'llm_request_duration_seconds_count', llm), llmSteps.length);
    assertGrowth(after, before, {
      'cache_requests_total{cache="response",result="miss"}': 1,
      'db_query_duration_seconds_count{operation="insert_run"}': 1,
      'agent_run_duration_seconds_count{agent="analyst",status="success"}': 1,
      'http_requests_total{method="POST",route="/v1/agents/:agent/runs",status_code="201"}': 1,
    });
    assert.equal(valueOf(after, 'agent_runs_in_progress', { agent: 'analyst' }), 0);

    // The same prompt again: a cache hit, no LLM call, no tokens.
    await postRun(t.app, 'analyst', FREE_KEY).send({ input, model: 'sim-small' }).expect(201);
    const cached = await scrape(t.ops);
    assertGrowth(cached, after, {
      'cache_requests_total{cache="response",result="hit"}': 1,
    });
    assert.equal(delta(cached, after, 'llm_requests_total', { ...llm, status: 'success' }), 0);
    assertGrowth(cached, after, {
      'agent_runs_total{agent="analyst",tier="free",status="success"}': 1,
    });
  });

  it('counts a failed tool call as a tool error without failing the run', async () => {
    const before = await scrape(t.ops);
    const res = await postRun(t.app, 'analyst', PRO_KEY)
      .send({ input: 'divide 1 / 0 please' })
      .expect(201);
    const tool = res.body.steps.find((s: { type: string }) => s.type === 'tool');
    assert.deepEqual([tool.status, tool.error], ['error', 'calculator: division by zero']);
    const after = await scrape(t.ops);
    assertGrowth(after, before, {
      'agent_tool_calls_total{agent="analyst",tool="calculator",status="error"}': 1,
    });
  });

  it('puts every alert threshold on a bucket boundary', async () => {
    const samples = await scrape(t.ops);
    const bounds = (name: string) =>
      new Set(samples.filter((s) => s.name === name).map((s) => Number(s.labels.le)));
    const expectBounds = (name: string, thresholds: number[]) => {
      const have = bounds(name);
      for (const le of thresholds) assert.ok(have.has(le), `${name} lacks le=${le}`);
    };
    expectBounds('http_request_duration_seconds_bucket', [0.005, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30]);
    expectBounds('agent_run_duration_seconds_bucket', [0.1, 1, 5, 10, 20, 30, 60, 120]);
    expectBounds('llm_request_duration_seconds_bucket', [0.1, 1, 2, 5, 10, 30, 60]);
    expectBounds('db_query_duration_seconds_bucket', [0.0001, 0.1, 0.25, 0.5, 1]);
  });

  it('attaches the trace id of the request as exemplar to the duration histograms', async () => {
    const { header, traceId } = newTraceparent();
    await postRun(t.app, 'support', PRO_KEY)
      .set('traceparent', header)
      .send({ input: `exemplar ${traceId}` })
      .expect(201);
    const samples = await scrape(t.ops);
    // The buckets of `name` whose exemplar names this trace, among those with `label`=`value`.
    const exemplarBuckets = (name: string, label: string, value: string) =>
      samples.filter(
        (s) =>
          s.name === name && s.labels[label] === value && s.exemplar?.labels.trace_id === traceId,
      );
    const httpExemplars = exemplarBuckets(
      'http_request_duration_seconds_bucket',
      'route',
      '/v1/agents/:agent/runs',
    );
    assert.equal(httpExemplars.length, 1);
    assert.match(httpExemplars[0]!.exemplar!.labels.span_id!, /^[0-9a-f]{16}$/);
    assert.ok(httpExemplars[0]!.exemplar!.value <= Number(httpExemplars[0]!.labels.le));
    const runExemplars = exemplarBuckets('agent_run_duration_seconds_bucket', 'agent', 'support');
    assert.equal(runExemplars.length, 1);
  });

  it('leaves no exemplar for a trace the sampler dropped', async () => {
    const { traceId } = newTraceparent();
    await getWithKey(t.app, '/v1/agents', PRO_KEY)
      .set('traceparent', `00-${traceId}-00f067aa0ba902b7-00`)
      .expect(200);
    const samples = await scrape(t.ops);
    assert.ok(!samples.some((s) => s.exemplar?.labels.trace_id === traceId));
  });

  it('records no HTTP metrics and makes no spans with TELEMETRY_ENABLED=false', async () => {
    const bare = buildApp({ TELEMETRY_ENABLED: 'false' });
    try {
      const { traceId, header } = newTraceparent();
      const labels = { method: 'GET', route: '/v1/runs/:id', status_code: '404' };
      const before = valueOf(await scrape(bare.ops), 'http_requests_total', labels);
      const res = await getWithKey(bare.app, '/v1/runs/nope', PRO_KEY)
        .set('traceparent', header)
        .expect(404);
      assert.equal(res.body.trace_id, undefined);
      assert.match(res.headers['x-request-id']!, /^[0-9a-f-]{36}$/);
      assert.equal(valueOf(await scrape(bare.ops), 'http_requests_total', labels), before);
      await flushSpans();
      assert.deepEqual(otlp().spansOf(traceId), []);
    } finally {
      bare.close();
    }
  });

  it('shows requests in flight while they are served', async () => {
    await request(t.ops)
      .put('/admin/chaos/latency')
      .set('Authorization', `Bearer ${ADMIN_TOKEN}`)
      .send({ value: 400, ttl_seconds: 30 })
      .expect(200);
    const idle = valueOf(await scrape(t.ops), 'http_requests_in_flight');
    const slow = getWithKey(t.app, '/v1/agents', PRO_KEY).then((res) => res);
    await sleep(150);
    const busy = valueOf(await scrape(t.ops), 'http_requests_in_flight');
    assert.equal(busy, idle + 1);
    assert.equal((await slow).status, 200);
    t.services.chaos.clearAll();
    assert.equal(valueOf(await scrape(t.ops), 'http_requests_in_flight'), idle);
  });
});
