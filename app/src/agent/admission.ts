// Which work may start, and the means to cancel what is running. Runs are capped at
// MAX_CONCURRENT_RUNS: each holds its input, prompts and record in memory (about 2 MB with a
// 64 KiB input), so the cap bounds the heap. At shutdown new work is refused and, when the drain
// window is nearly over, work still running is cancelled, so every request gets an answer.
import type { RunRejectionReason } from '../telemetry/metrics';

export interface Ticket {
  /** Aborted when the work is cancelled (shutdown). */
  signal: AbortSignal;
  /** Call once the work is over (the response is closed); calling again does nothing. */
  release(): void;
}

export class Admission {
  private readonly runs = new Set<AbortController>();
  private readonly others = new Set<AbortController>();
  private closed = false;

  constructor(readonly maxConcurrentRuns: number) {}

  get runsInFlight(): number {
    return this.runs.size;
  }

  /** A ticket for a run, or why it is refused. */
  admitRun(): Ticket | RunRejectionReason {
    if (this.closed) return 'shutting_down';
    if (this.runs.size >= this.maxConcurrentRuns) return 'overloaded';
    return this.ticket(this.runs);
  }

  /** A ticket for other work that may wait long (an injected latency), without a cap. */
  watch(): Ticket {
    return this.ticket(this.others);
  }

  /** Shutdown: refuse new runs from now on. */
  close(): void {
    this.closed = true;
  }

  /** Shutdown: cancels all running work; returns how many were cancelled. */
  cancelAll(): number {
    const all = [...this.runs, ...this.others];
    for (const controller of all) controller.abort();
    return all.length;
  }

  private ticket(set: Set<AbortController>): Ticket {
    const controller = new AbortController();
    set.add(controller);
    return { signal: controller.signal, release: () => set.delete(controller) };
  }
}
