// The small libraries behind make configure, make open and the config tests: binary lookup
// (pinned build first, then Debian's), .env reading and writing, configure's .env and
// Alertmanager output, and the URLs table.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ensureEnvFile,
  makeMountsReadable,
  writeAlertmanagerConfig,
  type RenderAlertmanager,
} from '../../scripts/configure.ts';
import { findBinary, parseVersionOutput } from '../../scripts/lib/binaries.ts';
import { parsePins, readPins } from '../../scripts/lib/pins.ts';
import { formatEnvValue, parseEnv, setEnvValues } from '../../scripts/lib/env-file.ts';
import { formatUrls, stackUrls } from '../../scripts/urls.ts';
import { resolveEndpoints } from '../../scripts/lib/endpoints.ts';
import { REPO_ROOT } from '../../scripts/lib/repo.ts';

let tmp: string;
beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), 'tooling-'));
});
afterEach(() => rmSync(tmp, { recursive: true, force: true }));

function script(path: string, body: string): void {
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
}

const mode = (p: string) => statSync(p).mode & 0o777;

/** The pin table the binary lookups are asked with (the columns of scripts/tools/pins.txt). */
const pins = parsePins(
  [
    '# program group version module module_version recipe outputs image options',
    'otelcol stack 0.161.0 m v0.161.0 ocb otelcol otel/opentelemetry-collector-contrib:{version} -',
    'jaeger stack 2.13.0 m v1.76.0 jaeger jaeger jaegertracing/jaeger:2.13.0 commit=abc',
    'prometheus stack 3.16.0 m v0.316.0 promu prometheus,promtool - debian=promtool',
    'alertmanager stack 0.34.2 m v0.34.2 alertmanager alertmanager,amtool - debian=alertmanager,amtool tags=netgo',
    '',
  ].join('\n'),
);

describe('scripts/lib/binaries.ts', () => {
  it('prefers the pinned build <bin>/<name>-<version>', () => {
    mkdirSync(join(tmp, 'bin'));
    mkdirSync(join(tmp, 'usr'));
    script(join(tmp, 'bin/promtool-3.16.0'), 'echo pinned');
    script(join(tmp, 'usr/promtool'), 'echo "promtool, version 2.42.0+ds (branch: debian/sid)"');
    const found = findBinary('promtool', {
      binDir: join(tmp, 'bin'),
      path: join(tmp, 'usr'),
      pins,
    });
    assert.deepEqual(found, {
      name: 'promtool',
      path: join(tmp, 'bin/promtool-3.16.0'),
      version: '3.16.0',
      source: 'pinned',
    });
  });

  it("falls back to Debian's program (alertmanager is prometheus-alertmanager there) with its --version", () => {
    mkdirSync(join(tmp, 'usr'));
    script(
      join(tmp, 'usr/prometheus-alertmanager'),
      'echo "alertmanager, version 0.25.0+ds (branch: debian/sid)" >&2',
    );
    const found = findBinary('alertmanager', {
      binDir: join(tmp, 'none'),
      path: join(tmp, 'usr'),
      pins,
    });
    assert.equal(found?.source, 'debian');
    assert.equal(found?.version, '0.25.0');
    assert.equal(found?.path, join(tmp, 'usr/prometheus-alertmanager'));
  });
});

