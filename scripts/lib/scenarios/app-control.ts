// Stopping and starting the app for the service-down scenario. Under compose that is
// `docker compose stop/start app`; under `make native` (and the whole-stack test) the harness
// owns the process and offers a small control API on loopback (scripts/lib/stack/control.ts).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

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
