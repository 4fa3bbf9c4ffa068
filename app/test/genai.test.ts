// The OpenTelemetry GenAI conventions (src/telemetry/genai.ts) on /metrics and on spans, cost by
// agent, tokens per run, cache savings, the LLM chaos faults and the opt-in content capture.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import request from 'supertest';
import { RUNAWAY_LLM_STEPS } from '../src/agent/chaos';
import type { LlmStep, RunRecord } from '../src/agent/run';
import { GEN_AI_METRICS, GEN_AI_SEMCONV } from '../src/telemetry/genai';
import { BUCKETS } from '../src/telemetry/metrics';
import { ADMIN_TOKEN, appPerSuite, FREE_KEY, PRO_KEY, type TestApp } from './support/app';
import { newTraceparent, postRun, scrape, scrapeText } from './support/http';
import { assertGrowth, delta, type Sample } from './support/metrics';
import { SPAN_KIND, type ReceivedSpan } from './support/otlp-receiver';
import { waitForSpans } from './support/telemetry';

const chat = (model: string, extra: Record<string, string> = {}) => ({
  gen_ai_operation_name: 'chat',
  gen_ai_provider_name: 'simulated',
  gen_ai_request_model: model,
  ...extra,
});
/** The `le` values of a histogram family's buckets, in the order served, +Inf left out. */
const bucketBounds = (samples: Sample[], name: string) => [
  ...new Set(
    samples
      .filter((s) => s.name === `${name}_bucket` && s.labels.le !== '+Inf')
      .map((s) => Number(s.labels.le)),
  ),
];

async function run(t: TestApp, agent: string, body: object, key = PRO_KEY, traceparent?: string) {
  const req = postRun(t.app, agent, key);
  if (traceparent) req.set('traceparent', traceparent);
  return req.send(body);
}

async function setFault(t: TestApp, fault: string, value?: number) {
  await request(t.ops)
    .put(`/admin/chaos/${fault}`)
    .set('Authorization', `Bearer ${ADMIN_TOKEN}`)
    .send({ value, ttl_seconds: 60 })
    .expect(200);
}

function single(spans: ReceivedSpan[], name: string): ReceivedSpan {
  const found = spans.filter((s) => s.name === name);
  assert.equal(found.length, 1, `one ${name}: ${spans.map((s) => s.name).join(', ')}`);
  return found[0]!;
}