describe('scripts/lib/binaries.ts', () => {
  it('takes <NAME>_BIN over the pinned build, and refuses one that is not executable', () => {
    mkdirSync(join(tmp, 'bin'));
    mkdirSync(join(tmp, 'usr'));
    script(join(tmp, 'bin/prometheus-3.16.0'), 'echo pinned');
    script(
      join(tmp, 'usr/prometheus'),
      'echo "prometheus, version 2.42.0+ds (branch: debian/sid)"',
    );
    const options = { binDir: join(tmp, 'bin'), path: '', pins };
    const found = findBinary('prometheus', {
      ...options,
      env: { PROMETHEUS_BIN: join(tmp, 'usr/prometheus') },
    });
    assert.deepEqual(found, {
      name: 'prometheus',
      path: join(tmp, 'usr/prometheus'),
      version: '2.42.0',
      source: 'env',
    });
    writeFileSync(join(tmp, 'usr/plain'), 'not executable');
    assert.throws(
      () =>
        findBinary('prometheus', { ...options, env: { PROMETHEUS_BIN: join(tmp, 'usr/plain') } }),
      /PROMETHEUS_BIN=.* is not an executable file/,
    );
  });

  it("has no Debian fallback for the Prometheus server (2.42 cannot load prometheus.yml's otlp block)", () => {
    mkdirSync(join(tmp, 'usr'));
    script(
      join(tmp, 'usr/prometheus'),
      'echo "prometheus, version 2.42.0+ds (branch: debian/sid)"',
    );
    script(join(tmp, 'usr/promtool'), 'echo "promtool, version 2.42.0+ds (branch: debian/sid)"');
    const options = { binDir: join(tmp, 'none'), path: join(tmp, 'usr'), pins };
    assert.equal(findBinary('prometheus', options), undefined);
    assert.equal(findBinary('promtool', options)?.source, 'debian');
  });

  it('ignores a pinned build of another version and non-executable files; otelcol has no fallback', () => {
    mkdirSync(join(tmp, 'bin'));
    script(join(tmp, 'bin/otelcol-0.160.0'), 'true');
    writeFileSync(join(tmp, 'bin/jaeger-2.13.0'), 'not executable');
    assert.equal(
      findBinary('otelcol', { binDir: join(tmp, 'bin'), path: join(tmp, 'bin'), pins }),
      undefined,
    );
    assert.equal(findBinary('jaeger', { binDir: join(tmp, 'bin'), path: '', pins }), undefined);
  });

  it('refuses a program the pin table does not list', () => {
    assert.throws(() => findBinary('grafana', { pins }), /unknown program "grafana"/);
    assert.throws(() => findBinary('jaeger', { pins: [] }), /not in scripts\/tools\/pins.txt/);
  });
});

describe('scripts/lib/binaries.ts', () => {
  it('reads the pin table and version strings', () => {
    assert.deepEqual(pins[2], {
      program: 'prometheus',
      group: 'stack',
      version: '3.16.0',
      module: 'm',
      moduleVersion: 'v0.316.0',
      recipe: 'promu',
      outputs: ['prometheus', 'promtool'],
      folders: [],
      image: undefined,
      options: { debian: 'promtool' },
    });
    assert.deepEqual(pins[0].image, {
      repository: 'otel/opentelemetry-collector-contrib',
      tag: '0.161.0',
    });
    assert.deepEqual(pins[1].image, { repository: 'jaegertracing/jaeger', tag: '2.13.0' });
    assert.throws(() => parsePins('a b c\n'), /line 1: 9 columns expected/);
    assert.throws(() => parsePins('a b c d e f g h nokey\n'), /not KEY=VALUE/);
    for (const pin of readPins()) assert.match(pin.version, /^\d+\.\d+\.\d+$/, pin.program);
    assert.equal(parseVersionOutput('otelcol version 0.161.0'), '0.161.0');
    assert.equal(parseVersionOutput('prometheus, version v3.16.0 (branch: HEAD)'), '3.16.0');
    assert.equal(parseVersionOutput('nothing'), undefined);
  });
});

describe('scripts/lib/env-file.ts', () => {
  it('reads .env like Compose: comments, quotes, inline comments, export, last one wins', () => {
    const env = parseEnv(
      '# c\nA=1\nexport B = two words \nC="x # y"\nD=\'$raw\'\nE=v # comment\nF=a#b\nA=3\nG="line\\nnext"\n',
    );
    assert.deepEqual(Object.fromEntries(env), {
      A: '3',
      B: 'two words',
      C: 'x # y',
      D: '$raw',
      E: 'v',
      F: 'a#b',
      G: 'line\nnext',
    });
  });

  it('sets values in place, keeps comments, appends new keys, quotes only when needed', () => {
    const text = '# top\nA=1\n\n# about B\nB=\n';
    const out = setEnvValues(text, { B: 'secret', C: 'with space' });
    assert.equal(out, '# top\nA=1\n\n# about B\nB=secret\nC="with space"\n');
    assert.deepEqual(Object.fromEntries(parseEnv(out)), { A: '1', B: 'secret', C: 'with space' });
    assert.equal(formatEnvValue('abc-_.:/'), 'abc-_.:/');
    assert.equal(formatEnvValue('a"b'), '"a\\"b"');
  });
});

// The .env.example `make configure` starts from, and distinct stand-ins for its random secrets.
const example = [
  'GRAFANA_ADMIN_USER=admin',
  'GRAFANA_ADMIN_PASSWORD=',
  'ADMIN_TOKEN=',
  'API_KEYS=',
  'PROBE_API_KEY=',
  '',
].join('\n');
let n = 0;
const secret = () => `secret${++n}`;

