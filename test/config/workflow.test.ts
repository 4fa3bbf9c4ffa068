// .github/workflows/ci.yml (docs/ci.md): checked by actionlint (its pinned build, with ShellCheck
// on every `run:` script), shown failing on broken copies; and read as YAML for what docs/ci.md
// promises of it: the compose job runs the README's Docker quick start with Node taken away, the
// test job does what .ci/run does, and every action is pinned to a version.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import YAML from 'yaml';
import { requirePinned, run } from '../lib/programs.ts';
import { REPO_ROOT } from '../../scripts/lib/repo.ts';

const WORKFLOW = join(REPO_ROOT, '.github/workflows/ci.yml');
const text = readFileSync(WORKFLOW, 'utf8');

interface Step {
  name?: string;
  uses?: string;
  run?: string;
  if?: string;
  with?: Record<string, string>;
}
type Jobs = Record<string, { 'runs-on': string; steps: Step[] }>;
const jobs = (YAML.parse(text) as { jobs: Jobs }).jobs;

/**
 * ShellCheck, which actionlint runs on every `run:` script (.ci/run and the workflow install
 * Debian's package). Missing: CI fails; elsewhere the scripts go unchecked, said loudly.
 */
function findShellcheck(): string {
  const found = spawnSync('sh', ['-c', 'command -v shellcheck'], { encoding: 'utf8' });
  const path = found.stdout.trim();
  if (path) return path;
  if (process.env.CI) throw new Error('shellcheck is not installed (apt-get install shellcheck)');
  console.log('      !!! shellcheck is not installed: the run: scripts are not checked');
  return '';
}

/** actionlint on one workflow file, with ShellCheck on its scripts (pyflakes: no Python here). */
function actionlint(ctx: Mocha.Context, file: string) {
  const bin = requirePinned(ctx, 'actionlint');
  return run(
    bin.path,
    ['-no-color', `-shellcheck=${findShellcheck()}`, '-pyflakes=', file],
    REPO_ROOT,
  );
}

describe('.github/workflows/ci.yml', () => {
  describe('actionlint', () => {
    let tmp: string;
    beforeEach(() => {
      tmp = mkdtempSync(join(tmpdir(), 'workflow-'));
      mkdirSync(join(tmp, '.github/workflows'), { recursive: true });
    });
    afterEach(() => rmSync(tmp, { recursive: true, force: true }));

    const broken = (from: string, to: string): string => {
      assert.ok(text.includes(from), `the workflow contains ${JSON.stringify(from)}`);
      const file = join(tmp, '.github/workflows/ci.yml');
      writeFileSync(file, text.replace(from, to));
      return file;
    };

    it('passes the workflow', function () {
      const r = actionlint(this, WORKFLOW);
      assert.equal(r.code, 0, r.output);
    });

    it('fails a copy with a misspelt runner label', function () {
      const r = actionlint(this, broken('runs-on: ubuntu-latest', 'runs-on: ubuntu-lastest'));
      assert.equal(r.code, 1, r.output);
      assert.match(r.output, /label "ubuntu-lastest" is unknown/);
    });

    it('fails a copy whose step reads an output of a job it does not need', function () {
      const r = actionlint(
        this,
        broken('      - run: make smoke', '      - run: make smoke ${{ needs.test.outputs.x }}'),
      );
      assert.equal(r.code, 1, r.output);
      assert.match(r.output, /property "test" is not defined/);
    });

    it('fails a copy whose script ShellCheck rejects (a `!` that set -e ignores)', function () {
      if (!findShellcheck()) this.skip();
      // A bare `! cmd` is what a careless "show that node is missing" step would write.
      const r = actionlint(
        this,
        broken(
          '          if command -v node; then\n            echo "::error::node is still on PATH"\n            exit 1\n          fi\n',
          '          ! command -v node\n',
        ),
      );
      assert.equal(r.code, 1, r.output);
      assert.match(r.output, /SC2251/);
    });
  });
});

