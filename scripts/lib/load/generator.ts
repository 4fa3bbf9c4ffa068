// The load generator: open-loop streams of requests at a fixed average rate (Poisson arrivals)
// on Node's built-in fetch (undici). Open loop on purpose: autocannon caps its connections at
// the request rate and each connection waits for its answer, so when agent runs take seconds
// (or the latency fault adds more) the offered rate collapses; here a slow service gets the
// same arrivals as a fast one and sees them pile up, as it would in production. In-flight
// requests are bounded so a stalled service cannot make the generator grow without limit.
import type { Catalog } from './catalog.ts';
import { RunIds, type ApiKeys, type Profile, type Rng } from './mix.ts';
import { LoadStats } from './stats.ts';

export interface GeneratorOptions {
  baseUrl: string;
  /** From resolveEndpoints (requireApiKeys): the app accepts no default keys. */
  keys: ApiKeys;
  /** What the service runs (fetchCatalog), for the profiles that start runs. */
  catalog?: Catalog;
  rng?: Rng;
  /** Requests beyond this many in flight are skipped and counted, not queued. */
  maxInFlight?: number;
  /** Per-request time limit; a request over it counts as "no response". */
  timeoutMs?: number;
  now?: () => number;
}

/**
 * Arrival times of a Poisson process at `rate` per second, planned on the clock, not from the
 * last timer: timers fire a millisecond or more late, and adding that up would lower the rate;
 * above 1,000 req/s several arrivals fall within one timer tick, so each tick takes all that
 * are due.
 */
export class PoissonArrivals {
  /** The next planned arrival (ms, on the generator's clock). */
  next: number;
  private readonly rate: number;
  private readonly rng: Rng;

  constructor(rate: number, rng: Rng, start: number) {
    if (!(rate > 0)) throw new Error(`rate must be > 0 req/s, got ${rate}`);
    this.rate = rate;
    this.rng = rng;
    this.next = start + this.gap();
  }

  /** Exponential gaps: the arrival pattern of independent users. */
  private gap(): number {
    return (-Math.log(1 - this.rng()) / this.rate) * 1000;
  }

  /** Every planned arrival up to `now`, in order; the schedule moves past them. */
  due(now: number): number[] {
    const times: number[] = [];
    while (this.next <= now) {
      times.push(this.next);
      this.next += this.gap();
    }
    return times;
  }
}

export interface StreamHandle {
  stop(): void;
}

export class LoadGenerator {
  readonly stats: LoadStats;
  private readonly o: Required<Omit<GeneratorOptions, 'catalog'>> & { catalog?: Catalog };
  private readonly runIds = new RunIds();
  private readonly abort = new AbortController();
  private readonly pending = new Set<Promise<void>>();
  private readonly streams = new Set<() => void>();

  constructor(options: GeneratorOptions) {
    this.o = {
      rng: Math.random,
      maxInFlight: 200,
      timeoutMs: 30_000,
      now: Date.now,
      ...options,
      baseUrl: options.baseUrl.replace(/\/+$/, ''),
    };
    this.stats = new LoadStats(this.o.now());
  }

  get inFlight(): number {
    return this.pending.size;
  }

  /** Start a stream of `profile` at `rate` requests per second until stopped. */
  start(profile: Profile, rate: number): StreamHandle {
    const arrivals = new PoissonArrivals(rate, this.o.rng, this.o.now());
    let timer: NodeJS.Timeout | undefined;
    let stopped = false;
    const tick = () => {
      if (stopped) return;
      for (const intendedAt of arrivals.due(this.o.now())) this.fire(profile, intendedAt);
      timer = setTimeout(tick, Math.max(0, arrivals.next - this.o.now()));
    };
    const stop = () => {
      stopped = true;
      clearTimeout(timer);
      this.streams.delete(stop);
    };
    this.streams.add(stop);
    timer = setTimeout(tick, Math.max(0, arrivals.next - this.o.now()));
    return { stop };
  }

  /**
   * Send one request planned for `intendedAt`. Its latency counts from that moment, not from
   * when the timer got round to it: a generator (or service) that falls behind then shows up in
   * the latency instead of silently sending later (no coordinated omission).
   */
  private fire(profile: Profile, intendedAt: number): void {
    if (this.pending.size >= this.o.maxInFlight) {
      this.stats.skipped++;
      return;
    }
    const { rng, keys, catalog } = this.o;
    const spec = profile({ rng, keys, catalog, runIds: this.runIds });
    this.stats.recordSent(spec.kind);
    const signal = AbortSignal.any([AbortSignal.timeout(this.o.timeoutMs), this.abort.signal]);
    const p = (async () => {
      let status = 0;
      try {
        const res = await fetch(this.o.baseUrl + spec.path, {
          method: spec.method,
          headers: spec.headers,
          body: spec.body,
          signal,
        });
        const body = await res.text();
        status = res.status;
        if (spec.kind === 'run' && spec.tier && res.ok) this.rememberRun(body, spec.tier);
      } catch {
        // Refused, reset or timed out: status stays 0 ("no response").
      }
      // Requests cut off by stop() say nothing about the service; leave them out.
      if (!this.abort.signal.aborted) {
        this.stats.record({ at: this.o.now(), status, latencyMs: this.o.now() - intendedAt });
      }
    })();
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  private rememberRun(body: string, tier: 'free' | 'pro'): void {
    try {
      const run = JSON.parse(body) as { id?: unknown; run_id?: unknown };
      const id = run.id ?? run.run_id;
      if (typeof id === 'string' || typeof id === 'number') this.runIds.add(String(id), tier);
    } catch {
      // A 2xx that is not JSON is the service's bug, not the generator's: the status was counted.
    }
  }

  /** Stop every stream, give requests in flight `drainMs` to finish, then cut the rest off. */
  async stop(drainMs = 15_000): Promise<void> {
    for (const stop of [...this.streams]) stop();
    this.stats.stoppedAt ??= this.o.now();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.pending]),
      new Promise((r) => (timer = setTimeout(r, drainMs))),
    ]);
    clearTimeout(timer);
    this.abort.abort();
    await Promise.allSettled([...this.pending]);
  }
}
