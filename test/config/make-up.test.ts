// `make up` on a fresh clone of a host that has Docker and make but no Node (docs/docker.md): the
// prerequisite checks, the whole path to `docker compose up --wait --wait-timeout N` with a
// stub docker that logs its arguments, and the configure step that `make up` runs in the tools
// container, replayed from the clone's copy with the project's Node 24 standing in for the
// container. No Docker engine runs here.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { parseEnv } from '../../scripts/lib/env-file.ts';
import { freePorts } from '../../scripts/lib/ports.ts';
import { nodelessClone, type MakeResult, type NodelessClone } from '../lib/nodeless-clone.ts';
import { REPO_ROOT } from '../../scripts/lib/repo.ts';

const NODE_24 = path.join(REPO_ROOT, 'node_modules/.bin/node');
const PORT_KEYS = [
  'APP_PORT',
  'GRAFANA_PORT',
  'PROMETHEUS_PORT',
  'ALERTMANAGER_PORT',
  'JAEGER_PORT',
  'VICTORIALOGS_PORT',
  'ALERT_RECEIVER_PORT',
  'OTLP_HTTP_PORT',
  'OTLP_GRPC_PORT',
];

/** Everything make printed, as lines. */
const lines = (r: MakeResult) => `${r.stdout}${r.stderr}`.split('\n').filter(Boolean);

function assertOneLine(r: MakeResult, pattern: RegExp): void {
  assert.notEqual(r.status, 0, 'make up succeeded');
  assert.equal(lines(r).length, 1, `more than one line:\n${r.stdout}${r.stderr}`);
  assert.match(lines(r)[0], pattern);
  assert.doesNotMatch(lines(r)[0], /\bnode\b|\bnpm\b/i);
}

/** Arguments of each docker call the stub logged, one string per call. */
const dockerCalls = (log: string) => readFileSync(log, 'utf8').split('\n').filter(Boolean);

/** A clone without node_modules and a stub `docker` that logs its arguments, reset per test. */
function nodelessMakeFixture() {
  let clone: NodelessClone;
  let log: string;
  let stubDocker: string;
  before(() => {
    clone = nodelessClone();
    log = path.join(clone.dir, 'docker.log');
    // Exits 0 for everything and logs its arguments; `ps --format` describes a failed service.
    stubDocker = clone.stub(
      'docker',
      `echo "$*" >> ${log}\n` +
        'case "$*" in *"ps --all --format"*) echo "prometheus|exited||1";; esac\n' +
        'case "$*" in *" up --detach"*) exit "${STUB_UP_EXIT:-0}";; esac\nexit 0',
    );
  });
  after(() => rmSync(clone.dir, { recursive: true, force: true }));
  beforeEach(() => {
    writeFileSync(log, '');
    rmSync(path.join(clone.repo, '.env'), { force: true });
  });
  return {
    get clone() {
      return clone;
    },
    get log() {
      return log;
    },
    get stubDocker() {
      return stubDocker;
    },
  };
}

function hostPreconditions(f: ReturnType<typeof nodelessMakeFixture>): void {
  it('the host scripts parse in bash and pass shellcheck (where it is installed)', function () {
    const dir = path.join(REPO_ROOT, 'scripts/host');
    const scripts = readdirSync(dir).filter((f) => f.endsWith('.sh'));
    for (const f of scripts) {
      const r = spawnSync('bash', ['-n', path.join(dir, f)], { encoding: 'utf8' });
      assert.equal(r.status, 0, `${f}: ${r.stderr}`);
    }
    const check = spawnSync('shellcheck', scripts, { cwd: dir, encoding: 'utf8' });
    if (check.error) {
      console.log('      shellcheck is not installed: skipped');
      this.skip();
    }
    assert.equal(check.status, 0, check.stdout);
  });

  it('the PATH holds no node, npm or npx', () => {
    for (const program of ['node', 'npm', 'npx']) {
      const r = spawnSync('sh', ['-c', `command -v ${program}`], { env: { PATH: f.clone.path() } });
      assert.notEqual(r.status, 0, `${program} is on the PATH`);
    }
  });

  it('without docker: one line saying Docker is needed, not mentioning Node', () => {
    assertOneLine(
      f.clone.make(['up'], f.clone.path()),
      /Docker is needed: there is no docker command/,
    );
  });

  it('with the Docker client but no engine: one line saying Docker is needed', function () {
    const docker = spawnSync('sh', ['-c', 'command -v docker'], { encoding: 'utf8' }).stdout.trim();
    // Where an engine runs (a CI runner), `make up` would really start the stack: not here.
    if (docker && spawnSync(docker, ['info'], { stdio: 'ignore' }).status === 0) {
      console.log('      a Docker engine runs here: skipped');
      this.skip();
    }
    // The client alone on the PATH (its folder may hold a Node too).
    const client = docker
      ? f.clone.stub('docker', `exec ${docker} "$@"`)
      : f.clone.stub('docker', 'echo "Cannot connect to the Docker daemon" >&2; exit 1');
    assertOneLine(
      f.clone.make(['up'], f.clone.path(client)),
      /Docker is needed, and its engine is not running/,
    );
  });

  it('with an engine but no compose plugin: one line naming the Compose plugin', () => {
    const bin = f.clone.stub('docker', 'case "$1" in compose) exit 1;; esac; exit 0');
    assertOneLine(f.clone.make(['up'], f.clone.path(bin)), /Docker Compose v2 is needed/);
  });

  it('under sudo: refused with the docker-group hint', function () {
    if (process.getuid?.() !== 0) this.skip();
    const r = f.clone.make(['up'], f.clone.path(f.stubDocker), { SUDO_USER: 'someone' });
    assertOneLine(r, /not with sudo.*docker group/);
  });

  it('make load without a running stack: one line saying to start it with make up', () => {
    const bin = f.clone.stub('docker', 'case "$*" in "network inspect"*) exit 1;; esac; exit 0');
    assertOneLine(f.clone.make(['load'], f.clone.path(bin)), /The stack is not running.*make up/);
  });
}

