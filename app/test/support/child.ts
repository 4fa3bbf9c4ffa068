// Starts the service as its own process, the way `npm start` does (telemetry preloaded with
// --require), on a free port with a fresh data directory, and collects its JSON log lines.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { testEnv } from './app';
import type { LogLine } from './telemetry';

const BUILD_SRC = resolve(__dirname, '../../src');

export interface RunningService {
  url: string;
  /** The management listener (/metrics, /health*, /admin/*). */
  managementUrl: string;
  /** The service's process id, to read its memory and sockets from /proc. */
  pid: number;
  process: ChildProcess;
  logs: LogLine[];
  stderr(): string;
  /** Resolves with the exit code once the process has exited. */
  exited: Promise<number | null>;
  stop(): Promise<number | null>;
}

export interface ExitResult {
  code: number | null;
  logs: LogLine[];
  stderr: string;
}

/** Where to start the service: the tests' build (default), or a folder holding dist/ that is
 * started with the image's own command line. */
export interface StartOptions {
  cwd?: string;
}

function spawnService(env: Record<string, string>, options: StartOptions = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), 'agent-service-proc-'));
  const args = options.cwd
    ? ['--require', './dist/telemetry/instrument.js', 'dist/server.js']
    : ['--require', join(BUILD_SRC, 'telemetry/instrument.js'), join(BUILD_SRC, 'server.js')];
  const child = spawn(process.execPath, args, {
    cwd: options.cwd,
    env: {
      PATH: process.env.PATH,
      ...testEnv({ DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', MANAGEMENT_PORT: '0', ...env }),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: LogLine[] = [];
  let stderr = '';
  let pending = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    pending += chunk.toString('utf8');
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) if (line !== '') logs.push(JSON.parse(line) as LogLine);
  });
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = new Promise<number | null>((done) =>
    child.once('exit', (code) => {
      rmSync(dataDir, { recursive: true, force: true });
      done(code);
    }),
  );
  return { child, logs, stderr: () => stderr, exited };
}

/** Runs the service with a configuration it should refuse; resolves when it has exited. */
export async function runToExit(env: Record<string, string>): Promise<ExitResult> {
  const { logs, stderr, exited } = spawnService(env);
  const code = await exited;
  return { code, logs, stderr: stderr() };
}

export async function startService(
  env: Record<string, string> = {},
  options: StartOptions = {},
): Promise<RunningService> {
  const { child, logs, stderr, exited } = spawnService(env, options);
  const deadline = Date.now() + 20_000;
  let listening: LogLine | undefined;
  while (listening === undefined) {
    listening = logs.find((line) => line.message === 'agent service listening');
    if (listening) break;
    if (child.exitCode !== null) throw new Error(`service exited at start:\n${stderr()}`);
    else if (Date.now() > deadline) throw new Error(`service did not start:\n${stderr()}`);
    else await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return {
    url: listening.api as string,
    managementUrl: listening.management as string,
    pid: child.pid!,
    process: child,
    logs,
    stderr,
    exited,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}