describe('make configure', () => {
  it('creates .env from .env.example with random secrets and one API key per tier, mode 0600', () => {
    writeFileSync(join(tmp, '.env.example'), example);
    const r = ensureEnvFile(tmp, { secret });
    assert.equal(r.created, true);
    assert.deepEqual(r.generated, [
      'GRAFANA_ADMIN_PASSWORD',
      'PROBE_API_KEY',
      'ADMIN_TOKEN',
      'API_KEYS',
    ]);
    const env = parseEnv(readFileSync(join(tmp, '.env'), 'utf8'));
    assert.match(env.get('GRAFANA_ADMIN_PASSWORD') ?? '', /^secret\d+$/);
    assert.notEqual(env.get('GRAFANA_ADMIN_PASSWORD'), env.get('ADMIN_TOKEN'));
    assert.match(env.get('API_KEYS') ?? '', /^secret\d+:free,secret\d+:pro$/);
    assert.equal(mode(join(tmp, '.env')), 0o600);
  });

  it('API keys by default: 32 random base64url characters each, free then pro, all different', () => {
    writeFileSync(join(tmp, '.env.example'), example);
    const env = parseEnv(readFileSync(ensureEnvFile(tmp).path, 'utf8'));
    const pairs = (env.get('API_KEYS') ?? '').split(',').map((p) => p.split(':'));
    assert.deepEqual(
      pairs.map(([, tier]) => tier),
      ['free', 'pro'],
    );
    for (const [key] of pairs) assert.match(key, /^[A-Za-z0-9_-]{32}$/);
    assert.notEqual(pairs[0][0], pairs[1][0]);
    assert.ok(![pairs[0][0], pairs[1][0]].includes(env.get('ADMIN_TOKEN') ?? ''));
    // The synthetic probe's key (blackbox/blackbox.yml): made the same way, a key of its own.
    const probe = env.get('PROBE_API_KEY') ?? '';
    assert.match(probe, /^[A-Za-z0-9_-]{32}$/);
    assert.ok(!pairs.some(([key]) => key === probe));
  });

  it('never overwrites a value; adds keys a newer .env.example brings; an emptied ADMIN_TOKEN stays off', () => {
    writeFileSync(join(tmp, '.env.example'), `${example}NEW_KEY=default\n`);
    writeFileSync(
      join(tmp, '.env'),
      '# mine\nGRAFANA_ADMIN_PASSWORD=kept\nADMIN_TOKEN=\nAPI_KEYS=k:pro\nPROBE_API_KEY=p\n',
    );
    const r = ensureEnvFile(tmp, { secret });
    assert.equal(r.created, false);
    assert.deepEqual(r.generated, []);
    assert.deepEqual(r.added, ['GRAFANA_ADMIN_USER', 'NEW_KEY']);
    const text = readFileSync(join(tmp, '.env'), 'utf8');
    const env = parseEnv(text);
    assert.equal(env.get('GRAFANA_ADMIN_PASSWORD'), 'kept');
    assert.equal(env.get('ADMIN_TOKEN'), '');
    assert.equal(env.get('API_KEYS'), 'k:pro');
    assert.equal(env.get('NEW_KEY'), 'default');
    assert.ok(text.startsWith('# mine\n'), 'comments were lost');
  });
});

