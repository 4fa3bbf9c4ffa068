// One answer to "where is the stack" (scripts/lib/endpoints.ts): the scripts a person runs
// while a `make native` is up (make alerts, make open) find that stack, and the resolver knows
// its time scale. The scripts run as `make` runs them, against a temporary `.native` state.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { startAlertReceiver, type AlertReceiver } from '../../scripts/lib/alert-receiver.ts';
import { resolveEndpoints } from '../../scripts/lib/endpoints.ts';
import { REPO_ROOT } from '../../scripts/lib/repo.ts';
import {
  REAL_TIME,
  speedup,
  TIME_SCALE_STATE,
  timeScaleState,
} from '../../scripts/lib/time-scale.ts';

const run = promisify(execFile);

/** A script of scripts/ as `make` runs it, with the given environment and nothing else. */
async function script(name: string, env: NodeJS.ProcessEnv): Promise<string> {
  const { stdout } = await run(
    process.execPath,
    ['--disable-warning=ExperimentalWarning', path.join(REPO_ROOT, 'scripts', name)],
    { env: { PATH: process.env.PATH, ...env }, timeout: 30_000 },
  );
  return stdout;
}

/** A temporary `.native` state, an alert receiver, and the env file a `make native` writes there. */
interface NativeState {
  state: string;
  receiver: AlertReceiver;
  /** Writes the env file a running `make native` (this process standing in for it) writes. */
  nativeEnv: (extra?: string) => void;
}

function nativeStateFixture(): NativeState {
  const f = {} as NativeState;
  beforeEach(async () => {
    f.state = mkdtempSync(path.join(tmpdir(), 'agent-obs-where-'));
    f.receiver = await startAlertReceiver({ port: 0 });
  });
  afterEach(async () => {
    await f.receiver.close();
    rmSync(f.state, { recursive: true, force: true });
  });
  f.nativeEnv = (extra = '') =>
    writeFileSync(
      path.join(f.state, 'env'),
      `APP_URL=http://127.0.0.1:18000\nRECEIVER_URL=${f.receiver.url}\n` +
        `PROMETHEUS_URL=http://127.0.0.1:19090\nOTLP_HTTP_URL=http://127.0.0.1:14318\n` +
        `NATIVE_PID=${process.pid}\n${extra}`,
    );
  return f;
}

/** An Alertmanager webhook with one firing alert only the native stack's receiver gets. */
const nativeOnlyAlert = () => ({
  receiver: 'local',
  status: 'firing',
  groupKey: 'k',
  alerts: [
    {
      status: 'firing',
      labels: { alertname: 'OnlyOnTheNativeStack', severity: 'page' },
      annotations: { summary: 'delivered to the native receiver' },
      startsAt: new Date().toISOString(),
      endsAt: '0001-01-01T00:00:00Z',
      fingerprint: 'f1',
    },
  ],
});

function makeAlertsAndOpenTests(f: NativeState): void {
  it("make alerts during a make native shows that stack's receiver", async () => {
    f.nativeEnv();
    const res = await fetch(f.receiver.webhookUrl, {
      method: 'POST',
      body: JSON.stringify(nativeOnlyAlert()),
    });
    assert.equal(res.status, 204);
    const out = await script('alerts.ts', { NATIVE_STATE_DIR: f.state });
    assert.match(out, new RegExp(`local receiver \\(${f.receiver.url}\\)`));
    assert.match(out, /OnlyOnTheNativeStack/);
  });

  it("make open during a make native prints that stack's URLs, not compose's", async () => {
    f.nativeEnv();
    const out = await script('urls.ts', { NATIVE_STATE_DIR: f.state });
    assert.match(out, /make native \(pid \d+\)/);
    assert.match(out, /Agent API\s+http:\/\/127\.0\.0\.1:18000\/v1\/agents/);
    assert.match(out, new RegExp(`Alert receiver\\s+${f.receiver.url}/alerts`));
    assert.match(out, /Prometheus\s+http:\/\/127\.0\.0\.1:19090/);
    assert.doesNotMatch(out, /Grafana/, 'make native runs no Grafana');
    assert.doesNotMatch(out, /Python agent/, 'nor python-agent without its venv');
    f.nativeEnv('PYTHON_AGENT_URL=http://127.0.0.1:18010\n');
    const withPython = await script('urls.ts', { NATIVE_STATE_DIR: f.state });
    assert.match(
      withPython,
      /Python agent\s+http:\/\/127\.0\.0\.1:18010\/v1\/agents\/assistant\/runs/,
    );
  });
}

function timeScaleTests(f: NativeState): void {
  describe('the time scale', () => {
    let repo: string;
    beforeEach(() => (repo = mkdtempSync(path.join(tmpdir(), 'agent-obs-where-repo-'))));
    afterEach(() => rmSync(repo, { recursive: true, force: true }));
    const scaleOf = (env: NodeJS.ProcessEnv = {}, flags = {}) =>
      resolveEndpoints(flags, { NATIVE_STATE_DIR: f.state, ...env }, repo).timeScale;
    const composeRenderedFor60 = () => {
      mkdirSync(path.join(repo, '.compose'));
      writeFileSync(path.join(repo, TIME_SCALE_STATE), timeScaleState(speedup(60)));
    };

    it('is 1 when nothing says otherwise', () => {
      assert.deepEqual(scaleOf(), REAL_TIME);
    });

    it('is the one make configure TIME_SCALE=… rendered for compose', () => {
      composeRenderedFor60();
      assert.deepEqual(scaleOf(), { speedup: 60, factor: 1 / 60 });
    });

    it("is a running make native's, whatever compose was rendered for", () => {
      composeRenderedFor60();
      f.nativeEnv('NATIVE_TIME_SCALE=1\n');
      assert.deepEqual(scaleOf(), REAL_TIME);
      f.nativeEnv('NATIVE_TIME_SCALE=30\n');
      assert.deepEqual(scaleOf(), speedup(30));
    });

    it('is TIME_SCALE, then --time-scale, when given', () => {
      f.nativeEnv('NATIVE_TIME_SCALE=30\n');
      assert.deepEqual(scaleOf({ TIME_SCALE: '60' }), speedup(60));
      assert.deepEqual(scaleOf({ TIME_SCALE: '60' }, { 'time-scale': '1/10' }), speedup(10));
    });
  });
}

describe('where is the stack: every script asks the one resolver', () => {
  const f = nativeStateFixture();
  makeAlertsAndOpenTests(f);
  timeScaleTests(f);
});