describe('GenAI conventions, cost and LLM faults', () => {
  const t = appPerSuite({ CIRCUIT_FAILURE_THRESHOLD: '1000' });
  afterEach(() => t.services.chaos.clearAll());

  it('names the conventions version, its commit and status in one module', () => {
    assert.equal(GEN_AI_SEMCONV.version, '1.41.0');
    assert.match(GEN_AI_SEMCONV.commit, /^[0-9a-f]{40}$/);
    assert.equal(GEN_AI_SEMCONV.status, 'Development');
  });

  it('serves the two gen_ai_client_* histograms with the advised buckets, from the start', async () => {
    const { text } = await scrapeText(t.ops);
    assert.match(text, /^# TYPE gen_ai_client_token_usage histogram$/m);
    assert.match(text, /^# TYPE gen_ai_client_operation_duration_seconds histogram$/m);
    const samples = await scrape(t.ops);
    // Written out as gen-ai-metrics.md states them, not derived like the module's.
    assert.deepEqual(
      bucketBounds(samples, 'gen_ai_client_token_usage'),
      [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864],
    );
    assert.deepEqual(
      bucketBounds(samples, 'gen_ai_client_operation_duration_seconds'),
      [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92],
    );
    assert.deepEqual(GEN_AI_METRICS.tokenUsage.buckets.at(-1), 67108864);
    for (const type of ['input', 'output']) {
      const labels = chat('sim-small', { gen_ai_token_type: type, le: '+Inf' });
      assert.ok(
        samples.some((s) => s.name === 'gen_ai_client_token_usage_bucket' && same(s, labels)),
      );
    }
  });

  it('counts a run in tokens, duration, cost by agent and tokens per run', async () => {
    const before = await scrape(t.ops);
    const res = await run(t, 'support', { input: 'How do invoices work?' }, FREE_KEY);
    assert.equal(res.status, 201);
    const after = await scrape(t.ops);
    const record = res.body as RunRecord;
    const calls = record.steps.filter((s): s is LlmStep => s.type === 'llm').length;
    const input = chat('sim-small', { gen_ai_token_type: 'input' });
    const output = chat('sim-small', { gen_ai_token_type: 'output' });
    assert.equal(
      delta(after, before, 'gen_ai_client_token_usage_sum', input),
      record.usage.input_tokens,
    );
    assert.equal(
      delta(after, before, 'gen_ai_client_token_usage_sum', output),
      record.usage.output_tokens,
    );
    assert.equal(delta(after, before, 'gen_ai_client_token_usage_count', input), calls);
    assert.equal(
      delta(after, before, 'gen_ai_client_operation_duration_seconds_count', chat('sim-small')),
      calls,
    );
    const cost = delta(after, before, 'llm_cost_usd_total', {
      provider: 'simulated',
      model: 'sim-small',
      tier: 'free',
      agent: 'support',
    });
    assert.ok(Math.abs(cost - record.cost_usd) < 1e-9, `${cost} vs ${record.cost_usd}`);
    assertGrowth(after, before, {
      'agent_run_tokens_count{agent="support"}': 1,
      'agent_run_tokens_sum{agent="support"}': record.usage.total_tokens,
    });
  });

  it('labels failed calls with error_type and marks their spans with error.type', async () => {
    await setFault(t, 'llm_outage');
    const before = await scrape(t.ops);
    const { header, traceId } = newTraceparent();
    assert.equal((await run(t, 'research', { input: 'down?' }, PRO_KEY, header)).status, 502);
    const after = await scrape(t.ops);
    const failed = chat('sim-large', { error_type: 'unavailable' });
    assert.equal(delta(after, before, 'gen_ai_client_operation_duration_seconds_count', failed), 1);
    const spans = await waitForSpans(traceId, (f) => f.some((s) => s.kind === SPAN_KIND.server));
    assert.equal(single(spans, 'chat sim-large').attributes['error.type'], 'unavailable');
    assert.equal(single(spans, 'invoke_agent research').attributes['error.type'], 'ProviderError');
  });

  it('links LLM latency and tokens per run to the trace with exemplars', async () => {
    const { header, traceId } = newTraceparent();
    assert.equal(
      (await run(t, 'analyst', { input: 'exemplar please' }, PRO_KEY, header)).status,
      201,
    );
    const samples = await scrape(t.ops);
    for (const name of ['llm_request_duration_seconds_bucket', 'agent_run_tokens_bucket']) {
      assert.ok(
        samples.some((s) => s.name === name && s.exemplar?.labels.trace_id === traceId),
        `${name} has an exemplar of trace ${traceId}`,
      );
    }
  });

  it('counts what a cache hit saved, in tokens and dollars', async () => {
    const body = { input: 'Summarise the refund policy.' };
    const first = (await run(t, 'support', body)).body as RunRecord;
    const before = await scrape(t.ops);
    const second = (await run(t, 'support', body)).body as RunRecord;
    const after = await scrape(t.ops);
    assert.equal(second.cached, true);
    const llm = { provider: 'simulated', model: 'sim-small' };
    const saved = (type: string) =>
      delta(after, before, 'llm_cache_saved_tokens_total', { ...llm, type });
    assert.equal(saved('input'), first.usage.input_tokens);
    assert.equal(saved('output'), first.usage.output_tokens);
    const usd = delta(after, before, 'llm_cache_saved_cost_usd_total', { ...llm, tier: 'pro' });
    assert.ok(Math.abs(usd - first.cost_usd) < 1e-9, `${usd} vs ${first.cost_usd}`);
    // A cached run spent nothing: it is no sample of tokens per run.
    assert.equal(delta(after, before, 'agent_run_tokens_count', { agent: 'support' }), 0);
  });

  it('puts the agent id, run id, conversation id and tool call id on the spans', async () => {
    const { header, traceId } = newTraceparent();
    const res = await run(
      t,
      'analyst',
      { input: 'What is 3 * 14?', conversation_id: 'conv-42' },
      PRO_KEY,
      header,
    );
    assert.equal(res.status, 201);
    const spans = await waitForSpans(traceId, (f) => f.some((s) => s.kind === SPAN_KIND.server));
    const agent = single(spans, 'invoke_agent analyst');
    assert.equal(agent.attributes['gen_ai.agent.id'], 'analyst');
    assert.equal(agent.attributes['app.run.id'], res.body.id);
    assert.equal(agent.attributes['gen_ai.conversation.id'], 'conv-42');
    for (const span of spans.filter((s) => s.name.startsWith('chat '))) {
      assert.equal(span.attributes['gen_ai.conversation.id'], 'conv-42');
      assert.equal(span.attributes['gen_ai.response.model'], 'sim-medium');
    }
    const tool = single(spans, 'execute_tool calculator');
    assert.match(String(tool.attributes['gen_ai.tool.call.id']), /^call_[0-9a-f-]{36}_\d+$/);
    // Content capture is off by default: no prompt, no completion.
    for (const span of spans) {
      assert.equal(span.attributes['gen_ai.input.messages'], undefined);
      assert.equal(span.attributes['gen_ai.output.messages'], undefined);
    }
  });

  it('refuses a malformed conversation_id with 422 and runs nothing', async () => {
    const before = await scrape(t.ops);
    const res = await run(t, 'support', { input: 'hi', conversation_id: 'a b\n' });
    assert.equal(res.status, 422);
    assert.match(JSON.stringify(res.body), /conversation_id/);
    const after = await scrape(t.ops);
    const runs = { agent: 'support', tier: 'pro', status: 'success' };
    assert.equal(delta(after, before, 'agent_runs_total', runs), 0);
  });

  it(`runaway: a looping run makes ${RUNAWAY_LLM_STEPS} LLM calls, past the limit of 8`, async () => {
    await setFault(t, 'runaway', 1);
    const before = await scrape(t.ops);
    const res = await run(t, 'support', { input: 'loop on this' });
    assert.equal(res.status, 201);
    const after = await scrape(t.ops);
    const record = res.body as RunRecord;
    assert.equal(record.steps.filter((s) => s.type === 'llm').length, RUNAWAY_LLM_STEPS);
    assert.ok(RUNAWAY_LLM_STEPS > 8 && BUCKETS.runLlmCalls.includes(8), 'past a bucket boundary');
    const calls = { agent: 'support' };
    assert.equal(delta(after, before, 'agent_run_llm_calls_sum', calls), RUNAWAY_LLM_STEPS);
    assert.equal(delta(after, before, 'agent_run_llm_calls_bucket', { ...calls, le: '8' }), 0);
  });

  it('runaway: a loop stops at its plan once the fault is cleared', async () => {
    await setFault(t, 'llm_latency', 50);
    await setFault(t, 'runaway', 1);
    // then() sends the request; 120 ms in, the run has made at most 3 calls of 50 ms.
    const pending = run(t, 'support', { input: 'loop until cleared' }).then(
      (res) => res.body as RunRecord,
    );
    await sleep(120);
    t.services.chaos.clear('runaway');
    // Its plan is 2-4 calls: it ends there, not at the runaway's 12.
    const calls = (await pending).steps.filter((s) => s.type === 'llm').length;
    assert.ok(calls >= 2 && calls <= 4, `${calls} calls`);
  });

  it('llm_latency: every LLM call waits the added milliseconds', async () => {
    await setFault(t, 'llm_latency', 60);
    const res = await run(t, 'support', { input: 'slow provider' });
    assert.equal(res.status, 201);
    for (const step of (res.body as RunRecord).steps.filter((s) => s.type === 'llm')) {
      assert.ok(step.duration_ms >= 59, `${step.duration_ms} ms`);
    }
  });
});

function same(sample: Sample, labels: Record<string, string>): boolean {
  const keys = Object.keys(labels);
  return (
    Object.keys(sample.labels).length === keys.length &&
    keys.every((k) => sample.labels[k] === labels[k])
  );
}

describe('prompt and completion capture (opt-in)', () => {
  const t = appPerSuite({
    OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: 'true',
    GENAI_CAPTURE_MAX_CHARS: '300',
  });

  it('records the messages as the conventions say, scrubbed and cut to the cap', async () => {
    const { header, traceId } = newTraceparent();
    const input = `Mail carol@example.org the answer. ${'x'.repeat(1000)}`;
    assert.equal((await run(t, 'support', { input }, PRO_KEY, header)).status, 201);
    const spans = await waitForSpans(traceId, (f) => f.some((s) => s.kind === SPAN_KIND.server));
    const chats = spans.filter((s) => s.name === 'chat sim-small');
    assert.ok(chats.length >= 2);
    for (const span of chats) {
      const inputMessages = JSON.parse(String(span.attributes['gen_ai.input.messages'])) as {
        role: string;
        parts: { type: string; content: string }[];
      }[];
      assert.equal(inputMessages[0]!.role, 'user');
      const content = inputMessages[0]!.parts[0]!.content;
      assert.ok(!content.includes('carol@example.org'), 'scrubbed');
      assert.ok(content.endsWith('…[truncated]'), 'cut');
      assert.ok(content.length <= 300 + '…[truncated]'.length, `${content.length} characters`);
      const output = JSON.parse(String(span.attributes['gen_ai.output.messages'])) as {
        role: string;
        finish_reason: string;
        parts: { content: string }[];
      }[];
      assert.equal(output[0]!.role, 'assistant');
      assert.equal(output[0]!.finish_reason, 'stop');
      assert.match(output[0]!.parts[0]!.content, /^sim-small considered/);
    }
    const agent = single(spans, 'invoke_agent support');
    assert.equal(agent.attributes['gen_ai.input.messages'], undefined, 'only on chat spans');
  });
});
