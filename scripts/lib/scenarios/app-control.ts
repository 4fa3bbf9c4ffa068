// Stopping and starting the app for the service-down scenario. Under compose that is
// `docker compose stop/start app`, run on the host: directly when the scenario runs there, or
// through request files that scripts/host/app-control.sh answers when it runs in the tools
// container (which gets no Docker socket). Under `make native` (and the whole-stack test) the
// harness owns the process and offers a small control API on loopback
// (scripts/lib/stack/control.ts).
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { waitUntil } from '../wait.ts';

export interface AppControl {
  /** How the app is stopped, for the timeline ("docker compose stop app"). */
  describe: string;
  stop(): Promise<void>;
  start(): Promise<void>;
}

const run = promisify(execFile);

export function composeControl(
  repoDir: string,
  compose = process.env.COMPOSE || 'docker compose',
): AppControl {
  const [cmd, ...base] = compose.split(/\s+/);
  const exec = async (verb: 'stop' | 'start') => {
    try {
      await run(cmd, [...base, verb, 'app'], { cwd: repoDir, timeout: 60_000 });
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      throw new Error(`${compose} ${verb} app failed: ${(e.stderr || e.message).trim()}`, {
        cause: err,
      });
    }
  };
  return { describe: `${compose} stop app`, stop: () => exec('stop'), start: () => exec('start') };
}

/**
 * Asks the host to stop or start the app: writes `request-<id>` (stop|start) into `dir` and
 * waits for scripts/host/app-control.sh to answer with `done-<id>` ("ok" or the error).
 */
export function fileControl(dir: string, timeoutMs = 90_000): AppControl {
  let count = 0;
  const ask = async (verb: 'stop' | 'start') => {
    const id = `${process.pid}-${++count}`;
    const done = path.join(dir, `done-${id}`);
    // Written aside and renamed, so the host never reads half a request.
    writeFileSync(path.join(dir, `.${id}`), verb);
    renameSync(path.join(dir, `.${id}`), path.join(dir, `request-${id}`));
    const answer = await waitUntil(
      `the host to ${verb} the app (scripts/host/app-control.sh)`,
      timeoutMs,
      async () => (existsSync(done) ? readFileSync(done, 'utf8').trim() : undefined),
      200,
    );
    rmSync(done, { force: true });
    if (answer !== 'ok')
      throw new Error(`docker compose ${verb} app failed on the host: ${answer}`);
  };
  return {
    describe: 'docker compose stop app (on the host, for the tools container)',
    stop: () => ask('stop'),
    start: () => ask('start'),
  };
}

export function nativeControl(controlUrl: string): AppControl {
  const post = async (action: 'stop' | 'start') => {
    const res = await fetch(`${controlUrl}/apps/app/${action}`, {
      method: 'POST',
      signal: AbortSignal.timeout(30_000),
    });
    if (!res.ok)
      throw new Error(
        `make native's control API: ${action} app: ${res.status} ${await res.text()}`,
      );
  };
  return {
    describe: "make native's control API (app stopped)",
    stop: () => post('stop'),
    start: () => post('start'),
  };
}

/** Is `docker compose` usable here, with the stack's app container known to it? */
export async function composeAvailable(
  repoDir: string,
  compose = process.env.COMPOSE || 'docker compose',
) {
  const [cmd, ...base] = compose.split(/\s+/);
  try {
    const { stdout } = await run(cmd, [...base, 'ps', '--all', '--services'], {
      cwd: repoDir,
      timeout: 15_000,
    });
    return stdout.split('\n').includes('app');
  } catch {
    return false;
  }
}