/** The oldest Compose and Engine `make up` works with, named when older (a stub docker). */
function versionChecks(f: ReturnType<typeof nodelessMakeFixture>): void {
  it('with Compose older than 2.17: one line naming the Compose version needed', () => {
    const bin = f.clone.stub(
      'docker',
      'case "$*" in "compose version --short") echo 2.16.0;; version*) echo 28.2.2;; esac; exit 0',
    );
    assertOneLine(
      f.clone.make(['up'], f.clone.path(bin)),
      /Docker Compose 2\.17 or newer is needed .*this is 2\.16\.0/,
    );
  });

  it('with Compose 5.x and an Engine older than 20.10: one line naming the Engine needed', () => {
    const bin = f.clone.stub(
      'docker',
      'case "$*" in "compose version --short") echo v5.6.0;; version*) echo 19.03.15;; esac; exit 0',
    );
    assertOneLine(
      f.clone.make(['up'], f.clone.path(bin)),
      /Docker Engine 20\.10 or newer is needed; this is 19\.03\.15/,
    );
  });
}

function upWithoutHostNode(f: ReturnType<typeof nodelessMakeFixture>): void {
  it('goes all the way to docker compose up --wait --wait-timeout N, without a host Node', async () => {
    const ports = await freePorts(PORT_KEYS.length);
    writeFileSync(
      path.join(f.clone.repo, '.env'),
      PORT_KEYS.map((k, i) => `${k}=${ports[i]}\n`).join(''),
    );
    const r = f.clone.make(['up'], f.clone.path(f.stubDocker));
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
    const calls = dockerCalls(f.log);
    const up = calls.findIndex((c) =>
      /^compose .*up --detach --build --wait --wait-timeout \d+$/.test(c),
    );
    assert.ok(up >= 0, `no compose up --wait --wait-timeout: ${calls.join('\n')}`);
    const configure = calls.findIndex((c) => / node .*scripts\/configure\.ts$/.test(c));
    assert.ok(configure >= 0 && configure < up, 'configure did not run before compose up');
    assert.doesNotMatch(calls[configure], /docker\.sock/, 'the tools container got the socket');
  });

  it('TIME_SCALE=60: starts with the override, then gives Prometheus its rules', async () => {
    const ports = await freePorts(PORT_KEYS.length);
    writeFileSync(
      path.join(f.clone.repo, '.env'),
      PORT_KEYS.map((k, i) => `${k}=${ports[i]}\n`).join(''),
    );
    const r = f.clone.make(['up', 'TIME_SCALE=60'], f.clone.path(f.stubDocker));
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
    const calls = dockerCalls(f.log);
    const up = calls.findIndex((c) =>
      /^compose -f docker-compose\.yml -f \.compose\/time-scale\.yml up --detach .*--wait-timeout \d+$/.test(
        c,
      ),
    );
    assert.ok(up >= 0, calls.join('\n'));
    const configure = calls.find((c) => / node .*scripts\/configure\.ts$/.test(c)) ?? '';
    assert.match(configure, /--env TIME_SCALE /, 'configure does not get TIME_SCALE');
    const rules = calls.findIndex((c) =>
      /--network agent-observability_default .* node .*scripts\/compose-rules\.ts$/.test(c),
    );
    assert.ok(rules > up, 'compose-rules.ts did not run on the stack network after up');
  });
}

