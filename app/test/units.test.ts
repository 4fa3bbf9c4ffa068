import { ROOT_CONTEXT, SpanKind, TraceFlags, trace } from '@opentelemetry/api';
import { SamplingDecision } from '@opentelemetry/sdk-trace';
import { createSampler } from '../src/telemetry/sampling';
import { testEnv } from './support/app';
// The building blocks on their own: parser, breaker, limiter, cache, scrubber, config, chaos.
import assert from 'node:assert/strict';
import { ResponseCache } from '../src/agent/cache';
import { CalculatorError, evaluate, findExpression } from '../src/agent/calculator';
import { Chaos } from '../src/agent/chaos';
import { CircuitBreaker, CircuitOpenError, type CircuitState } from '../src/agent/circuit-breaker';
import { ConfigError, loadConfig } from '../src/config';
import { RateLimiter } from '../src/http/rate-limit';
import { Scrubber } from '../src/telemetry/scrub';
import { countFailedSends } from '../src/telemetry/sentry';

describe('calculator', () => {
  it('evaluates with precedence, associativity, unary minus and parentheses', () => {
    const cases: [string, number][] = [
      ['1 + 2 * 3', 7],
      ['(1 + 2) * 3', 9],
      ['2 ^ 3 ^ 2', 512],
      ['-2 ^ 2', 4],
      ['10 - 4 - 3', 3],
      ['7 % 4', 3],
      ['1.5e2 / 3', 50],
      ['--3', 3],
      ['.5 + .25', 0.75],
    ];
    for (const [expression, expected] of cases) assert.equal(evaluate(expression), expected);
  });

  it('refuses what is not arithmetic, with a reason', () => {
    const cases: [string, RegExp][] = [
      ['1 / 0', /division by zero/],
      ['2 +', /ends too early/],
      ['(1 + 2', /missing "\)"/],
      ['1 + 2)', /unexpected "\)"/],
      ['process.exit(1)', /unexpected character "p"/],
      ['', /empty/],
      ['9 ^ 999', /not a finite number/],
      ['('.repeat(40) + '1' + ')'.repeat(40), /nested too deeply/],
      ['1+'.repeat(150) + '1', /longer than/],
    ];
    for (const [expression, reason] of cases) {
      assert.throws(
        () => evaluate(expression),
        (error: unknown) => {
          assert.ok(error instanceof CalculatorError);
          assert.match(error.message, reason);
          return true;
        },
      );
    }
  });

  it('finds the first expression in a question', () => {
    assert.equal(findExpression('What is (12 + 30) * 2 today?'), '(12 + 30) * 2');
    assert.equal(findExpression('order 5521 arrived'), undefined);
    assert.equal(findExpression('compute 6*7'), '6*7');
  });
});

describe('circuit breaker', () => {
  function breaker(now: { t: number }, changes: CircuitState[] = []) {
    return new CircuitBreaker({
      dependency: 'llm_provider',
      failureThreshold: 3,
      resetTimeoutMs: 1000,
      now: () => now.t,
      onStateChange: (state) => changes.push(state),
    });
  }
  const fail = () => Promise.reject(new Error('down'));
  const succeed = () => Promise.resolve('ok');

  it('opens after consecutive failures, half-opens after the timeout, closes on success', async () => {
    const now = { t: 0 };
    const changes: CircuitState[] = [];
    const cb = breaker(now, changes);
    await assert.rejects(cb.execute(fail));
    await cb.execute(succeed); // a success resets the count
    for (let i = 0; i < 3; i++) await assert.rejects(cb.execute(fail), /down/);
    assert.equal(cb.state, 'open');
    now.t = 400;
    await assert.rejects(cb.execute(succeed), (error: unknown) => {
      assert.ok(error instanceof CircuitOpenError);
      assert.equal(error.retryAfterMs, 600);
      return true;
    });
    now.t = 1000;
    assert.equal(cb.state, 'half_open');
    assert.equal(await cb.execute(succeed), 'ok');
    assert.equal(cb.state, 'closed');
    assert.deepEqual(changes, ['open', 'half_open', 'closed']);
  });

  it('reopens when the half-open trial fails, and allows one trial at a time', async () => {
    const now = { t: 0 };
    const cb = breaker(now);
    for (let i = 0; i < 3; i++) await assert.rejects(cb.execute(fail));
    now.t = 1500;
    let release: () => void = () => {};
    const trial = cb.execute(
      () => new Promise<string>((resolve) => (release = () => resolve('ok'))),
    );
    await assert.rejects(cb.execute(succeed), CircuitOpenError);
    release();
    await trial;
    assert.equal(cb.state, 'closed');
    for (let i = 0; i < 3; i++) await assert.rejects(cb.execute(fail));
    now.t = 3000;
    await assert.rejects(cb.execute(fail), /down/);
    assert.equal(cb.state, 'open');
  });
});

