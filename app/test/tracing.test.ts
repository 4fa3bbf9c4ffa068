import assert from 'node:assert/strict';
import request from 'supertest';
import type { LlmStep, RunRecord } from '../src/agent/run';
import { ADMIN_TOKEN, appPerSuite, PRO_KEY } from './support/app';
import { getWithKey, newTraceparent, postRun } from './support/http';
import { startService, type RunningService } from './support/child';
import {
  SPAN_KIND,
  startOtlpReceiver,
  type OtlpReceiver,
  type ReceivedSpan,
} from './support/otlp-receiver';
import { logLines, tracedRun, waitForSpans } from './support/telemetry';

const STATUS_ERROR = 2;

function single(spans: ReceivedSpan[], predicate: (span: ReceivedSpan) => boolean, what: string) {
  const found = spans.filter(predicate);
  assert.equal(found.length, 1, `expected one ${what}, got ${found.map((s) => s.name).join(', ')}`);
  return found[0]!;
}

describe('traces and logs', () => {
  const t = appPerSuite({ CIRCUIT_FAILURE_THRESHOLD: '100' });

  it('exports the span tree of a run over OTLP/HTTP with GenAI attributes', async () => {
    const { header, traceId, parentSpanId } = newTraceparent();
    const res = await postRun(t.app, 'analyst', PRO_KEY)
      .set('traceparent', header)
      .send({ input: 'What is 2 ^ 10 - 24?' })
      .expect(201);
    const run = res.body as RunRecord;
    assert.equal(run.trace_id, traceId);
    const llmSteps = run.steps.filter((s): s is LlmStep => s.type === 'llm');
    const expectedSpans = 1 + 1 + llmSteps.length + 1 + 1;
    const spans = await waitForSpans(traceId, (found) => found.length >= expectedSpans);
    assert.equal(spans.length, expectedSpans, spans.map((s) => s.name).join(', '));

    const server = single(spans, (s) => s.kind === SPAN_KIND.server, 'server span');
    assert.equal(server.name, 'POST /v1/agents/:agent/runs');
    assert.equal(server.parentSpanId, parentSpanId);
    assert.equal(server.attributes['http.request.method'], 'POST');
    assert.equal(server.attributes['http.route'], '/v1/agents/:agent/runs');
    assert.equal(server.attributes['http.response.status_code'], 201);
    assert.equal(server.attributes['url.path'], '/v1/agents/analyst/runs');
    assert.equal(server.resource['service.name'], 'agent-service');
    assert.equal(server.resource['service.version'], '0.1.0');

    const agent = single(spans, (s) => s.name === 'invoke_agent analyst', 'agent span');
    assert.equal(agent.parentSpanId, server.spanId);
    assert.equal(agent.kind, SPAN_KIND.internal);
    assert.equal(agent.attributes['gen_ai.operation.name'], 'invoke_agent');
    assert.equal(agent.attributes['gen_ai.agent.name'], 'analyst');
    // The agent's stable id, not the run's: that one is app.run.id.
    assert.equal(agent.attributes['gen_ai.agent.id'], 'analyst');
    assert.equal(agent.attributes['app.run.id'], run.id);
    assert.equal(agent.attributes['gen_ai.request.model'], 'sim-medium');
    assert.equal(agent.attributes['gen_ai.usage.input_tokens'], run.usage.input_tokens);
    assert.equal(agent.attributes['gen_ai.usage.output_tokens'], run.usage.output_tokens);

    const chats = spans.filter((s) => s.name === 'chat sim-medium');
    assert.equal(chats.length, llmSteps.length);
    const byTokens = (a: { i: number }, b: { i: number }) => a.i - b.i;
    assert.deepEqual(
      chats
        .map((c) => ({
          i: c.attributes['gen_ai.usage.input_tokens'] as number,
          o: c.attributes['gen_ai.usage.output_tokens'],
        }))
        .sort(byTokens),
      llmSteps.map((s) => ({ i: s.input_tokens, o: s.output_tokens })).sort(byTokens),
    );
    for (const chat of chats) {
      assert.equal(chat.parentSpanId, agent.spanId);
      assert.equal(chat.kind, SPAN_KIND.client);
      assert.equal(chat.attributes['gen_ai.operation.name'], 'chat');
      assert.equal(chat.attributes['gen_ai.provider.name'], 'simulated');
      assert.equal(chat.attributes['gen_ai.request.model'], 'sim-medium');
      assert.equal(chat.attributes['gen_ai.response.model'], 'sim-medium');
      assert.deepEqual(chat.attributes['gen_ai.response.finish_reasons'], ['stop']);
      assert.match(String(chat.attributes['gen_ai.response.id']), /^cmpl-/);
    }

    const tool = single(spans, (s) => s.name === 'execute_tool calculator', 'tool span');
    assert.equal(tool.parentSpanId, agent.spanId);
    assert.equal(tool.attributes['gen_ai.operation.name'], 'execute_tool');
    assert.equal(tool.attributes['gen_ai.tool.name'], 'calculator');

    const insert = single(spans, (s) => s.name === 'INSERT runs', 'database span');
    assert.equal(insert.parentSpanId, agent.spanId);
    assert.equal(insert.kind, SPAN_KIND.client);
    assert.equal(insert.attributes['db.system.name'], 'sqlite');
    assert.equal(insert.attributes['db.operation.name'], 'INSERT');
    assert.equal(insert.attributes['db.collection.name'], 'runs');
    assert.match(String(insert.attributes['db.query.text']), /^INSERT INTO runs .* VALUES \(\?/);
  });

  it('starts a new trace when the request carries none, named after the route', async () => {
    const res = await getWithKey(t.app, '/v1/runs/not-a-run', PRO_KEY).expect(404);
    const traceId = res.body.trace_id as string;
    assert.match(traceId, /^[0-9a-f]{32}$/);
    const spans = await waitForSpans(traceId, (found) => found.length >= 1);
    const server = single(spans, (s) => s.kind === SPAN_KIND.server, 'server span');
    assert.equal(server.name, 'GET /v1/runs/:id');
    assert.equal(server.parentSpanId, undefined);
    // A 4xx is the client's mistake: the server span is not an error.
    assert.equal(server.statusCode, 0);
    assert.equal(server.attributes['http.response.status_code'], 404);
  });

  it('scrubs personal data from client-supplied span attributes (user agent, path)', async () => {
    const res = await request(t.app)
      .get('/users/carol@example.org/profile')
      .set('User-Agent', 'bob@example.org agent')
      .expect(404);
    const spans = await waitForSpans(res.body.trace_id as string, (found) => found.length >= 1);
    const server = single(spans, (s) => s.kind === SPAN_KIND.server, 'server span');
    assert.equal(server.attributes['user_agent.original'], '[email] agent');
    assert.equal(server.attributes['url.path'], '/users/[email]/profile');
  });

  it('marks the failing LLM call, the run and the server span as errors', async () => {
    await request(t.ops)
      .put('/admin/chaos/llm_outage')
      .set('Authorization', `Bearer ${ADMIN_TOKEN}`)
      .send({ ttl_seconds: 30 })
      .expect(200);
    const { header, traceId } = newTraceparent();
    await postRun(t.app, 'support', PRO_KEY)
      .set('traceparent', header)
      .send({ input: 'is the provider up?' })
      .expect(502);
    t.services.chaos.clearAll();
    const spans = await waitForSpans(traceId, (found) =>
      found.some((s) => s.kind === SPAN_KIND.server),
    );
    const chat = single(spans, (s) => s.name === 'chat sim-small', 'chat span');
    assert.equal(chat.statusCode, STATUS_ERROR);
    assert.equal(chat.attributes['error.type'], 'unavailable');
    const agent = single(spans, (s) => s.name === 'invoke_agent support', 'agent span');
    assert.equal(agent.statusCode, STATUS_ERROR);
    assert.equal(agent.attributes['error.type'], 'ProviderError');
    const server = single(spans, (s) => s.kind === SPAN_KIND.server, 'server span');
    assert.equal(server.statusCode, STATUS_ERROR);
    // The failed run was still stored: its INSERT is in the trace too.
    single(spans, (s) => s.name === 'INSERT runs', 'database span');
  });

  it('writes JSON logs that carry the trace and span of the request', async () => {
    const input = 'mail me at alice@example.com about the billing';
    const { res, traceId, spans } = await tracedRun(t.app, 'research', 'log-test-1', input);
    const server = single(spans, (s) => s.kind === SPAN_KIND.server, 'server span');
    const agent = single(spans, (s) => s.name === 'invoke_agent research', 'agent span');

    const access = logLines().find(
      (line) => line.message === 'request' && line.request_id === 'log-test-1',
    );
    assert.ok(access, 'no access log line');
    assert.equal(access.trace_id, traceId);
    assert.equal(access.span_id, server.spanId);
    assert.equal(access.route, '/v1/agents/:agent/runs');
    assert.equal(access.status_code, 201);
    assert.equal(access.agent, 'research');
    assert.equal(access.level, 'info');

    // Written inside the run: the trace context comes from the active span.
    const runLog = logLines().find(
      (line) => line.message === 'agent run finished' && line.run_id === res.body.id,
    );
    assert.ok(runLog, 'no run log line');
    assert.equal(runLog.trace_id, traceId);
    assert.equal(runLog.span_id, agent.spanId);
    assert.ok(!logLines().some((line) => JSON.stringify(line).includes('alice@example.com')));
  });
});

describe('a caller that says not sampled', function () {
  this.timeout(30_000);
  let receiver: OtlpReceiver;
  let service: RunningService;
  before(async () => {
    receiver = await startOtlpReceiver();
    service = await startService({
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_BSP_SCHEDULE_DELAY: '100',
    });
  });
  after(async () => {
    await service.stop();
    await receiver.close();
  });

  it("is traced all the same, by the service's own ratio (1 by default)", async () => {
    const { traceId } = newTraceparent();
    const res = await fetch(`${service.url}/v1/agents/research/runs`, {
      method: 'POST',
      headers: {
        'x-api-key': PRO_KEY,
        'content-type': 'application/json',
        traceparent: `00-${traceId}-00f067aa0ba902b7-00`,
      },
      body: JSON.stringify({ input: 'a run the caller would rather not have traced' }),
    });
    assert.equal(res.status, 201);
    // The caller's trace id is kept; its "not sampled" flag does not switch tracing off.
    assert.equal(((await res.json()) as RunRecord).trace_id, traceId);
    const deadline = Date.now() + 10_000;
    while (!receiver.spansOf(traceId).some((s) => s.name === 'invoke_agent research')) {
      assert.ok(Date.now() < deadline, 'the run was not traced');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    single(receiver.spansOf(traceId), (s) => s.kind === SPAN_KIND.server, 'server span');
  });
});
