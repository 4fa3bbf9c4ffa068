import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DEFAULT_URLS, resolveEndpoints } from '../../scripts/lib/endpoints.ts';

/** A fresh fake repo (.env, state folder) per test, and the environment to resolve against. */
function stackRepoFixture() {
  let repo: string;
  let state: string;
  beforeEach(() => {
    repo = mkdtempSync(path.join(tmpdir(), 'agent-obs-ep-repo-'));
    state = mkdtempSync(path.join(tmpdir(), 'agent-obs-ep-state-'));
  });
  afterEach(() => {
    rmSync(repo, { recursive: true, force: true });
    rmSync(state, { recursive: true, force: true });
  });
  const env = (extra: NodeJS.ProcessEnv = {}) => ({ NATIVE_STATE_DIR: state, ...extra });
  return {
    /** Writes the repo's .env (what make configure writes for compose). */
    dotEnv: (text: string) => writeFileSync(path.join(repo, '.env'), text),
    /** Writes the env file a running make native leaves in its state directory. */
    nativeEnv: (text: string) => writeFileSync(path.join(state, 'env'), text),
    /** resolveEndpoints without flags, in this repo, with this environment on top. */
    resolve: (extra: NodeJS.ProcessEnv = {}) => resolveEndpoints({}, env(extra), repo),
    get repo() {
      return repo;
    },
    get state() {
      return state;
    },
    env,
  };
}

function whereTheStackIs(f: ReturnType<typeof stackRepoFixture>): void {
  it('defaults to the compose ports, with the token from .env', () => {
    f.dotEnv('ADMIN_TOKEN=from-dotenv\n');
    const ep = f.resolve();
    assert.equal(ep.app, DEFAULT_URLS.app);
    assert.equal(ep.prometheus, 'http://127.0.0.1:9090');
    assert.equal(ep.adminToken, 'from-dotenv');
    assert.equal(ep.native, undefined);
    assert.match(ep.origin, /compose/);
  });

  it('follows the host ports a .env moves compose to', () => {
    f.dotEnv('APP_PORT=18000\nPROMETHEUS_PORT=19090\n');
    const ep = f.resolve();
    assert.equal(ep.app, 'http://127.0.0.1:18000');
    assert.equal(ep.prometheus, 'http://127.0.0.1:19090');
    assert.equal(ep.alertmanager, DEFAULT_URLS.alertmanager);
  });

  it('prefers a running make native, found by its env file', () => {
    f.dotEnv('ADMIN_TOKEN=from-dotenv\n');
    f.nativeEnv(
      `APP_URL=http://127.0.0.1:1234\nADMIN_TOKEN=native-token\nNATIVE_PID=${process.pid}\nNATIVE_CONTROL_URL=http://127.0.0.1:9\n`,
    );
    const ep = f.resolve();
    assert.equal(ep.app, 'http://127.0.0.1:1234');
    assert.equal(ep.adminToken, 'native-token');
    assert.deepEqual(ep.native, { pid: process.pid, controlUrl: 'http://127.0.0.1:9' });
    assert.match(ep.origin, /make native/);
  });

  it('ignores the env file of a make native that is gone', () => {
    f.nativeEnv('APP_URL=http://127.0.0.1:1234\nNATIVE_PID=999999999\n');
    assert.equal(f.resolve().app, DEFAULT_URLS.app);
  });

  it('inside the tools container: compose service names, the .env token, no make native of the host', () => {
    f.dotEnv('APP_PORT=18000\nADMIN_TOKEN=from-dotenv\n');
    f.nativeEnv(`APP_URL=http://127.0.0.1:1234\nNATIVE_PID=${process.pid}\n`);
    const ep = f.resolve({ STACK_HOSTS: 'compose' });
    assert.equal(ep.app, 'http://app:8000');
    assert.equal(ep.receiver, 'http://alert-receiver:9095');
    assert.equal(ep.grafana, 'http://grafana:3000');
    assert.equal(ep.shown.app, 'http://127.0.0.1:18000', 'printed for a person on the host');
    assert.equal(ep.shown.grafana, DEFAULT_URLS.grafana);
    assert.equal(ep.adminToken, 'from-dotenv');
    assert.equal(ep.native, undefined);
    assert.match(ep.origin, /compose stack .*network/);
  });
}