function upRefusalsAndDiagnosis(f: ReturnType<typeof nodelessMakeFixture>): void {
  it('stops before starting anything when a port is taken, naming the .env key', async () => {
    const [taken, ...rest] = await freePorts(PORT_KEYS.length);
    const server: Server = await new Promise((resolve) => {
      const s = createServer().listen(taken, '127.0.0.1', () => resolve(s));
    });
    try {
      writeFileSync(
        path.join(f.clone.repo, '.env'),
        `PROMETHEUS_PORT=${taken}\n` +
          PORT_KEYS.filter((k) => k !== 'PROMETHEUS_PORT')
            .map((k, i) => `${k}=${rest[i]}\n`)
            .join(''),
      );
      const r = f.clone.make(['up'], f.clone.path(f.stubDocker));
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, new RegExp(`Port ${taken} .* set PROMETHEUS_PORT in \\.env`));
      assert.ok(!dockerCalls(f.log).some((c) => / up --detach/.test(c)), 'compose up ran anyway');
    } finally {
      server.close();
    }
  });

  it('when --wait fails: prints the containers and the last log lines of the failed service, then stops the stack', async () => {
    const ports = await freePorts(PORT_KEYS.length);
    writeFileSync(
      path.join(f.clone.repo, '.env'),
      PORT_KEYS.map((k, i) => `${k}=${ports[i]}\n`).join(''),
    );
    const r = f.clone.make(['up'], f.clone.path(f.stubDocker), { STUB_UP_EXIT: '1' });
    assert.notEqual(r.status, 0);
    const calls = dockerCalls(f.log);
    assert.ok(calls.includes('compose ps --all'), calls.join('\n'));
    assert.ok(calls.includes('compose logs --no-color --tail 40 prometheus'), calls.join('\n'));
    assert.match(r.stderr, /--- prometheus \(exited, exit code 1\)/);
    assert.equal(calls.at(-1), 'compose stop', 'the half-started stack was left running');
  });
}

function toolsContainerSteps(f: ReturnType<typeof nodelessMakeFixture>): void {
  it('service-down from the tools container: the host stops and starts the app on request', () => {
    const script = [
      "import { fileControl } from './scripts/lib/scenarios/app-control.ts';",
      'const app = fileControl(process.env.APP_CONTROL_DIR, 10_000);',
      'await app.stop();',
      'await app.start();',
    ].join('\n');
    const r = spawnSync(
      'bash',
      ['scripts/host/app-control.sh', NODE_24, '--input-type=module', '-e', script],
      {
        cwd: f.clone.repo,
        env: { PATH: f.clone.path(f.stubDocker), HOME: f.clone.dir },
        stdio: ['ignore', 'pipe', 'pipe'],
        encoding: 'utf8',
        timeout: 30_000,
      },
    );
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
    assert.deepEqual(
      dockerCalls(f.log).filter((c) => / app$/.test(c)),
      ['compose stop app', 'compose start app'],
    );
  });

  it('the configure step it runs in the tools container works from the clone without node_modules (TIME_SCALE too)', () => {
    f.clone.make(['up'], f.clone.path(f.stubDocker));
    const run = dockerCalls(f.log).find((c) => / node .*scripts\/configure\.ts$/.test(c));
    assert.ok(run, 'no docker run of configure');
    // The container's command, its working directory and environment, as docker would run it.
    const args = run.split(' ');
    const command = args.slice(args.indexOf('node') + 1);
    const workdir = args[args.indexOf('--workdir') + 1];
    const mount = args[args.indexOf('--volume') + 1];
    assert.equal(mount, `${f.clone.repo}:${workdir}:z`);
    assert.equal(workdir, '/work/repo', 'Node finds the packages in /work/node_modules');
    const env = Object.fromEntries(
      args.flatMap((a, i) => (args[i - 1] === '--env' && a.includes('=') ? [a.split('=')] : [])),
    );
    const replay = spawnSync(NODE_24, command, {
      cwd: f.clone.repo,
      // As `make up TIME_SCALE=60` passes it: the time-scale rendering runs too.
      env: { ...env, PATH: f.clone.path(), TIME_SCALE: '60' },
      encoding: 'utf8',
    });
    assert.equal(replay.status, 0, `${replay.stdout}${replay.stderr}`);
    const dotenv = parseEnv(readFileSync(path.join(f.clone.repo, '.env'), 'utf8'));
    assert.match(dotenv.get('API_KEYS') ?? '', /^[\w-]{32}:free,[\w-]{32}:pro$/);
    assert.match(dotenv.get('GRAFANA_ADMIN_PASSWORD') ?? '', /^[\w-]{32}$/);
    assert.ok(existsSync(path.join(f.clone.repo, '.compose/time-scale.yml')), 'no override');
    const am = path.join(f.clone.repo, 'alertmanager/generated/alertmanager.yml');
    assert.equal(statSync(am).uid, process.getuid?.(), 'the rendered file is not yours');
  });
}

describe('make up with Docker alone (no Node on the host)', function () {
  this.timeout(60_000);
  const f = nodelessMakeFixture();
  hostPreconditions(f);
  versionChecks(f);
  upWithoutHostNode(f);
  upRefusalsAndDiagnosis(f);
  toolsContainerSteps(f);
});
