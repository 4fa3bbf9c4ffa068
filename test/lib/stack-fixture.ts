// The native stack an e2e suite shares: started before its tests on free ports in a temporary
// state dir (the suite skipped, with the way to build them, when a pinned program is missing),
// stopped after them, its logs and configs kept when a test or the start failed.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  defaultBinDir,
  describeBinary,
  findBinary,
  type ProgramName,
} from '../../scripts/lib/binaries.ts';
import { startStack, type Component, type Stack } from '../../scripts/lib/stack/stack.ts';
import type { TimeScale } from '../../scripts/lib/time-scale.ts';

export interface StackFixture {
  stack: Stack;
  stateDir: string;
  failed: boolean;
  /** Printed after the suite, one line. */
  timings: string[];
}

export interface StackFixtureOptions {
  /** What the suite tests, for the skip message ("the trace tests"). */
  tests: string;
  /** The pinned programs without which the suite is skipped. */
  programs: ProgramName[];
  /** The components whose absence fails the start. */
  require: Component[];
  /** Components not to start (see StackOptions.skip). */
  skip?: Component[];
  timeScale: TimeScale;
  /** The temporary state dir's name starts with it. */
  stateDirPrefix: string;
}

const listed = (names: string[]) =>
  names.length > 1 ? `${names.slice(0, -1).join(', ')} and ${names.at(-1)}` : names.join('');

function skipWithout(ctx: Mocha.Context, o: StackFixtureOptions): void {
  const absent = o.programs.filter((p) => !findBinary(p));
  if (!absent.length) return;
  console.log(
    `\n    !!! SKIPPED: ${o.tests} need the pinned ${listed(absent)} build: run \`make tools\`` +
      ` (scripts/tools/build-binaries.sh) to build them into ${defaultBinDir()}\n`,
  );
  ctx.skip();
}

async function start(f: StackFixture, o: StackFixtureOptions): Promise<void> {
  f.stateDir = mkdtempSync(path.join(tmpdir(), o.stateDirPrefix));
  const started = Date.now();
  try {
    f.stack = await startStack({
      stateDir: f.stateDir,
      ports: 'free',
      timeScale: o.timeScale,
      require: o.require,
      skip: o.skip,
      adminToken: `e2e-${randomUUID()}`,
      log: (l) => console.log(`    ${l}`),
    });
  } catch (err) {
    // Keep the logs of a failed start (afterEach sees only failed tests).
    f.failed = true;
    throw err;
  }
  f.timings.push(`stack up in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  for (const b of Object.values(f.stack.binaries)) console.log(`      ${describeBinary(b)}`);
}

/**
 * Registers the suite's hooks around `f` (its other fields are the suite's own) and returns
 * it; `started` fills the suite's clients once the stack is up.
 */
export function stackFixture<T extends StackFixture>(
  f: T,
  o: StackFixtureOptions,
  started: (f: T) => void = () => {},
): T {
  before(async function () {
    skipWithout(this, o);
    await start(f, o);
    started(f);
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed') f.failed = true;
  });
  after(async function () {
    await f.stack?.stop();
    if (f.timings.length) console.log(`\n    Timings: ${f.timings.join('; ')}`);
    if (!f.stateDir) return;
    if (f.failed) console.log(`    logs and configs kept for the failure: ${f.stateDir}`);
    else rmSync(f.stateDir, { recursive: true, force: true });
  });
  return f;
}
