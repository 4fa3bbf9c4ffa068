// The simulated provider's OpenAI-compatible listener (http/provider-api.ts): the shape the
// official SDKs read, token counts from the prompt, simulated errors, faults aimed at one caller
// (and only at it), bad input as 4xx problem+json, and none of it in the service's own metrics.
import assert from 'node:assert/strict';
import request from 'supertest';
import { MODELS } from '../src/agent/catalog';
import { MAX_TARGETED_FAULTS } from '../src/agent/chaos';
import { estimateTokens } from '../src/agent/provider';
import { ConfigError, loadConfig } from '../src/config';
import { ADMIN_TOKEN, appPerTest, PRO_KEY, testEnv, type TestApp } from './support/app';
import { startService } from './support/child';
import { postRun, scrape } from './support/http';
import { delta } from './support/metrics';

const PROVIDER_KEY = 'test-provider-key-0123456789';
const PATH = '/v1/chat/completions';
const PROBLEM_JSON = /^application\/problem\+json/;

const chat = (t: TestApp, body: object | string, headers: Record<string, string> = {}) =>
  request(t.provider!)
    .post(PATH)
    .set({ Authorization: `Bearer ${PROVIDER_KEY}`, ...headers })
    .send(body);

const ask = (content: string, extra: object = {}) => ({
  model: 'sim-small',
  messages: [{ role: 'user', content }],
  ...extra,
});

const setFault = (t: TestApp, fault: string, body: object) =>
  request(t.ops)
    .put(`/admin/chaos/${fault}`)
    .set('Authorization', `Bearer ${ADMIN_TOKEN}`)
    .send(body);

describe('provider listener: POST /v1/chat/completions', () => {
  const t = appPerTest({ PROVIDER_PORT: '8001', PROVIDER_API_KEY: PROVIDER_KEY });

  it('answers a chat completion in the shape the OpenAI SDKs read, with usage', async () => {
    const system = 'You plan.';
    const user = 'What is the capital of France, and why does it matter?';
    const res = await chat(t, {
      model: 'sim-medium',
      messages: [
        { role: 'system', content: system },
        { role: 'user', content: [{ type: 'text', text: user }] },
      ],
      // Parameters the simulation does not model are accepted and ignored.
      temperature: 0.2,
      user: 'someone',
    }).expect(200);
    assert.match(String(res.headers['content-type']), /^application\/json/);
    assert.match(String(res.headers['x-request-id']), /^[0-9a-f-]{36}$/);
    const body = res.body;
    assert.match(body.id, /^chatcmpl-/);
    assert.equal(body.object, 'chat.completion');
    assert.equal(body.model, 'sim-medium');
    assert.ok(Math.abs(body.created - Date.now() / 1000) < 5, `created ${body.created}`);
    assert.equal(body.choices.length, 1);
    const [choice] = body.choices;
    assert.equal(choice.index, 0);
    assert.equal(choice.finish_reason, 'stop');
    assert.equal(choice.message.role, 'assistant');
    assert.equal(typeof choice.message.content, 'string');
    const { min, max } = MODELS['sim-medium'].outputTokens;
    assert.equal(body.usage.prompt_tokens, estimateTokens(`${system}\n${user}`));
    assert.ok(body.usage.completion_tokens >= min && body.usage.completion_tokens <= max);
    assert.equal(body.usage.total_tokens, body.usage.prompt_tokens + body.usage.completion_tokens);
  });

  it('counts input tokens from the prompt length and cuts the output at max_tokens', async () => {
    const short = await chat(t, ask('x'.repeat(40))).expect(200);
    const long = await chat(t, ask('x'.repeat(4000))).expect(200);
    assert.equal(short.body.usage.prompt_tokens, 10);
    assert.equal(long.body.usage.prompt_tokens, 1000);
    const cut = await chat(t, ask('hello', { max_tokens: 5 })).expect(200);
    assert.equal(cut.body.usage.completion_tokens, 5);
    assert.equal(cut.body.choices[0].finish_reason, 'length');
    const newer = await chat(t, ask('hello', { max_completion_tokens: 7 })).expect(200);
    assert.equal(newer.body.usage.completion_tokens, 7);
  });

  it('counts nothing in the service metrics: its calls are not the service traffic', async () => {
    // Every sample of the request, LLM and GenAI families (but the scrapes), summed per family.
    const totals = async () => {
      const sums = new Map<string, number>();
      for (const s of await scrape(t.ops)) {
        if (!/^(http_|llm_|gen_ai_|auth_)/.test(s.name) || s.labels.route === '/metrics') continue;
        sums.set(s.name, (sums.get(s.name) ?? 0) + s.value);
      }
      return Object.fromEntries(sums);
    };
    const before = await totals();
    await chat(t, ask('first')).expect(200);
    await chat(t, ask('second', { model: 'nope' })).expect(404);
    await request(t.provider!).post(PATH).send(ask('no key')).expect(401);
    assert.ok(Object.keys(before).includes('http_requests_total'));
    assert.deepEqual(await totals(), before);
  });

  it('fails as the provider does in an outage: 503, a problem with the OpenAI error', async () => {
    await setFault(t, 'llm_outage', { ttl_seconds: 60 }).expect(200);
    const down = await chat(t, ask('anyone there?')).expect(503);
    assert.match(String(down.headers['content-type']), PROBLEM_JSON);
    assert.equal(down.body.type, 'tag:agent-service.local,2026:problem:model-unavailable');
    assert.equal(down.body.error.type, 'server_error');
    assert.equal(down.body.error.code, 'service_unavailable');
    assert.match(down.body.error.message, /provider unavailable: sim-small \(503\)/);
  });
});

