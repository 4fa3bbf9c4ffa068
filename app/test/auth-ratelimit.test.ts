import assert from 'node:assert/strict';
import request from 'supertest';
import { ADMIN_TOKEN, appPerSuite, FREE_KEY, PRO_KEY } from './support/app';
import { getWithKey, postRun, scrape } from './support/http';
import { assertGrowth, delta, valueOf } from './support/metrics';
import { logLines } from './support/telemetry';

describe('API keys', () => {
  const t = appPerSuite();

  it('no key → 401 counted as missing_key', async () => {
    const before = await scrape(t.ops);
    const res = await request(t.app).get('/v1/agents').expect(401);
    assert.match(res.headers['content-type']!, /^application\/problem\+json/);
    assert.equal(res.headers['www-authenticate'], 'ApiKey header="X-API-Key"');
    assert.match(res.body.detail, /X-API-Key/);
    const after = await scrape(t.ops);
    const grown = (reason: string) => delta(after, before, 'auth_failures_total', { reason });
    assert.equal(grown('missing_key'), 1);
    assert.equal(grown('invalid_key'), 0);
  });

  it('a wrong key → 401 counted as invalid_key, on every API route', async () => {
    const before = await scrape(t.ops);
    await request(t.app).get('/v1/agents').set('X-API-Key', 'sk-guess').expect(401);
    await postRun(t.app, 'research', `${PRO_KEY}x`).send({ input: 'hi' }).expect(401);
    await request(t.app)
      .get('/v1/runs/00000000-0000-4000-8000-000000000000')
      .set('X-API-Key', 'x'.repeat(5000))
      .expect(401);
    const after = await scrape(t.ops);
    assert.equal(delta(after, before, 'auth_failures_total', { reason: 'invalid_key' }), 3);
  });

  it('authenticates before looking anything up: no agent names, routes or methods leak', async () => {
    const unknownAgent = await request(t.app)
      .post('/v1/agents/nope/runs')
      .send({ input: 'hi' })
      .expect(401);
    assert.doesNotMatch(unknownAgent.text, /research|analyst|support/);
    for (const method of ['delete', 'options'] as const) {
      await request(t.app)[method]('/v1/agents/research/runs').expect(401);
      await request(t.app)[method]('/v1/runs/abc').expect(401);
    }
    for (const method of ['post', 'options', 'patch'] as const) {
      const res = await request(t.ops)[method]('/admin/chaos').expect(401);
      assert.equal(res.headers.allow, undefined);
      await request(t.ops)[method]('/admin/chaos/latency').expect(401);
    }
    await request(t.ops).put('/admin/chaos/nope').send({ ttl_seconds: 1 }).expect(401);
    // With the token, the same requests reach the lookups.
    const admin = { Authorization: `Bearer ${ADMIN_TOKEN}` };
    await request(t.ops).options('/admin/chaos').set(admin).expect(204);
    await request(t.ops).put('/admin/chaos/nope').set(admin).send({ ttl_seconds: 1 }).expect(404);
    const known = await postRun(t.app, 'nope', PRO_KEY).send({ input: 'hi' }).expect(404);
    assert.match(known.text, /research/);
  });

  it('a valid key is accepted and its tier applies', async () => {
    const res = await postRun(t.app, 'support', FREE_KEY)
      .send({ input: 'refund please' })
      .expect(201);
    assert.equal(res.body.tier, 'free');
  });
});