function overridesAndLogins(f: ReturnType<typeof stackRepoFixture>): void {
  it('lets environment variables and then flags override everything', () => {
    f.nativeEnv(`APP_URL=http://127.0.0.1:1234\nNATIVE_PID=${process.pid}\n`);
    const fromEnv = f.resolve({ APP_URL: 'http://127.0.0.1:2000/', ADMIN_TOKEN: 't1' });
    assert.equal(fromEnv.app, 'http://127.0.0.1:2000', 'trailing slash removed');
    assert.equal(fromEnv.adminToken, 't1');
    const fromFlags = resolveEndpoints(
      { 'app-url': 'http://127.0.0.1:3000', 'admin-token': 't2' },
      f.env({ APP_URL: 'http://127.0.0.1:2000' }),
      f.repo,
    );
    assert.equal(fromFlags.app, 'http://127.0.0.1:3000');
    assert.equal(fromFlags.adminToken, 't2');
  });

  it("gives Grafana's admin login from .env (make smoke), the environment winning", () => {
    f.dotEnv('GRAFANA_ADMIN_USER=root\nGRAFANA_ADMIN_PASSWORD=pw\n');
    assert.deepEqual(f.resolve().grafanaAuth, {
      user: 'root',
      password: 'pw',
    });
    assert.deepEqual(f.resolve({ GRAFANA_ADMIN_PASSWORD: 'other' }).grafanaAuth, {
      user: 'root',
      password: 'other',
    });
    f.dotEnv('GRAFANA_ADMIN_PASSWORD=\n');
    assert.equal(f.resolve().grafanaAuth, undefined);
  });
}

function apiKeys(f: ReturnType<typeof stackRepoFixture>): void {
  it('finds API keys: environment, else the running make native, else .env', () => {
    f.dotEnv('API_KEYS=compose-free-0123456789:free,compose-pro-0123456789:pro\n');
    assert.deepEqual(f.resolve().apiKeys, {
      free: 'compose-free-0123456789',
      pro: 'compose-pro-0123456789',
    });
    f.nativeEnv(
      `APP_URL=http://127.0.0.1:1234\nAPI_KEYS=native-pro-0123456789:pro,native-free-0123456789:free\nNATIVE_PID=${process.pid}\n`,
    );
    assert.deepEqual(f.resolve().apiKeys, {
      free: 'native-free-0123456789',
      pro: 'native-pro-0123456789',
    });
    const fromEnv = f.resolve({ LOAD_PRO_KEY: 'env-pro-0123456789' });
    assert.deepEqual(fromEnv.apiKeys, {
      free: 'native-free-0123456789',
      pro: 'env-pro-0123456789',
    });
  });

  it('has no API keys when nothing provides them (the app has no default keys)', () => {
    assert.deepEqual(f.resolve().apiKeys, {});
  });
}

function servicesNotAlwaysRun(f: ReturnType<typeof stackRepoFixture>): void {
  it('finds the Python example service: compose publishes it, make native names it when it runs it', () => {
    f.dotEnv('PYTHON_AGENT_PORT=18010\n');
    const compose = f.resolve();
    assert.equal(compose.pythonAgent, 'http://127.0.0.1:18010');
    assert.deepEqual(compose.absent, [], 'compose runs every service');
    assert.equal(f.resolve({ STACK_HOSTS: 'compose' }).pythonAgent, 'http://python-agent:8010');
    f.nativeEnv(`APP_URL=http://127.0.0.1:1234\nNATIVE_PID=${process.pid}\n`);
    assert.deepEqual(f.resolve().absent, ['grafana', 'pythonAgent'], 'without its venv');
    f.nativeEnv(
      `APP_URL=http://127.0.0.1:1234\nPYTHON_AGENT_URL=http://127.0.0.1:4321\nNATIVE_PID=${process.pid}\n`,
    );
    const native = f.resolve();
    assert.equal(native.pythonAgent, 'http://127.0.0.1:4321');
    assert.deepEqual(native.absent, ['grafana']);
  });
}

describe('endpoints: where make load and make alert-* send traffic', () => {
  const f = stackRepoFixture();
  whereTheStackIs(f);
  servicesNotAlwaysRun(f);
  overridesAndLogins(f);
  apiKeys(f);
});