describe('provider listener: its own random errors (LLM_ERROR_RATE)', () => {
  const t = appPerTest({
    PROVIDER_PORT: '8001',
    PROVIDER_API_KEY: PROVIDER_KEY,
    LLM_ERROR_RATE: '1',
  });

  it('answers 500 with the problem and the OpenAI error', async () => {
    const failed = await chat(t, ask('unlucky')).expect(500);
    assert.match(String(failed.headers['content-type']), PROBLEM_JSON);
    assert.equal(failed.body.type, 'tag:agent-service.local,2026:problem:model-error');
    assert.equal(failed.body.error.type, 'server_error');
    assert.match(failed.body.error.message, /provider error: sim-small \(500\)/);
  });
});

describe('provider listener: faults aimed at one caller', () => {
  const t = appPerTest({ PROVIDER_PORT: '8001', PROVIDER_API_KEY: PROVIDER_KEY });
  const as = (caller: string) => ({ 'OpenAI-Project': caller });

  it('an llm_outage for one caller fails its calls only', async () => {
    const set = await setFault(t, 'llm_outage', { ttl_seconds: 60, caller: 'python-agent' });
    assert.equal(set.status, 200, JSON.stringify(set.body));
    assert.equal(set.body.caller, 'python-agent');
    await chat(t, ask('hit'), as('python-agent')).expect(503);
    await chat(t, ask('spared'), as('other-agent')).expect(200);
    await chat(t, ask('spared, no project')).expect(200);
    // The service's own runs name no caller: the fault is not theirs.
    const before = await scrape(t.ops);
    await postRun(t.app, 'support', PRO_KEY).send({ input: 'still fine?' }).expect(201);
    const after = await scrape(t.ops);
    const errors = { provider: 'simulated', model: 'sim-small', status: 'error' };
    assert.equal(delta(after, before, 'llm_requests_total', errors), 0);
  });

  it('an llm_latency for one caller slows its calls only', async () => {
    await setFault(t, 'llm_latency', { value: 400, ttl_seconds: 60, caller: 'slow-one' });
    const timed = async (caller: string) => {
      const started = performance.now();
      await chat(t, ask('how long?'), as(caller)).expect(200);
      return performance.now() - started;
    };
    assert.ok((await timed('slow-one')) >= 395);
    assert.ok((await timed('quick-one')) < 300);
  });

  it('lists targeted faults with their caller and clears them with the fault', async () => {
    await setFault(t, 'llm_outage', { ttl_seconds: 60 }).expect(200);
    await setFault(t, 'llm_outage', { ttl_seconds: 60, caller: 'b-agent' }).expect(200);
    await setFault(t, 'llm_outage', { ttl_seconds: 60, caller: 'a-agent' }).expect(200);
    const auth = { Authorization: `Bearer ${ADMIN_TOKEN}` };
    const listed = await request(t.ops).get('/admin/chaos').set(auth).expect(200);
    assert.deepEqual(
      listed.body.faults.map((f: { caller: string | null }) => f.caller),
      [null, 'a-agent', 'b-agent'],
    );
    await request(t.ops).delete('/admin/chaos/llm_outage').set(auth).expect(204);
    assert.deepEqual((await request(t.ops).get('/admin/chaos').set(auth)).body.faults, []);
    await chat(t, ask('back'), as('a-agent')).expect(200);
  });

  it('refuses a caller on faults that cannot target one, bad names, and past the bound', async () => {
    const cases: [string, object][] = [
      ['error_ratio', { value: 1, ttl_seconds: 5, caller: 'python-agent' }],
      ['db_outage', { ttl_seconds: 5, caller: 'python-agent' }],
      ['llm_outage', { ttl_seconds: 5, caller: 'has space' }],
      ['llm_outage', { ttl_seconds: 5, caller: '' }],
      ['llm_outage', { ttl_seconds: 5, caller: 'x'.repeat(65) }],
    ];
    for (const [fault, body] of cases) {
      const res = await setFault(t, fault, body);
      assert.equal(res.status, 422, `${fault} ${JSON.stringify(body)}`);
      assert.deepEqual(
        res.body.errors.map((e: { pointer: string }) => e.pointer),
        ['/caller'],
      );
    }
    for (let i = 0; i < MAX_TARGETED_FAULTS; i++) {
      await setFault(t, 'llm_outage', { ttl_seconds: 5, caller: `c${i}` }).expect(200);
    }
    const full = await setFault(t, 'llm_latency', { value: 1, ttl_seconds: 5, caller: 'one-more' });
    assert.equal(full.status, 422);
    // Setting a fault that is already there again needs no room.
    await setFault(t, 'llm_outage', { ttl_seconds: 9, caller: 'c0' }).expect(200);
    assert.equal(t.services.chaos.list().length, MAX_TARGETED_FAULTS);
  });
});

