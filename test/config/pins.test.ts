// The pin table (scripts/tools/pins.txt) is the one place a pinned version is written: every
// consumer agrees with it (test/lib/pin-consumers.ts), a mismatch planted in any one consumer is
// reported, and a version changed in the table reaches everything that reads it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findBinary, pinnedPath } from '../../scripts/lib/binaries.ts';
import { parsePins, readPins, type Pin } from '../../scripts/lib/pins.ts';
import { consumers, type Files } from '../lib/pin-consumers.ts';
import { requirePinned } from '../lib/programs.ts';
import { assertReports } from '../lib/reports.ts';
import { REPO_ROOT } from '../../scripts/lib/repo.ts';

const PINS = readPins();
const pin = (program: string): Pin => {
  const p = PINS.find((r) => r.program === program);
  assert.ok(p, `${program} is in scripts/tools/pins.txt`);
  return p;
};
const jaeger = pin('jaeger');
const otelcol = pin('otelcol');

const CONSUMERS = consumers(PINS);
const FILES: Files = Object.fromEntries(
  CONSUMERS.flatMap((c) => [c.file, ...(c.uses ?? [])]).map((f) => [
    f,
    readFileSync(join(REPO_ROOT, f), 'utf8'),
  ]),
);

interface Plant {
  from: string | RegExp;
  to: string;
  reported: RegExp;
}

