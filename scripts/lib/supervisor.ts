// Starting, watching and stopping the tooling's processes (the native stack's, the benchmark's). Each runs in its own process
// group (so Ctrl-C in the terminal reaches only the harness, which then stops them in order,
// and a stop reaches any children they spawned), with stdout and stderr in a log file. If the
// harness itself exits for any reason short of SIGKILL, an exit hook kills what is left.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';

export interface ProcessSpec {
  name: string;
  command: string;
  args: string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  logFile: string;
  /** Discard stdout (the benchmark: writing logs is part of the cost, keeping them is not). */
  discardStdout?: boolean;
  /** Local ports it listens on, for the status and the "all ports closed" check. */
  ports: number[];
  /** Resolves true once the process serves; polled until `readyTimeoutMs`. */
  ready: () => Promise<boolean>;
  readyTimeoutMs?: number;
}

export interface Managed {
  name: string;
  pid: number;
  ports: number[];
  logFile: string;
  /** Set once the process has exited; `expected` when the supervisor stopped it. */
  exit?: { code: number | null; signal: NodeJS.Signals | null; expected: boolean };
}

/** The last lines of a log file, to show why a process failed. */
export function logTail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

export class Supervisor {
  private readonly children = new Map<
    string,
    { child: ChildProcess; managed: Managed; stopping: boolean }
  >();
  private readonly onUnexpectedExit: (m: Managed) => void;
  private readonly exitHook = () => {
    for (const { child } of this.children.values()) killGroup(child, 'SIGKILL');
  };

  constructor(onUnexpectedExit: (m: Managed) => void = () => {}) {
    this.onUnexpectedExit = onUnexpectedExit;
    process.on('exit', this.exitHook);
  }

  /** Every process started so far, running or not. */
  get processes(): Managed[] {
    return [...this.children.values()].map((c) => c.managed);
  }

  async start(spec: ProcessSpec): Promise<Managed> {
    const previous = this.children.get(spec.name);
    if (previous && !previous.managed.exit) throw new Error(`${spec.name} is already running`);
    const fd = openSync(spec.logFile, 'a');
    const child = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env: spec.env ?? process.env,
      stdio: ['ignore', spec.discardStdout ? 'ignore' : fd, fd],
      detached: true,
    });
    closeSync(fd);
    const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
    if (child.pid === undefined)
      throw new Error(`${spec.name}: could not start ${spec.command}: ${await spawnError}`);
    const managed: Managed = {
      name: spec.name,
      pid: child.pid,
      ports: spec.ports,
      logFile: spec.logFile,
    };
    const entry = { child, managed, stopping: false };
    this.children.set(spec.name, entry);
    const exited = new Promise<void>((resolve) =>
      child.once('exit', (code, signal) => {
        managed.exit = { code, signal, expected: entry.stopping };
        if (!entry.stopping) this.onUnexpectedExit(managed);
        resolve();
      }),
    );

    const deadline = Date.now() + (spec.readyTimeoutMs ?? 60_000);
    for (;;) {
      if (managed.exit) {
        throw new Error(
          `${spec.name} exited during start-up (code ${managed.exit.code}, signal ${managed.exit.signal}); ` +
            `last lines of ${spec.logFile}:\n${logTail(spec.logFile)}`,
        );
      }
      if (await spec.ready().catch(() => false)) return managed;
      if (Date.now() > deadline) {
        await this.stop(spec.name);
        throw new Error(
          `${spec.name} did not become ready; last lines of ${spec.logFile}:\n${logTail(spec.logFile)}`,
        );
      }
      await Promise.race([exited, new Promise((r) => setTimeout(r, 200))]);
    }
  }

  /** Send a signal to a running process (e.g. SIGHUP: reload the config). */
  signal(name: string, signal: NodeJS.Signals): void {
    const entry = this.children.get(name);
    if (!entry || entry.managed.exit) throw new Error(`${name} is not running`);
    entry.child.kill(signal);
  }

  /** SIGTERM to the process group, SIGKILL after `graceMs`; resolves once it has exited. */
  async stop(name: string, graceMs = 10_000): Promise<void> {
    const entry = this.children.get(name);
    if (!entry || entry.managed.exit) return;
    entry.stopping = true;
    const exited = new Promise<void>((resolve) => {
      if (entry.managed.exit) resolve();
      else entry.child.once('exit', () => resolve());
    });
    killGroup(entry.child, 'SIGTERM');
    const timer = setTimeout(() => killGroup(entry.child, 'SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
    // Anything the process left behind in its group goes too.
    killGroup(entry.child, 'SIGKILL');
  }

  /** Stop in the given order first (e.g. the app before the Collector it sends to), then the rest. */
  async stopAll(order: string[] = []): Promise<void> {
    for (const name of order) await this.stop(name);
    await Promise.all([...this.children.keys()].map((n) => this.stop(n)));
    process.off('exit', this.exitHook);
  }
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // The group is already gone.
  }
}