describe('provider listener: bad input gets a 4xx problem', () => {
  const t = appPerTest({ PROVIDER_PORT: '8001', PROVIDER_API_KEY: PROVIDER_KEY });

  it('refuses a missing or wrong key with 401 and a Bearer challenge', async () => {
    for (const authorization of [undefined, `Bearer ${PROVIDER_KEY}x`, PROVIDER_KEY]) {
      const req = request(t.provider!).post(PATH);
      if (authorization) req.set('Authorization', authorization);
      const res = await req.send(ask('hello')).expect(401);
      assert.match(String(res.headers['content-type']), PROBLEM_JSON);
      assert.equal(res.headers['www-authenticate'], 'Bearer realm="provider"');
      assert.equal(res.body.error.code, 'invalid_api_key');
    }
  });

  it('answers bodies, models and methods it cannot serve with the problem that says why', async () => {
    const cases: [request.Test, number, string][] = [
      [chat(t, {}), 422, '/model'],
      [chat(t, { model: 'sim-small', messages: [] }), 422, '/messages'],
      [chat(t, ask('hi', { stream: true })), 422, '/stream'],
      [chat(t, ask('hi', { n: 2 })), 422, '/n'],
      [chat(t, ask('hi', { max_tokens: 0 })), 422, '/max_tokens'],
      [
        chat(t, { model: 'sim-small', messages: [{ role: 'robot', content: 'x' }] }),
        422,
        '/messages/0/role',
      ],
      [chat(t, ask('hi', { model: 'gpt-4o' })), 404, ''],
      [chat(t, '{"model":').type('application/json'), 400, ''],
      [chat(t, 'model=sim-small').type('text/plain'), 415, ''],
      [request(t.provider!).get(PATH), 405, ''],
      [request(t.provider!).post('/v1/completions'), 404, ''],
    ];
    for (const [req, status, pointer] of cases) {
      const res = await req;
      assert.equal(res.status, status, `${res.status} ${JSON.stringify(res.body)}`);
      assert.match(String(res.headers['content-type']), PROBLEM_JSON);
      assert.equal(res.body.status, status);
      if (pointer) assert.equal(res.body.errors[0].pointer, pointer, JSON.stringify(res.body));
    }
    const unknown = await chat(t, ask('hi', { model: 'gpt-4o' }));
    assert.equal(unknown.body.error.code, 'model_not_found');
    assert.equal(unknown.body.error.param, 'model');
    assert.match(unknown.body.detail, /sim-small, sim-medium, sim-large/);
  });
});

describe('provider listener: configuration and process', () => {
  it('is off by default and needs a key of at least 16 characters when on', () => {
    assert.equal(loadConfig(testEnv()).provider.port, undefined);
    const problems = (env: Record<string, string>) => {
      try {
        loadConfig(testEnv(env));
        return [];
      } catch (error) {
        return (error as ConfigError).problems;
      }
    };
    assert.match(problems({ PROVIDER_PORT: '8001' }).join('\n'), /PROVIDER_API_KEY: must be set/);
    assert.match(
      problems({ PROVIDER_PORT: '8001', PROVIDER_API_KEY: 'short' }).join('\n'),
      /PROVIDER_API_KEY/,
    );
    assert.match(
      problems({ PORT: '8001', PROVIDER_PORT: '8001', PROVIDER_API_KEY: PROVIDER_KEY }).join('\n'),
      /PROVIDER_PORT: must differ/,
    );
  });

  it('listens on its own port, beside the API, when the service runs as a process', async () => {
    const service = await startService({ PROVIDER_PORT: '0', PROVIDER_API_KEY: PROVIDER_KEY });
    try {
      const listening = service.logs.find((line) => line.message === 'agent service listening');
      const providerUrl = listening?.provider as string;
      assert.ok(providerUrl && providerUrl !== service.url, JSON.stringify(listening));
      const res = await fetch(`${providerUrl}${PATH}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${PROVIDER_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify(ask('over the wire')),
      });
      assert.equal(res.status, 200);
      assert.equal(((await res.json()) as { object: string }).object, 'chat.completion');
      // The API port does not serve it (to a caller it knows: others get 401 first).
      const onApi = await fetch(`${service.url}${PATH}`, {
        method: 'POST',
        headers: { 'x-api-key': PRO_KEY },
      });
      assert.equal(onApi.status, 404);
    } finally {
      await service.stop();
    }
  });
});
