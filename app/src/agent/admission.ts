// Which work may start, and the means to cancel what is running. Runs are capped at
// MAX_CONCURRENT_RUNS, and per API key at its tier's RUN_CONCURRENCY_*: each holds its input,
// prompts and record in memory (about 2 MB with a 64 KiB input), so the cap bounds the heap,
// and no one key can take every slot. A run holds its slot until it has settled, not until
// its client has gone: a client that hangs up cancels its run. At shutdown new work is
// refused, bodies still arriving are answered at once (their run could not start anyway), and,
// when the drain window is nearly over, work still running is cancelled, so every request gets
// an answer.
import type { Tier } from '../config';
import type { CancelReason } from './run';
import type { RunRejectionReason } from '../telemetry/metrics';

export interface Ticket {
  /** Aborted, with its CancelReason, when the work is cancelled. */
  signal: AbortSignal;
  cancel(reason: CancelReason): void;
  /** Call once the work is over; calling again does nothing. */
  release(): void;
}

export class Admission {
  private readonly runs = new Set<AbortController>();
  private readonly byKey = new Map<string, number>();
  private readonly others = new Set<AbortController>();
  private readonly bodies = new Set<AbortController>();
  private closed = false;

  constructor(
    readonly maxConcurrentRuns: number,
    readonly perKey: Record<Tier, number> = { free: maxConcurrentRuns, pro: maxConcurrentRuns },
  ) {}

  get runsInFlight(): number {
    return this.runs.size;
  }

  /** A ticket for a run of `owner`'s key, or why it is refused. */
  admitRun(owner: string, tier: Tier): Ticket | RunRejectionReason {
    if (this.closed) return 'shutting_down';
    const held = this.byKey.get(owner) ?? 0;
    if (held >= this.perKey[tier]) return 'key_limit';
    if (this.runs.size >= this.maxConcurrentRuns) return 'overloaded';
    this.byKey.set(owner, held + 1);
    return this.ticket(this.runs, () => {
      const left = (this.byKey.get(owner) ?? 1) - 1;
      if (left > 0) this.byKey.set(owner, left);
      else this.byKey.delete(owner);
    });
  }

  /** A ticket for other work that may wait long (an injected latency), without a cap. */
  watch(): Ticket {
    return this.ticket(this.others);
  }

  /** A ticket for reading a request body, cancelled as soon as a shutdown starts. */
  readBody(): Ticket | 'shutting_down' {
    return this.closed ? 'shutting_down' : this.ticket(this.bodies);
  }

  /** Shutdown: refuse new runs from now on; answer the bodies still arriving. */
  close(): void {
    this.closed = true;
    for (const controller of [...this.bodies]) controller.abort('shutting_down');
  }

  /** Shutdown: cancels all running work; returns how many were cancelled. */
  cancelAll(): number {
    const all = [...this.runs, ...this.others];
    for (const controller of all) controller.abort('shutting_down');
    return all.length;
  }

  private ticket(set: Set<AbortController>, onRelease?: () => void): Ticket {
    const controller = new AbortController();
    set.add(controller);
    return {
      signal: controller.signal,
      cancel: (reason) => controller.abort(reason),
      release: () => {
        if (set.delete(controller)) onRelease?.();
      },
    };
  }
}
