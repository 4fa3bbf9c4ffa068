// Credentials an attacker could guess, and where the service listens: low-entropy API keys and
// weak admin tokens are refused at start-up; the admin token is throttled per address before
// it is even compared; both listeners are on loopback unless told otherwise, and the public
// demo keys never on a reachable address without an explicit yes.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { loadConfig } from '../src/config';
import { ADMIN_TOKEN, appPerSuite, PRO_KEY } from './support/app';
import { scrape } from './support/http';
import { assertGrowth } from './support/metrics';

const strong = () => randomBytes(24).toString('base64url');
const keys = (key: string) => ({ API_KEYS: `${key}:pro` });

describe('credentials at start-up', () => {
  it('refuses API keys of little entropy, whatever their length', () => {
    for (const weak of ['aaaaaaaaaaaaaaaa', 'abababababababab', '0000000000000000000000000000']) {
      assert.throws(() => loadConfig(keys(weak)), /API_KEYS: key "..…." has too little entropy/);
    }
    // Generated keys (make configure: 32 base64url characters) and hex ones pass.
    loadConfig(keys(strong()));
    loadConfig(keys(randomBytes(16).toString('hex')));
  });

  it('refuses an ADMIN_TOKEN shorter than 32 characters, of little entropy, or a known placeholder', () => {
    const withToken = (token: string) => loadConfig({ ...keys(strong()), ADMIN_TOKEN: token });
    assert.throws(() => withToken('password'), /ADMIN_TOKEN: must be at least 32 characters/);
    assert.throws(() => withToken('change-me-please'), /ADMIN_TOKEN: must be at least 32/);
    assert.throws(() => withToken('x'.repeat(40)), /ADMIN_TOKEN: .*too little entropy/);
    for (const placeholder of [
      'change-me-please-change-me-please',
      'my-secret-admin-token-for-the-demo',
    ]) {
      assert.throws(() => withToken(placeholder), /ADMIN_TOKEN: .*placeholder/);
    }
    assert.equal(withToken(ADMIN_TOKEN).adminToken, ADMIN_TOKEN);
  });
});

describe('the admin token under guessing', () => {
  const t = appPerSuite({ AUTH_FAILURE_BURST: '3', AUTH_FAILURE_RPS: '0.01' });

  it('is throttled per address before it is compared: a throttled guesser gets 429 even for the right token', async () => {
    const ops = t.ops;
    const before = await scrape(ops);
    for (let i = 0; i < 3; i++) {
      await request(ops).get('/admin/chaos').set('Authorization', `Bearer guess-${i}`).expect(401);
    }
    const right = await request(ops)
      .get('/admin/chaos')
      .set('Authorization', `Bearer ${ADMIN_TOKEN}`);
    assert.equal(right.status, 429, 'the right token answered once the address was over budget');
    assert.ok(Number(right.headers['retry-after']) >= 1);
    assertGrowth(await scrape(ops), before, {
      'auth_failures_total{reason="invalid_admin_token"}': 3,
      'auth_failures_total{reason="throttled"}': 1,
    });
    // API keys keep their order: a valid key is checked first and never throttled.
    await request(t.app).get('/v1/agents').set('X-API-Key', PRO_KEY).expect(200);
  });
});

describe('where the service listens', () => {
  it('binds both listeners to 127.0.0.1 by default, the management port to 9464', () => {
    const config = loadConfig(keys(strong()));
    assert.equal(config.host, '127.0.0.1');
    assert.equal(config.managementHost, '127.0.0.1');
    assert.equal(config.managementPort, 9464);
  });

  it('refuses DEMO_MODE on a reachable address unless DEMO_MODE_ALLOW_PUBLIC=true', () => {
    assert.throws(
      () => loadConfig({ DEMO_MODE: 'true', HOST: '0.0.0.0' }),
      /DEMO_MODE: .*DEMO_MODE_ALLOW_PUBLIC/,
    );
    assert.throws(() => loadConfig({ DEMO_MODE: 'true', HOST: '192.168.1.10' }), /DEMO_MODE/);
    loadConfig({ DEMO_MODE: 'true', HOST: '0.0.0.0', DEMO_MODE_ALLOW_PUBLIC: 'true' });
    loadConfig({ DEMO_MODE: 'true', HOST: 'localhost' });
    loadConfig({ DEMO_MODE: 'true', HOST: '::1' });
  });
});
