import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import request from 'supertest';
import { MODELS } from '../src/agent/catalog';
import type { LlmStep } from '../src/agent/run';
import { ADMIN_TOKEN, appPerTest, buildApp, PRO_KEY, type TestApp } from './support/app';
import { getWithKey, postRun, scrape } from './support/http';
import { assertGrowth, delta, valueOf } from './support/metrics';

function admin(t: TestApp) {
  const auth = { Authorization: `Bearer ${ADMIN_TOKEN}` };
  return {
    put: (fault: string, body: object) =>
      request(t.ops).put(`/admin/chaos/${fault}`).set(auth).send(body),
    get: () => request(t.ops).get('/admin/chaos').set(auth),
    clear: (fault?: string) =>
      request(t.ops)
        .delete(fault ? `/admin/chaos/${fault}` : '/admin/chaos')
        .set(auth),
  };
}

const run = (t: TestApp, input = `chaos run ${Math.random()}`) =>
  postRun(t.app, 'research', PRO_KEY).send({ input });

describe('/admin/chaos', () => {
  describe('without ADMIN_TOKEN', () => {
    it('does not exist: 404 under the unmatched label', async () => {
      const t = buildApp({ ADMIN_TOKEN: '' });
      try {
        const before = await scrape(t.ops);
        await request(t.ops)
          .get('/admin/chaos')
          .set('Authorization', 'Bearer anything')
          .expect(404);
        await request(t.ops).put('/admin/chaos/llm_outage').send({ ttl_seconds: 5 }).expect(404);
        const after = await scrape(t.ops);
        assertGrowth(after, before, {
          'http_requests_total{method="GET",route="unmatched",status_code="404"}': 1,
        });
        assert.equal(t.services.chaos.list().length, 0);
      } finally {
        t.close();
      }
    });
  });

  describe('with ADMIN_TOKEN', () => {
    const t = appPerTest({ CIRCUIT_FAILURE_THRESHOLD: '2', CIRCUIT_RESET_TIMEOUT_MS: '60000' });

    it('refuses a wrong or missing token with 401 and counts it', async () => {
      const before = await scrape(t.ops);
      const wrong = await request(t.ops)
        .put('/admin/chaos/llm_outage')
        .set('Authorization', `Bearer ${ADMIN_TOKEN}x`)
        .send({ ttl_seconds: 60 })
        .expect(401);
      assert.equal(wrong.headers['www-authenticate'], 'Bearer realm="admin"');
      await request(t.ops).get('/admin/chaos').expect(401);
      await request(t.ops).delete('/admin/chaos').set('Authorization', ADMIN_TOKEN).expect(401);
      const after = await scrape(t.ops);
      assertGrowth(after, before, {
        'auth_failures_total{reason="invalid_admin_token"}': 3,
      });
      assert.equal(t.services.chaos.isActive('llm_outage'), false);
    });

    it('sets, lists and clears faults, each with an expiry', async () => {
      const set = await admin(t).put('error_ratio', { value: 0.25, ttl_seconds: 120 }).expect(200);
      assert.equal(set.body.fault, 'error_ratio');
      assert.equal(set.body.value, 0.25);
      const expiresIn = Date.parse(set.body.expires_at) - Date.now();
      assert.ok(expiresIn > 110_000 && expiresIn <= 120_000, `${expiresIn}`);
      await admin(t).put('db_outage', { ttl_seconds: 60 }).expect(200);
      const listed = await admin(t).get().expect(200);
      assert.deepEqual(
        listed.body.faults.map((f: { fault: string; value: number | null }) => [f.fault, f.value]),
        [
          ['error_ratio', 0.25],
          ['db_outage', null],
        ],
      );
      await admin(t).clear('db_outage').expect(204);
      assert.deepEqual(
        (await admin(t).get()).body.faults.map((f: { fault: string }) => f.fault),
        ['error_ratio'],
      );
      await admin(t).clear().expect(204);
      assert.deepEqual((await admin(t).get()).body.faults, []);
    });

    it('validates fault names, values and expiries', async () => {
      const unknown = await admin(t).put('meteor_strike', { ttl_seconds: 5 }).expect(404);
      assert.match(unknown.body.detail, /error_ratio, latency, llm_outage/);
      const cases: [string, object, string][] = [
        ['error_ratio', { ttl_seconds: 5 }, '/value'],
        ['error_ratio', { value: 1.5, ttl_seconds: 5 }, '/value'],
        ['cost_multiplier', { value: 0.5, ttl_seconds: 5 }, '/value'],
        ['latency', { value: -1, ttl_seconds: 5 }, '/value'],
        ['llm_outage', { value: 1, ttl_seconds: 5 }, '/value'],
        ['llm_outage', {}, '/ttl_seconds'],
        ['llm_outage', { ttl_seconds: 0 }, '/ttl_seconds'],
        ['llm_outage', { ttl_seconds: 10 ** 9 }, '/ttl_seconds'],
        ['llm_outage', { ttl_seconds: 5, forever: true }, '/forever'],
      ];
      for (const [fault, body, pointer] of cases) {
        const res = await admin(t).put(fault, body);
        assert.equal(res.status, 422, `${fault} ${JSON.stringify(body)}`);
        assert.deepEqual(
          res.body.errors.map((e: { pointer: string }) => e.pointer),
          [pointer],
          `${fault} ${JSON.stringify(body)}`,
        );
      }
      assert.deepEqual(t.services.chaos.list(), []);
    });

    it('error_ratio=1 fails every API request with 500, not the probes', async () => {
      await admin(t).put('error_ratio', { value: 1, ttl_seconds: 60 }).expect(200);
      const res = await getWithKey(t.app, '/v1/agents', PRO_KEY).expect(500);
      assert.equal(res.body.type, 'tag:agent-service.local,2026:problem:injected-fault');
      await run(t).expect(500);
      await request(t.ops).get('/health/ready').expect(200);
      await admin(t).put('error_ratio', { value: 0, ttl_seconds: 60 }).expect(200);
      await getWithKey(t.app, '/v1/agents', PRO_KEY).expect(200);
    });

    it('latency adds its milliseconds to each API request', async () => {
      await admin(t).put('latency', { value: 300, ttl_seconds: 60 }).expect(200);
      const started = performance.now();
      await getWithKey(t.app, '/v1/agents', PRO_KEY).expect(200);
      assert.ok(performance.now() - started >= 295);
    });

    it('cost_multiplier scales what every LLM call costs', async () => {
      await admin(t).put('cost_multiplier', { value: 10, ttl_seconds: 60 }).expect(200);
      const res = await run(t).expect(201);
      const price = MODELS['sim-large'];
      for (const step of res.body.steps.filter((s: LlmStep) => s.type === 'llm') as LlmStep[]) {
        const expected =
          ((step.input_tokens * price.inputUsdPerMillion +
            step.output_tokens * price.outputUsdPerMillion) /
            1e6) *
          10;
        assert.ok(Math.abs(step.cost_usd - expected) < 1e-8, `${step.cost_usd} vs ${expected}`);
      }
    });

    it('llm_outage fails runs with 502, then the open circuit fails them fast with 503', async () => {
      const before = await scrape(t.ops);
      await admin(t).put('llm_outage', { ttl_seconds: 60 }).expect(200);
      const first = await run(t).expect(502);
      assert.equal(first.body.type, 'tag:agent-service.local,2026:problem:llm-provider-error');
      assert.equal(first.body.run_status, 'error');
      // The failed run is stored and says why.
      const stored = await getWithKey(t.app, `/v1/runs/${first.body.run_id}`, PRO_KEY).expect(200);
      assert.equal(stored.body.status, 'error');
      assert.match(stored.body.error, /provider unavailable/);
      await run(t).expect(502);

      // Two failures in a row (CIRCUIT_FAILURE_THRESHOLD=2) opened the circuit.
      const refused = await run(t).expect(503);
      assert.equal(refused.body.type, 'tag:agent-service.local,2026:problem:circuit-open');
      const retryAfter = Number(refused.headers['retry-after']);
      assert.ok(retryAfter >= 1 && retryAfter <= 60, `${retryAfter}`);

      const health = await request(t.ops).get('/health').expect(200);
      assert.equal(health.body.status, 'degraded');
      assert.deepEqual(health.body.checks.llm_provider, { status: 'fail', circuit: 'open' });

      const after = await scrape(t.ops);
      const llm = { provider: 'simulated', model: 'sim-large' };
      assert.equal(delta(after, before, 'llm_requests_total', { ...llm, status: 'error' }), 2);
      assert.equal(
        delta(after, before, 'llm_requests_total', { ...llm, status: 'circuit_open' }),
        1,
      );
      assert.equal(delta(after, before, 'llm_requests_total', { ...llm, status: 'success' }), 0);
      assertGrowth(after, before, {
        'agent_runs_total{agent="research",tier="pro",status="error"}': 3,
      });
      assert.equal(valueOf(after, 'circuit_breaker_state', { dependency: 'llm_provider' }), 2);
      assert.equal(valueOf(after, 'health_check_status', { check: 'llm_provider' }), 0);
    });

    it('db_outage: readiness 503 naming the database, runs fail cleanly with 503', async () => {
      const created = await run(t).expect(201);
      const before = await scrape(t.ops);
      await admin(t).put('db_outage', { ttl_seconds: 60 }).expect(200);

      const ready = await request(t.ops).get('/health/ready').expect(503);
      assert.equal(ready.body.checks.database.status, 'fail');
      assert.match(ready.body.checks.database.detail, /not open|finalized/);
      const health = await request(t.ops).get('/health').expect(503);
      assert.equal(health.body.status, 'unhealthy');
      await request(t.ops).get('/health/live').expect(200);

      const failed = await run(t).expect(503);
      assert.equal(failed.body.type, 'tag:agent-service.local,2026:problem:database-unavailable');
      assert.doesNotMatch(JSON.stringify(failed.body), /sqlite|finalized|stack/i);
      await getWithKey(t.app, `/v1/runs/${created.body.id}`, PRO_KEY).expect(503);

      const after = await scrape(t.ops);
      assert.equal(delta(after, before, 'db_errors_total', { operation: 'insert_run' }), 1);
      assert.equal(delta(after, before, 'db_errors_total', { operation: 'get_run' }), 1);
      assert.ok(delta(after, before, 'db_errors_total', { operation: 'ping' }) >= 2);
      assert.equal(valueOf(after, 'health_check_status', { check: 'database' }), 0);

      await admin(t).clear('db_outage').expect(204);
      await request(t.ops).get('/health/ready').expect(200);
      await getWithKey(t.app, `/v1/runs/${created.body.id}`, PRO_KEY).expect(200);
    });

    it('a fault ends by itself when its ttl runs out', async () => {
      await admin(t).put('db_outage', { ttl_seconds: 0.3 }).expect(200);
      await request(t.ops).get('/health/ready').expect(503);
      const deadline = Date.now() + 5000;
      let status = 503;
      while (status !== 200 && Date.now() < deadline) {
        await sleep(100);
        status = (await request(t.ops).get('/health/ready')).status;
      }
      assert.equal(status, 200);
      assert.deepEqual((await admin(t).get()).body.faults, []);
      await run(t).expect(201);
    });
  });
});
