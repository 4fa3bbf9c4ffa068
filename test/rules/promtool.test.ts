// Runs the promtool unit tests (test/rules/*.test.yml) and `promtool check rules`, one mocha
// test per file, with promtool's own output on failure. The pinned promtool (the Prometheus
// version docker-compose.yml runs) is used when `make tools` has built it, else Debian's.
// Prometheus 3 changed range selection (windows exclude their left edge) and normalises `le`
// labels, so the pinned version is the reference; the test files are written to pass on both.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { describeBinary, findBinary } from '../../scripts/lib/binaries.ts';
import { REPO_ROOT } from '../../scripts/lib/repo.ts';

const run = promisify(execFile);
const TEST_DIR = join(REPO_ROOT, 'test/rules');
const RULES_DIR = join(REPO_ROOT, 'prometheus/rules');

interface Outcome {
  ok: boolean;
  output: string;
}

/** Runs promtool and keeps its output either way: a failed test prints what promtool said. */
async function promtool(bin: string, args: string[]): Promise<Outcome> {
  try {
    const { stdout, stderr } = await run(bin, args, {
      cwd: REPO_ROOT,
      maxBuffer: 16 * 1024 * 1024,
      timeout: 300_000,
    });
    return { ok: true, output: stdout + stderr };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    return { ok: false, output: `${e.stdout ?? ''}${e.stderr ?? ''}` || e.message };
  }
}

const binary = findBinary('promtool');
const testFiles = readdirSync(TEST_DIR)
  .filter((f) => f.endsWith('.test.yml'))
  .sort();
const ruleFiles = readdirSync(RULES_DIR)
  .filter((f) => f.endsWith('.yml'))
  .sort()
  .map((f) => join(RULES_DIR, f));

// The SLO tests evaluate days of samples: every file starts as soon as mocha loads this one
// (beside one-incident.test.ts's replays), and each test awaits its own.
const outcomes = new Map<string, Promise<Outcome>>();
if (binary) {
  outcomes.set('check', promtool(binary.path, ['check', 'rules', ...ruleFiles]));
  for (const file of testFiles) {
    outcomes.set(file, promtool(binary.path, ['test', 'rules', join(TEST_DIR, file)]));
  }
}

describe(`promtool: ${binary ? describeBinary(binary) : 'not found'}`, function () {
  this.timeout(300_000);

  before(function () {
    assert.ok(
      binary,
      'no promtool: `make tools` builds the pinned one, `apt-get install prometheus` gives Debian’s',
    );
  });

  it(`check rules: ${ruleFiles.map((f) => relative(REPO_ROOT, f)).join(', ')}`, async function () {
    const { ok, output } = await outcomes.get('check')!;
    assert.ok(ok, output);
  });

  it('finds the unit test files', function () {
    assert.ok(testFiles.length > 0, `no *.test.yml in ${relative(REPO_ROOT, TEST_DIR)}`);
  });

  for (const file of testFiles) {
    it(`test rules ${file}`, async function () {
      const { ok, output } = await outcomes.get(file)!;
      assert.ok(ok, output);
    });
  }
});
