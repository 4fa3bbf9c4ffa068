// Running the real programs (promtool, amtool, otelcol, jaeger) from the config tests: which
// binary is used is printed once per program, so a test log says what checked the configs.

import { spawn, spawnSync } from 'node:child_process';
import {
  describeBinary,
  findBinary,
  type FoundBinary,
  type ProgramName,
} from '../../scripts/lib/binaries.ts';

const announced = new Set<string>();

/** The binary for `name` (pinned build first, then Debian's), announced on first use. */
export function program(
  name: ProgramName,
  opts: { pinnedOnly?: boolean } = {},
): FoundBinary | undefined {
  const found = findBinary(name);
  const usable = found && (!opts.pinnedOnly || found.source === 'pinned') ? found : undefined;
  const key = `${name}:${usable?.path ?? 'none'}`;
  if (!announced.has(key)) {
    announced.add(key);
    console.log(
      usable
        ? `      using ${describeBinary(usable)}`
        : `      ${name}: no ${opts.pinnedOnly ? 'pinned build' : 'binary'} found (make tools builds it)`,
    );
  }
  return usable;
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout and stderr together, for assertion messages. */
  output: string;
}

export function run(bin: string, args: string[], cwd?: string, timeoutMs = 60_000): RunResult {
  const r = spawnSync(bin, args, { cwd, encoding: 'utf8', timeout: timeoutMs });
  if (r.error) throw r.error;
  const stdout = r.stdout ?? '';
  const stderr = r.stderr ?? '';
  return { code: r.status, stdout, stderr, output: `${stdout}${stderr}`.trim() };
}

export { freePort } from '../../scripts/lib/ports.ts';

export interface Started {
  /** Everything the process printed so far. */
  log(): string;
  /** Resolves with the exit code once the process has ended. */
  exited: Promise<number | null>;
  stop(): Promise<void>;
}

/** Starts a long-running program; stop() sends SIGTERM, then SIGKILL after 5 s. */
export function start(bin: string, args: string[], cwd?: string): Started {
  const child = spawn(bin, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  return {
    log: () => out,
    exited,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Polls `url` until it answers 200, the process exits, or the time is up. */
export async function waitForOk(url: string, proc: Started, timeoutMs: number): Promise<Response> {
  const deadline = Date.now() + timeoutMs;
  let exitCode: number | null | undefined;
  void proc.exited.then((code) => (exitCode = code ?? -1));
  let last = '';
  while (Date.now() < deadline) {
    if (exitCode !== undefined)
      throw new Error(`exited (${exitCode}) before ${url} answered:\n${proc.log()}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (res.ok) return res;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url} did not answer 200 within ${timeoutMs} ms (${last}):\n${proc.log()}`);
}

/**
 * The pinned build of one of `make validate`'s checkers (actionlint, compose-check), which have
 * no Debian fallback. When it is missing, CI (CI=true: GitHub's runners and .ci/run's caller
 * set it) fails the test with the fix; elsewhere the test is skipped with a loud line.
 */
export function requirePinned(ctx: Mocha.Context, name: ProgramName): FoundBinary {
  const found = program(name, { pinnedOnly: true });
  if (found) return found;
  const why = `${name} is not built: run make tools (scripts/tools/build-binaries.sh ${name})`;
  if (process.env.CI) throw new Error(`${why}; CI must not skip this check`);
  console.log(`      !!! SKIPPED: ${why}`);
  return ctx.skip();
}