/** One mismatch per consumer, planted the way a hand edit would. */
const PLANTS: Record<string, Plant[]> = {
  'scripts/tools/build-binaries.sh': [
    {
      from: /^BUILD_DATE=/m,
      to: `JAEGER_VERSION=${jaeger.version}\nBUILD_DATE=`,
      reported: /writes 2/,
    },
  ],
  'scripts/tools/bin-path.sh': [
    {
      from: /^agent_obs_version\(\) \{/m,
      to: `# jaeger ${jaeger.moduleVersion}\n$&`,
      reported: /writes v1/,
    },
  ],
  'scripts/lib/binaries.ts': [
    {
      from: /^const BUILD_SCRIPT/m,
      to: `const JAEGER = '${jaeger.version}';\n$&`,
      reported: /writes/,
    },
  ],
  Makefile: [
    {
      from: /build-binaries\.sh validate stack kube/,
      to: 'build-binaries.sh validate stack $(KUBE_TOOLS)',
      reported: /builds "\$\(KUBE_TOOLS\)", which is no group|does not build the group kube/,
    },
  ],
  '.ci/run': [
    { from: /build-binaries\.sh engine/, to: 'build-binaries.sh docker', reported: /"docker"/ },
  ],
  '.github/workflows/ci.yml': [
    {
      from: "hashFiles('scripts/tools/pins.txt')",
      to: "hashFiles('scripts/tools/versions.env')",
      reported: /cache key/,
    },
  ],
  'docker-compose.yml': [
    {
      from: `jaegertracing/jaeger:${jaeger.image?.tag}`,
      to: 'jaegertracing/jaeger:9.9.9',
      reported: /jaeger: jaegertracing\/jaeger:9\.9\.9 differs/,
    },
    {
      from: /node:\d+\.\d+\.\d+-/,
      to: 'node:22.0.0-',
      reported: /node:22\.0\.0-.* differs from the repo's Node/,
    },
    {
      from: `jaegertracing/jaeger:${jaeger.image?.tag}`,
      to: 'jaegertracing/all-in-one:1.60.0',
      reported: /runs jaegertracing\/all-in-one:1\.60\.0, which .* does not pin/,
    },
  ],
  'deploy/helm/agent-observability/values.yaml': [
    {
      from: `tag: "${otelcol.version}"`,
      to: 'tag: "0.1.0"',
      reported: /collector\.image: .*:0\.1\.0 differs/,
    },
  ],
  'otel-collector/builder-config.yaml': [
    {
      from: /otlpreceiver v[\d.]+/,
      to: 'otlpreceiver v0.1.0',
      reported: /otlpreceiver v0\.1\.0 is not at/,
    },
    { from: /version: [\d.]+/, to: 'version: 0.1.0', reported: /dist\.version 0\.1\.0 differs/ },
  ],
};
for (const p of PINS.filter((r) => r.recipe === 'repo-go'))
  PLANTS[`${p.options.inputs}/go.mod`] = [
    {
      from: ` ${p.moduleVersion}`,
      to: ' v0.0.1',
      reported: new RegExp(`does not require ${p.module}`),
    },
  ];

describe('scripts/tools/pins.txt: every consumer agrees with the table', () => {
  for (const consumer of CONSUMERS) {
    it(`${consumer.file} agrees`, function () {
      if (consumer.needs) requirePinned(this, consumer.needs);
      assert.deepEqual(consumer.check(FILES, PINS), []);
    });
    it(`${consumer.file}: a planted mismatch is reported`, function () {
      if (consumer.needs) requirePinned(this, consumer.needs);
      const plants = PLANTS[consumer.file];
      assert.ok(plants?.length, `no mismatch planted in ${consumer.file}`);
      for (const { from, to, reported } of plants) {
        const text = FILES[consumer.file].replace(from, to);
        assert.notEqual(text, FILES[consumer.file], `the plant ${String(from)} did not apply`);
        assertReports(consumer.check({ ...FILES, [consumer.file]: text }, PINS), reported);
      }
    });
  }
});

/** A copy of the build scripts beside a table with jaeger at 9.9.9. */
function changedTable(): { dir: string; pins: Pin[] } {
  const dir = mkdtempSync(join(tmpdir(), 'pins-'));
  mkdirSync(join(dir, 'scripts/tools'), { recursive: true });
  for (const f of ['build-binaries.sh', 'bin-path.sh'])
    copyFileSync(join(REPO_ROOT, 'scripts/tools', f), join(dir, 'scripts/tools', f));
  const row = new RegExp(`^(jaeger\\s+\\S+\\s+)${jaeger.version.replaceAll('.', '\\.')}`, 'm');
  const text = readFileSync(join(REPO_ROOT, 'scripts/tools/pins.txt'), 'utf8').replace(
    row,
    '$19.9.9',
  );
  writeFileSync(join(dir, 'scripts/tools/pins.txt'), text);
  return { dir, pins: parsePins(text) };
}

describe('scripts/tools/pins.txt: one version changed in the table', () => {
  it('reaches the build script, bin-path.sh and the TypeScript lookup, and fails the checked files', function () {
    for (const { needs } of CONSUMERS) if (needs) requirePinned(this, needs);
    const { dir, pins } = changedTable();
    const env = { ...process.env, AGENT_OBS_CACHE_DIR: join(dir, 'cache'), AGENT_OBS_PINS: '' };
    const sh = (args: string[]) =>
      spawnSync('bash', args, { cwd: dir, env, encoding: 'utf8', timeout: 30_000 });
    try {
      assert.equal(sh(['scripts/tools/bin-path.sh', '--version', 'jaeger']).stdout.trim(), '9.9.9');
      const plan = sh(['scripts/tools/build-binaries.sh', '--dry-run', 'stack']);
      assert.equal(plan.status, 0, plan.stderr);
      assert.match(plan.stdout, /jaeger +9\.9\.9 +build +\S+\/bin\/jaeger-9\.9\.9\n/);
      assert.equal(pinnedPath('jaeger', { pins, binDir: '/b' }), '/b/jaeger-9.9.9');
      assert.equal(findBinary('jaeger', { pins, binDir: join(dir, 'none') }), undefined);
      const reports = CONSUMERS.flatMap((c) => c.check(FILES, pins));
      assertReports(reports, /jaeger: jaegertracing\/jaeger:.* differs from .*\(jaeger 9\.9\.9\)/);
      assertReports(reports, /values\.yaml jaeger\.image: .* differs .*\(9\.9\.9\)/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('every group is built by .ci/run, and by make tools but the engine', () => {
    const make = spawnSync('make', ['-n', 'tools'], { cwd: REPO_ROOT, encoding: 'utf8' });
    assert.equal(make.status, 0, make.stderr);
    assert.match(make.stdout, /build-binaries\.sh validate stack kube\n/);
  });
});

/** How each pinned executable says its version, when not `--version`; null: it has no flag
 * (compose-check and kube-validate are built from this repo: their stamp is checked instead). */
const VERSION_ARGS: Record<string, string[] | null> = {
  helm: ['version'],
  jaeger: ['version'],
  'docker-compose': ['version'],
  actionlint: ['-version'],
  'victoria-logs': ['-version'],
  kubectl: ['version', '--client'],
  'compose-check': null,
  'kube-validate': null,
};

describe('scripts/tools/pins.txt: every pinned build reports the version of its row', () => {
  for (const row of PINS)
    for (const name of row.outputs) {
      const args = name in VERSION_ARGS ? VERSION_ARGS[name] : ['--version'];
      if (!args) continue;
      it(`${name} ${args.join(' ')}: ${row.version}`, function () {
        const found = findBinary(name);
        if (found?.source !== 'pinned') {
          console.log(`      ${name} ${row.version} is not built (make tools): skipped`);
          this.skip();
        }
        const r = spawnSync(found.path, args, { encoding: 'utf8', timeout: 30_000 });
        const out = `${r.stdout}${r.stderr}`;
        console.log(`      ${out.split('\n').find((l) => l.includes(row.version)) ?? out}`);
        assert.match(out, new RegExp(`\\bv?${row.version.replaceAll('.', '\\.')}\\b`));
        if (row.options.commit) assert.ok(out.includes(row.options.commit), out);
      });
    }
});
