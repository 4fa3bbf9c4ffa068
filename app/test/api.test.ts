import assert from 'node:assert/strict';
import request from 'supertest';
import { AGENT_NAMES, MODELS } from '../src/agent/catalog';
import { planLength } from '../src/agent/runner';
import type { RunRecord } from '../src/agent/run';
import { appPerTest, buildApp, FREE_KEY, PRO_KEY } from './support/app';
import { getWithKey, postRun, scrape, scrapeText } from './support/http';
import { delta } from './support/metrics';

describe('agent API', () => {
  const t = appPerTest();

  describe('GET /v1/agents', () => {
    it('lists the three agents with their default models and tools, and the price table', async () => {
      const res = await getWithKey(t.app, '/v1/agents', FREE_KEY).expect(200);
      assert.match(res.headers['content-type']!, /^application\/json/);
      assert.deepEqual(
        res.body.agents.map((a: { name: string }) => a.name),
        [...AGENT_NAMES],
      );
      const analyst = res.body.agents.find((a: { name: string }) => a.name === 'analyst');
      assert.equal(analyst.default_model, 'sim-medium');
      assert.deepEqual(analyst.tools, ['calculator', 'search']);
      const large = res.body.models.find((m: { name: string }) => m.name === 'sim-large');
      assert.equal(large.provider, 'simulated');
      assert.equal(large.input_usd_per_million_tokens, MODELS['sim-large'].inputUsdPerMillion);
      assert.equal(large.output_usd_per_million_tokens, MODELS['sim-large'].outputUsdPerMillion);
    });

    it('echoes a sane X-Request-Id and replaces an unsafe one', async () => {
      const kept = await getWithKey(t.app, '/v1/agents', FREE_KEY)
        .set('X-Request-Id', 'client-req-42')
        .expect(200);
      assert.equal(kept.headers['x-request-id'], 'client-req-42');
      const replaced = await getWithKey(t.app, '/v1/agents', FREE_KEY)
        .set('X-Request-Id', 'bad id with spaces\u00e9')
        .expect(200);
      assert.match(replaced.headers['x-request-id']!, /^[0-9a-f-]{36}$/);
    });
  });

  describe('POST /v1/agents/:agent/runs', () => {
    it('runs a plan of LLM steps with a tool call and reports tokens, cost and trace id', async () => {
      const input = 'Please compute (12 + 30) * 2 for the billing report';
      const res = await postRun(t.app, 'analyst', PRO_KEY).send({ input }).expect(201);
      const run = res.body as RunRecord;
      assert.equal(res.headers.location, `/v1/runs/${run.id}`);
      assert.equal(run.agent, 'analyst');
      assert.equal(run.model, 'sim-medium');
      assert.equal(run.tier, 'pro');
      assert.equal(run.status, 'success');
      assert.equal(run.cached, false);
      assert.match(run.trace_id!, /^[0-9a-f]{32}$/);

      const llmSteps = run.steps.filter((step) => step.type === 'llm');
      const toolSteps = run.steps.filter((step) => step.type === 'tool');
      assert.equal(llmSteps.length, planLength(input));
      assert.ok(llmSteps.length >= 2 && llmSteps.length <= 4);
      assert.equal(toolSteps.length, 1);
      assert.deepEqual(
        { tool: toolSteps[0]!.tool, input: toolSteps[0]!.input, output: toolSteps[0]!.output },
        { tool: 'calculator', input: '(12 + 30) * 2', output: '84' },
      );
      // The tool runs after the first LLM step.
      assert.deepEqual(
        run.steps.map((step) => step.type),
        ['llm', 'tool', ...Array(llmSteps.length - 1).fill('llm')],
      );

      const inputTokens = llmSteps.reduce((sum, step) => sum + step.input_tokens, 0);
      const outputTokens = llmSteps.reduce((sum, step) => sum + step.output_tokens, 0);
      assert.deepEqual(run.usage, {
        input_tokens: inputTokens,
        output_tokens: outputTokens,
        total_tokens: inputTokens + outputTokens,
      });
      const price = MODELS['sim-medium'];
      for (const step of llmSteps) {
        const expected =
          (step.input_tokens * price.inputUsdPerMillion +
            step.output_tokens * price.outputUsdPerMillion) /
          1e6;
        assert.ok(Math.abs(step.cost_usd - expected) < 1e-9, `${step.cost_usd} vs ${expected}`);
      }
      const totalCost = llmSteps.reduce((sum, step) => sum + step.cost_usd, 0);
      assert.ok(Math.abs(run.cost_usd - totalCost) < 1e-8);
      // Later steps see the earlier outputs: their prompts grow.
      assert.ok(llmSteps[1]!.input_tokens > llmSteps[0]!.input_tokens);
    });

    it('uses the requested model instead of the default', async () => {
      const res = await postRun(t.app, 'research', FREE_KEY)
        .send({ input: 'What is a trace?', model: 'sim-small' })
        .expect(201);
      assert.equal(res.body.model, 'sim-small');
      assert.equal(res.body.tier, 'free');
      assert.equal(res.body.steps[1].tool, 'search');
      assert.equal(res.body.steps[1].output, 'A trace is the tree of spans one request caused.');
    });

    it('serves an identical prompt from the cache: stored as its own run, no tokens spent', async () => {
      const body = { input: 'How do I reset my password?' };
      const first = await postRun(t.app, 'support', PRO_KEY).send(body).expect(201);
      const second = await postRun(t.app, 'support', PRO_KEY).send(body).expect(201);
      assert.equal(first.body.cached, false);
      assert.equal(second.body.cached, true);
      assert.notEqual(second.body.id, first.body.id);
      assert.equal(second.body.output, first.body.output);
      assert.deepEqual(second.body.steps, first.body.steps);
      assert.deepEqual(second.body.usage, { input_tokens: 0, output_tokens: 0, total_tokens: 0 });
      assert.equal(second.body.cost_usd, 0);
      // Another model is another cache entry.
      const other = await postRun(t.app, 'support', PRO_KEY)
        .send({ ...body, model: 'sim-large' })
        .expect(201);
      assert.equal(other.body.cached, false);
      const stored = await getWithKey(t.app, `/v1/runs/${second.body.id}`, PRO_KEY).expect(200);
      assert.equal(stored.body.cached, true);
    });

    it('answers 504 when the run outlasts RUN_TIMEOUT_MS, and stores it as timed out', async () => {
      const slow = buildApp({ LLM_LATENCY_SCALE: '1', RUN_TIMEOUT_MS: '50' });
      try {
        const before = await scrape(slow.ops);
        const res = await postRun(slow.app, 'research', PRO_KEY)
          .send({ input: 'a long question' })
          .expect(504);
        assert.equal(res.body.type, 'tag:agent-service.local,2026:problem:run-timeout');
        assert.equal(res.body.run_status, 'timeout');
        const stored = await getWithKey(slow.app, `/v1/runs/${res.body.run_id}`, PRO_KEY).expect(
          200,
        );
        assert.equal(stored.body.status, 'timeout');
        assert.match(stored.body.error, /within 50 ms/);
        const after = await scrape(slow.ops);
        const labels = { agent: 'research', tier: 'pro', status: 'timeout' };
        assert.equal(delta(after, before, 'agent_runs_total', labels), 1);
      } finally {
        slow.close();
      }
    });

    it('answers 404 with a problem for an unknown agent', async () => {
      const res = await postRun(t.app, 'poet', PRO_KEY).send({ input: 'a haiku' }).expect(404);
      assert.match(res.headers['content-type']!, /^application\/problem\+json/);
      assert.match(res.body.detail, /no agent "poet"/);
    });
  });

  describe('GET /v1/runs/:id', () => {
    it('returns the stored run to the key that made it and 404 to any other key', async () => {
      const created = await postRun(t.app, 'research', PRO_KEY)
        .send({ input: 'What does an SLO allow?' })
        .expect(201);
      const read = await getWithKey(t.app, `/v1/runs/${created.body.id}`, PRO_KEY).expect(200);
      assert.deepEqual(read.body, created.body);
      const foreign = await getWithKey(t.app, `/v1/runs/${created.body.id}`, FREE_KEY).expect(404);
      assert.equal(foreign.body.status, 404);
    });

    it('answers 404 for ids that do not exist or are not ids at all', async () => {
      await getWithKey(t.app, '/v1/runs/00000000-0000-4000-8000-000000000000', PRO_KEY).expect(404);
      const res = await getWithKey(t.app, '/v1/runs/not-a-run-id', PRO_KEY).expect(404);
      assert.match(res.body.detail, /no run "not-a-run-id"/);
    });
  });

  describe('health endpoints', () => {
    it('GET /health/live answers 200', async () => {
      const res = await request(t.ops).get('/health/live').expect(200);
      assert.deepEqual(res.body, { status: 'ok' });
    });

    it('GET /health/ready answers 200 with its checks', async () => {
      const res = await request(t.ops).get('/health/ready').expect(200);
      assert.equal(res.body.status, 'ready');
      assert.equal(res.body.checks.database.status, 'ok');
      assert.equal(res.body.checks.shutdown.status, 'ok');
    });

    it('GET /health/ready answers 503 naming the check once shutting down', async () => {
      t.services.lifecycle.shuttingDown = true;
      const res = await request(t.ops).get('/health/ready').expect(503);
      assert.equal(res.body.status, 'not_ready');
      assert.deepEqual(res.body.checks.shutdown, { status: 'fail', detail: 'shutting down' });
    });

    it('GET /health reports every check and healthy', async () => {
      const res = await request(t.ops).get('/health').expect(200);
      assert.equal(res.body.status, 'healthy');
      assert.deepEqual(Object.keys(res.body.checks).sort(), [
        'database',
        'disk',
        'event_loop',
        'llm_provider',
        'memory',
      ]);
      assert.equal(res.body.checks.llm_provider.circuit, 'closed');
      assert.ok(res.body.checks.disk.size_bytes > 0);
      assert.ok(res.body.checks.memory.heap_used_bytes > 0);
      assert.equal(typeof res.body.version, 'string');
    });

    it('GET /health is degraded when a non-essential check fails', async () => {
      const strict = buildApp({ HEALTH_DISK_MIN_FREE_RATIO: '1' });
      try {
        const res = await request(strict.ops).get('/health').expect(200);
        assert.equal(res.body.status, 'degraded');
        assert.equal(res.body.checks.disk.status, 'fail');
      } finally {
        strict.close();
      }
    });
  });

  describe('the management listener', () => {
    it('serves /metrics, /health* and /admin/* by default, and the API port does not', async () => {
      const t = buildApp();
      try {
        assert.ok(t.management, 'no management application by default');
        for (const path of [
          '/metrics',
          '/health',
          '/health/ready',
          '/health/live',
          '/admin/chaos',
        ]) {
          await request(t.app).get(path).expect(404);
        }
        await getWithKey(t.app, '/v1/agents', PRO_KEY).expect(200);
        await request(t.management).get('/health/ready').expect(200);
        await getWithKey(t.management, '/v1/agents', PRO_KEY).expect(404);
      } finally {
        t.close();
      }
    });

    it('renders /metrics at most about once a second (METRICS_CACHE_MS)', async () => {
      const t = buildApp({ METRICS_CACHE_MS: '1000' });
      try {
        const first = (await scrapeText(t.ops)).text;
        await getWithKey(t.app, '/v1/agents', PRO_KEY).expect(200);
        assert.equal((await scrapeText(t.ops)).text, first);
        await new Promise((resolve) => setTimeout(resolve, 1100));
        assert.notEqual((await scrapeText(t.ops)).text, first);
      } finally {
        t.close();
      }
    });
  });
});