describe('failed authentication attempts', () => {
  const t = appPerSuite({ AUTH_FAILURE_BURST: '5', AUTH_FAILURE_RPS: '0.1' });

  it('are throttled per address (429, Retry-After), still counted, never blocking a valid key', async () => {
    const before = await scrape(t.ops);
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) {
      const res = await request(t.app).get('/v1/agents').set('X-API-Key', `guess-${i}`);
      statuses.push(res.status);
      if (res.status === 429) {
        assert.match(res.headers['content-type']!, /^application\/problem\+json/);
        assert.ok(Number(res.headers['retry-after']) >= 1);
      }
    }
    assert.deepEqual(statuses, [...Array(5).fill(401), ...Array(7).fill(429)]);
    await request(t.app).get('/v1/agents').expect(429);
    await request(t.ops)
      .get('/admin/chaos')
      .set('Authorization', 'Bearer not-the-token')
      .expect(429);
    // The same address, with a valid key: served.
    await getWithKey(t.app, '/v1/agents', PRO_KEY).expect(200);
    const after = await scrape(t.ops);
    const grown = (reason: string) => delta(after, before, 'auth_failures_total', { reason });
    assert.equal(grown('invalid_key'), 5);
    assert.equal(grown('throttled'), 9);
  });

  it('keep the access log bounded', async () => {
    const first = logLines().length;
    const started = performance.now();
    for (let i = 0; i < 100; i++) await request(t.app).get('/v1/agents').set('X-API-Key', 'x');
    // One more after the window, which reports what was left out.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await request(t.app).get('/v1/agents').set('X-API-Key', 'x');
    const seconds = (performance.now() - started) / 1000;
    const lines = logLines()
      .slice(first)
      .filter((line) => line.message === 'request');
    // 20 lines a second (observe.ts), in each one-second window the test touched.
    assert.ok(lines.length <= 20 * Math.ceil(seconds + 1), `${lines.length} lines in ${seconds} s`);
    const left = lines.reduce((sum, line) => sum + ((line.suppressed as number) ?? 0), 0);
    assert.ok(left > 0 && lines.length + left <= 101, `${lines.length} logged, ${left} left out`);
  });
});

describe('rate limits', () => {
  // Three requests at once, then one every 100 s: the fourth is refused.
  const t = appPerSuite({ RATE_LIMIT_FREE_RPS: '0.01', RATE_LIMIT_FREE_BURST: '3' });

  it('over the tier rate → 429 with Retry-After; counted per tier and as rejected runs', async () => {
    const before = await scrape(t.ops);
    for (let i = 0; i < 3; i++) {
      await getWithKey(t.app, '/v1/agents', FREE_KEY).expect(200);
    }
    const res = await postRun(t.app, 'research', FREE_KEY).send({ input: 'one more' }).expect(429);
    assert.match(res.headers['content-type']!, /^application\/problem\+json/);
    const retryAfter = Number(res.headers['retry-after']);
    assert.ok(
      Number.isInteger(retryAfter) && retryAfter >= 90 && retryAfter <= 100,
      `${retryAfter}`,
    );
    assert.match(res.body.detail, /free tier/);

    // The pro key has its own bucket.
    await getWithKey(t.app, '/v1/agents', PRO_KEY).expect(200);

    const after = await scrape(t.ops);
    assertGrowth(after, before, {
      'rate_limit_rejections_total{tier="free"}': 1,
      'rate_limit_rejections_total{tier="pro"}': 0,
      'agent_runs_total{agent="research",tier="free",status="rejected"}': 1,
      'http_requests_total{method="POST",route="/v1/agents/:agent/runs",status_code="429"}': 1,
    });
  });
});

describe('concurrent runs', () => {
  // sim-small steps of about 250 ms: a run takes 0.5–1 s.
  const t = appPerSuite({ MAX_CONCURRENT_RUNS: '2', LLM_LATENCY_SCALE: '1' });

  const run = (input: string) =>
    postRun(t.app, 'support', PRO_KEY).send({ input, model: 'sim-small' });

  it('past MAX_CONCURRENT_RUNS → 503 with Retry-After, counted; the cap is a gauge', async () => {
    const before = await scrape(t.ops);
    const slow = [run('first slow run'), run('second slow run')].map((r) => r.then((res) => res));
    await new Promise((resolve) => setTimeout(resolve, 100));
    const refused = await run('one too many');
    assert.equal(refused.status, 503);
    assert.match(refused.headers['content-type']!, /^application\/problem\+json/);
    assert.equal(refused.body.type, 'tag:agent-service.local,2026:problem:overloaded');
    assert.ok(Number(refused.headers['retry-after']) >= 1);
    assert.deepEqual(
      (await Promise.all(slow)).map((res) => res.status),
      [201, 201],
    );
    await run('after the others').expect(201);
    const after = await scrape(t.ops);
    assert.equal(valueOf(after, 'agent_runs_concurrency_limit', {}), 2);
    assert.equal(delta(after, before, 'agent_runs_rejected_total', { reason: 'overloaded' }), 1);
  });
});