describe('.github/workflows/ci.yml', () => {
  describe('the compose job: the README quick start on Docker alone', () => {
    const steps = jobs.compose?.steps ?? [];
    const runs = steps.map((s) => s.run ?? '');
    const makeTargets = (commands: string[]) =>
      commands.flatMap((c) =>
        [...c.matchAll(/^\s*make ([a-z][\w-]*)/gm)].map((m) => m[1] as string),
      );

    it('removes Node and shows node is not found before make up', () => {
      const up = runs.findIndex((r) => /^make up\b/m.test(r));
      const removal = runs.findIndex((r) => /type -ap "\$tool" \| xargs -r sudo rm -f/.test(r));
      const shown = runs.findIndex((r) => /if command -v node; then/.test(r) && /exit 1/.test(r));
      assert.ok(removal >= 0 && shown > removal && up > shown, runs.join('\n---\n'));
    });

    it('runs make up TIME_SCALE=60, load, smoke, alert-errors and down, in that order', () => {
      const wanted = ['up', 'load', 'smoke', 'alert-errors', 'down'];
      const got = makeTargets(runs).filter((t) => wanted.includes(t));
      assert.deepEqual(got, wanted);
      assert.ok(runs.includes('make up TIME_SCALE=60'), 'make up with TIME_SCALE=60');
    });

    it("runs the README's quick start make commands in the README's order", () => {
      const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
      const quickStart = /## Quick start[\s\S]*?```sh\n([\s\S]*?)```/.exec(readme)?.[1];
      assert.ok(quickStart, 'the README has a quick start code block');
      const readmeTargets = makeTargets(quickStart.split('\n'));
      assert.ok(readmeTargets.length >= 3, `README quick start targets: ${readmeTargets.join()}`);
      // Each README step appears in the job, in order (the job may add checks such as smoke).
      const jobTargets = makeTargets(runs);
      let at = 0;
      for (const target of readmeTargets) {
        at = jobTargets.indexOf(target, at);
        assert.ok(
          at >= 0,
          `make ${target} (README quick start) missing or out of order in ${jobTargets.join(', ')}`,
        );
        at++;
      }
    });

    it('uploads docker compose logs on failure', () => {
      const collect = steps.find(
        (s) => s.if === 'failure()' && /docker compose logs/.test(s.run ?? ''),
      );
      const upload = steps.find((s) => s.uses?.startsWith('actions/upload-artifact@'));
      assert.ok(collect, 'a failure() step writes docker compose logs');
      assert.equal(upload?.if, 'failure()');
      assert.ok(
        upload?.with?.path && collect.run?.includes(upload.with.path),
        'it uploads that file',
      );
    });
  });
});

describe('.github/workflows/ci.yml', () => {
  describe('the test job: what .ci/run does', () => {
    const steps = jobs.test?.steps ?? [];
    const runs = steps.map((s) => s.run ?? '').join('\n');
    const ciRun = readFileSync(join(REPO_ROOT, '.ci/run'), 'utf8');

    it('installs the same Debian packages as .ci/run, with sudo', () => {
      const packages = /apt-get install[^\n]*--no-install-recommends ([^>\n]*)/.exec(ciRun)?.[1];
      assert.ok(packages, '.ci/run installs packages');
      for (const p of packages.trim().split(/\s+/)) assert.match(runs, new RegExp(`\\b${p}\\b`));
      assert.match(runs, /sudo [^\n]*apt-get install/);
      assert.match(runs, /sudo tee \/usr\/sbin\/policy-rc.d/);
    });

    it('runs npm ci twice, make tools with a cache (keyed on the pin table: pins.test.ts), then make test', () => {
      const order = ['npm ci', 'make tools', 'make test'].map((c) => runs.indexOf(c));
      assert.ok(
        order.every((i, n) => i >= 0 && (n === 0 || i > (order[n - 1] as number))),
        runs,
      );
      assert.equal(steps.filter((s) => s.run?.startsWith('npm ci')).length, 2);
      const cache = steps.find((s) => s.uses?.startsWith('actions/cache@'));
      assert.match(cache?.with?.path ?? '', /go-build/);
      const cacheAt = steps.indexOf(cache as Step);
      assert.ok(
        cacheAt < steps.findIndex((s) => s.run === 'make tools'),
        'cache restored before make tools',
      );
    });
  });

  it('pins every action to a version', () => {
    const uses = Object.values(jobs).flatMap((j) =>
      j.steps.flatMap((s) => (s.uses ? [s.uses] : [])),
    );
    assert.ok(uses.length > 0);
    for (const u of uses) assert.match(u, /^[\w-]+\/[\w-]+@v\d+\.\d+\.\d+$/, u);
  });
});
