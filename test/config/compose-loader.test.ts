// docker-compose.yml, alone and with override files, loaded by compose-go, the library that
// `docker compose` itself loads projects with (scripts/tools/compose-check, built by make
// tools), with the options of `docker compose config` and the .env that `make configure`
// writes. Each kind of error is shown failing on a broken copy.
import assert from 'node:assert/strict';
import {
  copyFileSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureEnvFile } from '../../scripts/configure.ts';
import { isBuiltFromCurrentInputs } from '../../scripts/lib/binaries.ts';
import { TIME_SCALE_OVERRIDE } from '../../scripts/lib/stack/compose-time-scale.ts';
import { requirePinned, run } from '../lib/programs.ts';
import { REPO } from '../lib/repo.ts';
import { renderTimeScaleCopy } from '../lib/time-scale-copy.ts';

const COMPOSE_FILE = join(REPO, 'docker-compose.yml');

/** Override files in the repo root (docker-compose.<name>.yml), each loaded on top of the main one. */
const REPO_OVERRIDES = readdirSync(REPO).filter((f) => /^docker-compose\..+\.ya?ml$/.test(f));

/** A temporary folder with the .env `make up` runs with, and compose-check run against it. */
function composeCheckFixture() {
  let tmp: string;
  let envFile: string;
  const compose = readFileSync(COMPOSE_FILE, 'utf8');

  before(() => {
    tmp = mkdtempSync(join(tmpdir(), 'compose-check-'));
    // The .env that `make up` runs with: .env.example with configure's generated secrets.
    copyFileSync(join(REPO, '.env.example'), join(tmp, '.env.example'));
    envFile = ensureEnvFile(tmp).path;
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  const check = (
    ctx: Mocha.Context,
    files: string[],
    opts: { env?: string; print?: boolean } = {},
  ) => {
    const bin = requirePinned(ctx, 'compose-check');
    const args = ['--env-file', opts.env ?? envFile, '--project-dir', REPO];
    return run(bin.path, [...args, ...(opts.print ? ['--print'] : []), ...files], REPO);
  };
  const write = (name: string, text: string) => {
    writeFileSync(join(tmp, name), text);
    return join(tmp, name);
  };
  const brokenCopy = (from: string, to: string) => {
    assert.ok(compose.includes(from), `docker-compose.yml contains ${JSON.stringify(from)}`);
    return write('docker-compose.yml', compose.replaceAll(from, to));
  };

  const broken: [string, string, string, RegExp][] = [
    ['an invalid memory limit', 'memory: 512M', 'memory: lots', /invalid size: 'lots'/],
    ['a misspelt key', '  restart: unless-stopped', '  restrat: unless-stopped', /restrat/],
    [
      'an unknown depends_on condition',
      'condition: service_healthy',
      'condition: when_it_likes',
      /condition value must be one of/,
    ],
  ];
  return {
    get tmp() {
      return tmp;
    },
    get envFile() {
      return envFile;
    },
    compose,
    check,
    write,
    brokenCopy,
    broken,
  };
}

function composeAccepts(f: ReturnType<typeof composeCheckFixture>): void {
  it('is built from its current source (the go.mod version: test/config/pins.test.ts)', function () {
    requirePinned(this, 'compose-check');
    // build-binaries.sh stamps each build with the hash of its inputs, here the source folder.
    assert.ok(
      isBuiltFromCurrentInputs('compose-check'),
      'compose-check is older than its source: run make tools',
    );
  });

  it('loads docker-compose.yml alone', function () {
    const r = f.check(this, [COMPOSE_FILE]);
    assert.equal(r.code, 0, r.output);
    assert.match(
      r.stdout,
      /project agent-observability loads: \d+ services \(.*\bapp\b.*\bgrafana\b/,
    );
  });

  it('loads it with an override file, which wins', function () {
    const override = f.write(
      'override.yml',
      'services:\n  app:\n    environment:\n      LOG_LEVEL: debug\n',
    );
    const r = f.check(this, [COMPOSE_FILE, override], { print: true });
    assert.equal(r.code, 0, r.output);
    assert.match(r.stdout, /LOG_LEVEL: debug/);
  });

  it('loads it with the override `make up TIME_SCALE=60` renders', function () {
    this.timeout(30_000); // the PromQL rewrite of every rule, then the loader
    const { repo } = renderTimeScaleCopy('60');
    try {
      const r = f.check(this, [COMPOSE_FILE, join(repo, TIME_SCALE_OVERRIDE)], { print: true });
      assert.equal(r.code, 0, r.output);
      assert.match(r.stdout, /--rules\.alert\.resend-delay=2s/);
    } finally {
      rmSync(repo, { recursive: true, force: true });
    }
  });

  for (const file of REPO_OVERRIDES) {
    it(`loads it with the repo's override ${file}`, function () {
      const r = f.check(this, [COMPOSE_FILE, join(REPO, file)]);
      assert.equal(r.code, 0, r.output);
    });
  }
}

function composeRefuses(f: ReturnType<typeof composeCheckFixture>): void {
  for (const [what, from, to, message] of f.broken) {
    it(`fails a copy with ${what}`, function () {
      const r = f.check(this, [f.brokenCopy(from, to)]);
      assert.equal(r.code, 1, r.output);
      assert.match(r.stderr, message);
    });
  }

  it('fails an override that names a service the project does not have', function () {
    const override = f.write('bad-override.yml', 'services:\n  app:\n    depends_on: [nosuch]\n');
    const r = f.check(this, [COMPOSE_FILE, override]);
    assert.equal(r.code, 1, r.output);
    assert.match(r.stderr, /depends on undefined service "nosuch"/);
  });

  it('fails without the .env that make configure writes (a required secret is empty)', function () {
    const r = f.check(this, [COMPOSE_FILE], { env: f.write('empty.env', '') });
    assert.equal(r.code, 1, r.output);
    assert.match(r.stderr, /GRAFANA_ADMIN_PASSWORD/);
  });
}

describe('docker-compose.yml through Compose’s own loader (compose-go, compose-check)', () => {
  const f = composeCheckFixture();
  composeAccepts(f);
  composeRefuses(f);
});
