// The tests' own Docker Engine (scripts/tools/engine.sh): its environment, and `docker` calls
// through Debian's 20.10 client (/usr/bin/docker, from the docker.io package that also brings
// the engine), so that client and engine are one release whatever else is installed.
import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';
import { REPO } from '../../lib/repo.ts';

export const DOCKER_CLIENT = '/usr/bin/docker';
const ENGINE_SH = path.join(REPO, 'scripts/tools/engine.sh');

/** DOCKER_HOST and DOCKER_CONFIG (the pinned Compose plugin) of the running engine. */
export function engineEnv(): Record<string, string> {
  const text = execFileSync('bash', [ENGINE_SH, 'env'], { encoding: 'utf8' });
  const env: Record<string, string> = {};
  for (const m of text.matchAll(/^export (\w+)=(.*)$/gm)) env[m[1]] = m[2];
  return env;
}

export function engineRuns(): boolean {
  return spawnSync('bash', [ENGINE_SH, 'status'], { stdio: 'ignore' }).status === 0;
}

/** `docker ARGS` on the engine; throws with its stderr on failure. */
export function docker(args: string[], opts: { input?: string; cwd?: string } = {}): string {
  const r = spawnSync(DOCKER_CLIENT, args, {
    env: { ...process.env, ...engineEnv() },
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    input: opts.input,
    cwd: opts.cwd,
  });
  if (r.status !== 0) {
    throw new Error(`docker ${args.join(' ')} failed (${r.status}): ${r.stderr || r.stdout}`);
  }
  return r.stdout;
}

/** `docker image inspect`, or undefined when there is no such image. */
export function inspectImage(tag: string): ImageInspect | undefined {
  try {
    return (JSON.parse(docker(['image', 'inspect', tag])) as ImageInspect[])[0];
  } catch {
    return undefined;
  }
}

export interface ImageInspect {
  Id: string;
  Config: {
    User?: string;
    Env?: string[] | null;
    Entrypoint?: string[] | null;
    Cmd?: string[] | null;
    WorkingDir?: string;
    ExposedPorts?: Record<string, object> | null;
    Volumes?: Record<string, object> | null;
    Labels?: Record<string, string> | null;
    Healthcheck?: { Test?: string[] } | null;
  };
}