describe('rate limiter', () => {
  it('allows the burst, then one request per 1/rate seconds', () => {
    const now = { t: 0 };
    const limiter = new RateLimiter(
      { free: { ratePerSecond: 2, burst: 3 }, pro: { ratePerSecond: 100, burst: 100 } },
      () => now.t,
    );
    for (let i = 0; i < 3; i++) assert.equal(limiter.take('a', 'free'), 0);
    assert.equal(limiter.take('a', 'free'), 0.5);
    assert.equal(limiter.take('b', 'free'), 0, 'each key has its own bucket');
    now.t = 500;
    assert.equal(limiter.take('a', 'free'), 0);
    assert.ok(limiter.take('a', 'free') > 0);
    now.t = 60_000;
    for (let i = 0; i < 3; i++) assert.equal(limiter.take('a', 'free'), 0, 'refilled to burst');
    assert.ok(limiter.take('a', 'free') > 0, 'never above burst');
  });
});

describe('response cache', () => {
  it('expires entries after the TTL and evicts the least recently used', () => {
    const now = { t: 0 };
    const cache = new ResponseCache<string>(1000, 2, Infinity, () => now.t);
    cache.set('a', 'A');
    cache.set('b', 'B');
    assert.equal(cache.get('a'), 'A'); // a is now the most recent
    cache.set('c', 'C');
    assert.equal(cache.get('b'), undefined);
    assert.equal(cache.get('a'), 'A');
    now.t = 1000;
    assert.equal(cache.get('a'), undefined);
    assert.equal(cache.size, 1);
  });

  it('is off with a TTL or size of 0', () => {
    const cache = new ResponseCache<string>(0, 10);
    cache.set('a', 'A');
    assert.equal(cache.enabled, false);
    assert.equal(cache.get('a'), undefined);
  });

  it('is bounded in bytes: the least recently used entries go first', () => {
    const cache = new ResponseCache<string>(60_000, 1000, 100);
    cache.set('a', 'a', 40);
    cache.set('b', 'b', 40);
    cache.get('a');
    cache.set('c', 'c', 40);
    assert.deepEqual([cache.get('a'), cache.get('b'), cache.get('c')], ['a', undefined, 'c']);
    assert.equal(cache.bytes, 80);
    cache.set('huge', 'x', 101);
    assert.equal(cache.get('huge'), undefined);
    assert.equal(cache.bytes, 80);
  });

  it('keys on every part', () => {
    assert.notEqual(ResponseCache.key('a', 'bc'), ResponseCache.key('ab', 'c'));
    assert.equal(ResponseCache.key('a', 'b'), ResponseCache.key('a', 'b'));
  });
});

describe('scrubber', () => {
  const scrubber = new Scrubber(['demo-pro', 'demo-pro-extended', 'admin-secret-1']);

  it('removes e-mail addresses, configured secrets and bearer tokens from text', () => {
    assert.equal(
      scrubber.string('mail bob.smith+x@mail.example.co.uk key demo-pro-extended and demo-pro'),
      'mail [email] key [Filtered] and [Filtered]',
    );
    assert.equal(
      scrubber.string('Authorization: Bearer abc.def-ghi'),
      'Authorization: Bearer [Filtered]',
    );
    assert.equal(scrubber.string('nothing to see'), 'nothing to see');
  });

  it('filters credential fields and scrubs nested values without touching the original', () => {
    const event = {
      request: {
        headers: { 'X-API-Key': 'anything', cookie: 'session=1', 'user-agent': 'me@x.io' },
        data: { input: ['call 555', 'carol@example.org'] },
      },
      extra: { password: 'hunter2', count: 3, nothing: null },
    };
    const copy = JSON.parse(JSON.stringify(event)) as typeof event;
    assert.deepEqual(scrubber.deep(event), {
      request: {
        headers: { 'X-API-Key': '[Filtered]', cookie: '[Filtered]', 'user-agent': '[email]' },
        data: { input: ['call 555', '[email]'] },
      },
      extra: { password: '[Filtered]', count: 3, nothing: null },
    });
    assert.deepEqual(event, copy);
  });
});