describe('make configure', () => {
  it('replaces the public demo keys an older .env.example wrote, keeps any other keys', () => {
    writeFileSync(join(tmp, '.env.example'), example);
    writeFileSync(
      join(tmp, '.env'),
      example.replace('API_KEYS=', 'API_KEYS=demo-free:free,demo-pro:pro'),
    );
    ensureEnvFile(tmp, { secret });
    const keys = parseEnv(readFileSync(join(tmp, '.env'), 'utf8')).get('API_KEYS');
    assert.match(keys ?? '', /^secret\d+:free,secret\d+:pro$/);
    writeFileSync(join(tmp, '.env'), example.replace('API_KEYS=', 'API_KEYS=demo-free:free'));
    ensureEnvFile(tmp, { secret });
    assert.equal(
      parseEnv(readFileSync(join(tmp, '.env'), 'utf8')).get('API_KEYS'),
      'demo-free:free',
    );
  });

  it('fills an emptied Grafana password and probe key again (the stack must not start without them)', () => {
    writeFileSync(join(tmp, '.env.example'), example);
    writeFileSync(join(tmp, '.env'), example.replace('API_KEYS=', 'API_KEYS=mine:pro'));
    const r = ensureEnvFile(tmp, { secret });
    assert.deepEqual(r.generated, ['GRAFANA_ADMIN_PASSWORD', 'PROBE_API_KEY']);
  });

  it('fills the provider key whenever it is empty, and only when .env.example has it', () => {
    writeFileSync(join(tmp, '.env.example'), `${example}PROVIDER_API_KEY=\n`);
    writeFileSync(
      join(tmp, '.env'),
      'GRAFANA_ADMIN_USER=a\nGRAFANA_ADMIN_PASSWORD=kept\nADMIN_TOKEN=\nAPI_KEYS=mine:pro\nPROBE_API_KEY=p\n',
    );
    assert.deepEqual(ensureEnvFile(tmp, { secret }).generated, ['PROVIDER_API_KEY']);
    assert.match(
      parseEnv(readFileSync(join(tmp, '.env'), 'utf8')).get('PROVIDER_API_KEY') ?? '',
      /^secret\d+$/,
    );
    writeFileSync(join(tmp, '.env.example'), example);
    writeFileSync(
      join(tmp, '.env'),
      'GRAFANA_ADMIN_USER=a\nGRAFANA_ADMIN_PASSWORD=kept\nADMIN_TOKEN=\nAPI_KEYS=mine:pro\nPROBE_API_KEY=p\n',
    );
    assert.deepEqual(ensureEnvFile(tmp, { secret }).generated, []);
  });

  it('the real .env.example leaves every secret empty (make configure fills them)', () => {
    const env = parseEnv(readFileSync(join(REPO_ROOT, '.env.example'), 'utf8'));
    for (const key of [
      'GRAFANA_ADMIN_PASSWORD',
      'ADMIN_TOKEN',
      'API_KEYS',
      'PROBE_API_KEY',
      'PROVIDER_API_KEY',
      'SENTRY_DSN',
      'SLACK_WEBHOOK_URL',
      'PAGERDUTY_ROUTING_KEY',
      'SMTP_PASSWORD',
      'DEADMANSSWITCH_URL',
    ])
      assert.equal(env.get(key), '', key);
  });
});

describe('make configure', () => {
  it('makes what compose bind-mounts or builds readable by every container user, but not the secrets', () => {
    for (const dir of ['prometheus/rules', 'alertmanager/generated/secrets']) {
      mkdirSync(join(tmp, dir), { recursive: true, mode: 0o700 });
    }
    writeFileSync(join(tmp, 'prometheus/rules/a.yml'), 'groups: []\n', { mode: 0o600 });
    writeFileSync(join(tmp, 'alertmanager/generated/secrets/key'), 'x', { mode: 0o600 });
    for (const dir of ['app/src', 'app/node_modules/x'])
      mkdirSync(join(tmp, dir), { recursive: true });
    writeFileSync(join(tmp, 'app/package.json'), '{}', { mode: 0o600 });
    writeFileSync(join(tmp, 'app/node_modules/x/index.js'), '', { mode: 0o600 });
    writeFileSync(
      join(tmp, 'docker-compose.yml'),
      'services:\n  p:\n    volumes:\n      - ./prometheus:/etc/prometheus:ro,z\n' +
        '      - ./alertmanager/generated/secrets:/s:ro,z\n  a:\n    build:\n      context: ./app\n',
    );
    chmodSync(join(tmp, 'prometheus'), 0o700);
    assert.equal(makeMountsReadable(tmp), 4);
    assert.equal(mode(join(tmp, 'app/package.json')), 0o644, 'the build context');
    assert.equal(mode(join(tmp, 'app/node_modules/x/index.js')), 0o600, 'not built into the image');
    assert.equal(mode(join(tmp, 'prometheus')), 0o755);
    assert.equal(mode(join(tmp, 'prometheus/rules')), 0o755);
    assert.equal(mode(join(tmp, 'prometheus/rules/a.yml')), 0o644);
    assert.equal(mode(join(tmp, 'alertmanager/generated/secrets/key')), 0o600);
    assert.equal(makeMountsReadable(tmp), 0, 'a second run changes nothing');
  });

  it("writes the renderer's Alertmanager config and 0600 secret files, removing stale ones", () => {
    const render: RenderAlertmanager = (env) => ({
      yaml: `route: {receiver: local}\n# ${env.SLACK ? 'slack' : 'none'}\n`,
      active: env.SLACK ? ['local', 'slack'] : ['local'],
      skipped: env.SLACK ? [] : [{ receiver: 'slack', missing: 'SLACK' }],
      secretFiles: env.SLACK ? { slack_api_url: env.SLACK } : ({} as Record<string, string>),
    });
    const on = writeAlertmanagerConfig(tmp, { SLACK: 'https://hooks.example/x' }, render);
    const secretFile = join(on.secretsDir, 'slack_api_url');
    assert.equal(readFileSync(secretFile, 'utf8'), 'https://hooks.example/x');
    assert.equal(mode(secretFile), 0o600);
    assert.equal(mode(on.secretsDir), 0o700);
    assert.match(readFileSync(on.configPath, 'utf8'), /# slack/);

    const off = writeAlertmanagerConfig(tmp, {}, render);
    assert.equal(
      existsSync(secretFile),
      false,
      'a secret of a receiver no longer active was left behind',
    );
    assert.deepEqual(off.skipped, [{ receiver: 'slack', missing: 'SLACK' }]);
    assert.throws(
      () =>
        writeAlertmanagerConfig(tmp, {}, () => ({
          ...render({}, tmp),
          secretFiles: { '../x': 'y' },
        })),
      /plain file name/,
    );
  });
});

describe('make open (URLs)', () => {
  it('prints every UI and API with the ports from .env, and where the Grafana password is', () => {
    const repo = mkdtempSync(join(tmpdir(), 'agent-obs-open-'));
    writeFileSync(join(repo, '.env'), 'GRAFANA_PORT=3333\n');
    const ep = resolveEndpoints({}, { NATIVE_STATE_DIR: join(repo, '.native') }, repo);
    rmSync(repo, { recursive: true });
    const urls = stackUrls(ep, '.env');
    const byName = Object.fromEntries(urls.map((u) => [u.name, u]));
    assert.equal(byName.Grafana.url, 'http://127.0.0.1:3333');
    assert.match(byName.Grafana.note, /GRAFANA_ADMIN_PASSWORD in \.env/);
    assert.equal(byName.Prometheus.url, 'http://127.0.0.1:9090');
    assert.equal(byName.Alertmanager.url, 'http://127.0.0.1:9093');
    assert.equal(byName.Jaeger.url, 'http://127.0.0.1:16686');
    assert.equal(byName['Alert receiver'].url, 'http://127.0.0.1:9095/alerts');
    assert.equal(byName['Agent API'].url, 'http://127.0.0.1:8000/v1/agents');
    assert.equal(formatUrls(urls).split('\n').length, urls.length);
  });

  it('prints a component added to the components table, with no other file edited', () => {
    const copy = mkdtempSync(join(tmpdir(), 'agent-obs-open-row-'));
    cpSync(join(REPO_ROOT, 'scripts'), join(copy, 'scripts'), { recursive: true });
    const table = join(copy, 'scripts/lib/components.ts');
    const row =
      "  pyroscope: { native: false, listens: [{ port: 4040, endpoint: 'pyroscope', " +
      "hostPortVar: 'PYROSCOPE_PORT', urlVar: 'PYROSCOPE_URL', " +
      "opens: { title: 'Pyroscope', path: '/flame', note: 'profiles' } }] },\n";
    const start = 'export const STACK_COMPONENTS = {\n';
    writeFileSync(table, readFileSync(table, 'utf8').replace(start, start + row));
    const urls = join(copy, 'scripts/urls.ts');
    const r = spawnSync(process.execPath, ['--disable-warning=ExperimentalWarning', urls], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH, NATIVE_STATE_DIR: join(copy, '.native') },
    });
    rmSync(copy, { recursive: true, force: true });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /\n {2}Pyroscope +http:\/\/127\.0\.0\.1:4040\/flame +profiles\n/);
  });
});

// .ci/run tolerates a failed build (the tests fall back to Debian's programs), so a script that
// no longer parses, as a bad merge can leave it, would go unnoticed on a machine with a cache.
describe('shell scripts parse', () => {
  const scripts = ['scripts/tools/build-binaries.sh', 'scripts/tools/bin-path.sh', '.ci/run'];
  for (const script of scripts) {
    it(`bash -n ${script}`, () => {
      const r = spawnSync('bash', ['-n', join(REPO_ROOT, script)], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
    });
  }
  it('bash -n fails on a script cut short (the check can fail)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bash-n-'));
    const cut = readFileSync(join(REPO_ROOT, scripts[0]), 'utf8').replace(/\n}\n[^]*$/, '\n');
    writeFileSync(join(dir, 'cut.sh'), cut);
    const r = spawnSync('bash', ['-n', join(dir, 'cut.sh')], { encoding: 'utf8' });
    rmSync(dir, { recursive: true, force: true });
    assert.notEqual(r.status, 0);
  });
});