describe('configuration', () => {
  it('refuses to start without API_KEYS, or with keys shorter than 16 characters', () => {
    assert.throws(() => loadConfig({}), /API_KEYS: not set/);
    assert.throws(() => loadConfig({ API_KEYS: 'a:pro' }), /shorter than 16 characters/);
    assert.throws(
      () => loadConfig({ API_KEYS: 'x7Kq2mZp9vR4tW8:pro', DEMO_MODE: 'true' }),
      /shorter than 16 characters/,
    );
    const withDemo = loadConfig({ API_KEYS: 'x7Kq2mZp9vR4tW8n:pro', DEMO_MODE: 'true' });
    assert.deepEqual(
      withDemo.apiKeys.map(({ key }) => key),
      ['x7Kq2mZp9vR4tW8n', 'demo-free', 'demo-pro'],
    );
  });

  it('has working defaults in demo mode, with the demo keys flagged', () => {
    const config = loadConfig({ DEMO_MODE: 'true' });
    assert.equal(config.port, 8000);
    assert.equal(config.dataDir, './data');
    assert.equal(config.usingDemoKeys, true);
    assert.deepEqual(config.apiKeys, [
      { key: 'demo-free', tier: 'free' },
      { key: 'demo-pro', tier: 'pro' },
    ]);
    assert.equal(config.adminToken, undefined);
    assert.equal(config.telemetry.enabled, true);
    assert.equal(config.telemetry.otlpTracesUrl, 'http://localhost:4318/v1/traces');
    assert.deepEqual(config.shutdown, { graceMs: 10_000, delayMs: 0 });
    assert.equal(config.bodyLimitBytes, 65_536);
  });

  it('reads every knob, treating an empty variable as unset', () => {
    const config = loadConfig({
      API_KEYS: ' a-key-0123456789abcdef:pro , other-0123456789abcdef:free ',
      TELEMETRY_ENABLED: 'false',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/',
      SENTRY_SPOTLIGHT: 'true',
      ADMIN_TOKEN: '',
      LLM_LATENCY_SCALE: '0',
    });
    assert.deepEqual(config.apiKeys, [
      { key: 'a-key-0123456789abcdef', tier: 'pro' },
      { key: 'other-0123456789abcdef', tier: 'free' },
    ]);
    assert.equal(config.usingDemoKeys, false);
    assert.equal(config.telemetry.enabled, false);
    assert.equal(config.telemetry.otlpTracesUrl, 'http://collector:4318/v1/traces');
    assert.equal(config.sentry.spotlight, true);
    assert.equal(config.adminToken, undefined);
    assert.equal(config.llm.latencyScale, 0);
  });

  it('lists every bad variable at once', () => {
    assert.throws(
      () =>
        loadConfig({
          PORT: '99999',
          RATE_LIMIT_FREE_RPS: '-1',
          TELEMETRY_ENABLED: 'maybe',
          SENTRY_DSN: 'not a url',
          API_KEYS: 'nokey,x:gold',
          ADMIN_TOKEN: 'short',
        }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        const names = error.problems.map((problem) => problem.split(':')[0]);
        for (const name of [
          'PORT',
          'RATE_LIMIT_FREE_RPS',
          'TELEMETRY_ENABLED',
          'SENTRY_DSN',
          'API_KEYS',
          'ADMIN_TOKEN',
        ]) {
          assert.ok(names.includes(name), `${name} missing from ${error.message}`);
        }
        // Keys are secrets: a bad entry is quoted redacted.
        assert.ok(!error.message.includes('nokey'), error.message);
        return true;
      },
    );
  });

  it('checks that the shutdown budget adds up', () => {
    assert.throws(
      () =>
        loadConfig({
          DEMO_MODE: 'true',
          SHUTDOWN_GRACE_MS: '1000',
          TELEMETRY_SHUTDOWN_TIMEOUT_MS: '2000',
        }),
      /TELEMETRY_SHUTDOWN_TIMEOUT_MS: must be shorter than SHUTDOWN_GRACE_MS/,
    );
  });
});

describe('chaos', () => {
  it('forgets a fault once its ttl has passed and tells listeners', () => {
    const now = { t: 0 };
    const chaos = new Chaos(() => now.t);
    const events: string[] = [];
    chaos.onChange((fault, active) => events.push(`${fault}:${active}`));
    chaos.set('cost_multiplier', 5, 10);
    assert.equal(chaos.value('cost_multiplier'), 5);
    now.t = 9_999;
    assert.equal(chaos.isActive('cost_multiplier'), true);
    now.t = 10_000;
    assert.equal(chaos.isActive('cost_multiplier'), false);
    assert.deepEqual(chaos.list(), []);
    assert.deepEqual(events, ['cost_multiplier:true', 'cost_multiplier:false']);
  });
});

describe('Sentry transport wrapper', () => {
  it('counts network errors, error statuses and dropped envelopes as failed sends', async () => {
    let failures = 0;
    const responses: (() => Promise<{ statusCode?: number }>)[] = [
      () => Promise.resolve({ statusCode: 200 }),
      () => Promise.resolve({ statusCode: 429 }),
      () => Promise.resolve({}),
      () => Promise.reject(new Error('ECONNREFUSED')),
    ];
    let call = 0;
    const transport = countFailedSends(
      { send: () => responses[call++]!(), flush: () => Promise.resolve(true) },
      () => failures++,
    );
    const envelope = [{}, []] as unknown as Parameters<typeof transport.send>[0];
    await transport.send(envelope);
    assert.equal(failures, 0);
    await transport.send(envelope);
    await transport.send(envelope);
    await assert.rejects(Promise.resolve(transport.send(envelope)), /ECONNREFUSED/);
    assert.equal(failures, 3);
  });
});

describe('sampling at the edge', () => {
  const remoteSampled = trace.setSpanContext(ROOT_CONTEXT, {
    // A trace id a client could pick so that TraceIdRatioBased would always keep it.
    traceId: '00000000000000000000000000000001',
    spanId: '0000000000000001',
    traceFlags: TraceFlags.SAMPLED,
    isRemote: true,
  });
  const decide = (sampler: ReturnType<typeof createSampler>) =>
    sampler.shouldSample(
      remoteSampled,
      '00000000000000000000000000000001',
      'GET',
      SpanKind.SERVER,
      {},
      [],
    ).decision;

  it("lets the service's own ratio decide for a caller that says sampled (the default)", () => {
    const config = loadConfig(
      testEnv({
        OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
        OTEL_TRACES_SAMPLER_ARG: '0.0001',
      }),
    );
    assert.equal(config.telemetry.sampler.remoteParentSampled, 'ratio');
    // The random draw says "not this one": the caller's flag does not override it.
    assert.equal(
      decide(createSampler(config.telemetry.sampler, () => 0.5)),
      SamplingDecision.NOT_RECORD,
    );
    assert.equal(
      decide(createSampler(config.telemetry.sampler, () => 0.00001)),
      SamplingDecision.RECORD_AND_SAMPLED,
    );
  });

  it('follows the caller with TRACES_REMOTE_PARENT_SAMPLED=follow, and keeps all by default', () => {
    const follow = loadConfig(
      testEnv({
        OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
        OTEL_TRACES_SAMPLER_ARG: '0.0001',
        TRACES_REMOTE_PARENT_SAMPLED: 'follow',
      }),
    );
    assert.equal(
      decide(createSampler(follow.telemetry.sampler, () => 0.5)),
      SamplingDecision.RECORD_AND_SAMPLED,
    );
    const defaults = loadConfig(testEnv());
    assert.equal(defaults.telemetry.sampler.name, 'parentbased_always_on');
    assert.equal(
      decide(createSampler(defaults.telemetry.sampler, () => 0.99)),
      SamplingDecision.RECORD_AND_SAMPLED,
    );
  });
});

describe('sampling a caller that says not sampled', () => {
  it("lets the service's own ratio decide for a caller that says not sampled, too", () => {
    const unsampled = trace.setSpanContext(ROOT_CONTEXT, {
      traceId: '00000000000000000000000000000002',
      spanId: '0000000000000002',
      traceFlags: TraceFlags.NONE,
      isRemote: true,
    });
    const decideUnsampled = (env: Record<string, string>, draw: number) =>
      createSampler(loadConfig(testEnv(env)).telemetry.sampler, () => draw).shouldSample(
        unsampled,
        '00000000000000000000000000000002',
        'GET',
        SpanKind.SERVER,
        {},
        [],
      ).decision;
    // At the default ratio (1) every such request is traced: a caller cannot hide its requests.
    assert.equal(decideUnsampled({}, 0.99), SamplingDecision.RECORD_AND_SAMPLED);
    const tenth = {
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0.1',
    };
    assert.equal(decideUnsampled(tenth, 0.05), SamplingDecision.RECORD_AND_SAMPLED);
    assert.equal(decideUnsampled(tenth, 0.5), SamplingDecision.NOT_RECORD);
    // Behind a gateway that samples, `follow` obeys the caller both ways.
    const follow = { TRACES_REMOTE_PARENT_SAMPLED: 'follow' };
    assert.equal(decideUnsampled(follow, 0.01), SamplingDecision.NOT_RECORD);
  });
});
