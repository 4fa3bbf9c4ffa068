// Counting what the load generator got back, and saying it: the live status text and the
// final summary. Pure apart from the clock passed in, so the unit tests can pin the numbers.

/** An HTTP status, or 0 for a request that got no response (refused, reset, timed out). */
export type Outcome = number;

export interface Sample {
  at: number;
  status: Outcome;
  latencyMs: number;
}

/** Failures for the error ratio: 5xx and no response. 4xx are the client's doing (401, 429). */
export const isError = (status: Outcome) => status === 0 || status >= 500;

export class LoadStats {
  readonly startedAt: number;
  /** When the generator stopped sending (requests in flight may still be answered after). */
  stoppedAt: number | undefined;
  sent = 0;
  /** Requests not sent because too many were already in flight (the service is stalling). */
  skipped = 0;
  readonly statusCounts = new Map<Outcome, number>();
  readonly kindCounts = new Map<string, number>();
  private readonly latencies: number[] = [];
  private readonly recent: Sample[] = [];
  private readonly recentMs: number;

  constructor(startedAt: number, recentMs = 10_000) {
    this.startedAt = startedAt;
    this.recentMs = recentMs;
  }

  recordSent(kind: string): void {
    this.sent++;
    this.kindCounts.set(kind, (this.kindCounts.get(kind) ?? 0) + 1);
  }

  record(sample: Sample): void {
    this.statusCounts.set(sample.status, (this.statusCounts.get(sample.status) ?? 0) + 1);
    if (sample.status !== 0) this.latencies.push(sample.latencyMs);
    this.recent.push(sample);
    this.trim(sample.at);
  }

  private trim(now: number): void {
    while (this.recent.length && this.recent[0].at < now - this.recentMs) this.recent.shift();
  }

  get completed(): number {
    let n = 0;
    for (const c of this.statusCounts.values()) n += c;
    return n;
  }

  get errors(): number {
    let n = 0;
    for (const [s, c] of this.statusCounts) if (isError(s)) n += c;
    return n;
  }

  errorRatio(): number {
    return this.completed ? this.errors / this.completed : 0;
  }

  /** Error ratio over the last `recentMs`: what the service does now, not since the start. */
  recentErrorRatio(now: number): number {
    this.trim(now);
    if (!this.recent.length) return 0;
    return this.recent.filter((s) => isError(s.status)).length / this.recent.length;
  }

  /** Nearest-rank percentile of the latencies of answered requests, in ms. */
  percentile(p: number): number | undefined {
    return this.latencies.length ? percentile(this.latencies, p) : undefined;
  }
}

/**
 * Nearest-rank percentile (p in 0–100) of unsorted values. The rank is rounded down by a hair
 * first: 99.9 % of 1,000 is 999.0000000000001 in floating point, which would otherwise give
 * the maximum instead of the 999th value.
 */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) throw new Error('percentile of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length - 1e-9);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

export function formatMs(ms: number | undefined): string {
  if (ms === undefined) return '–';
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

const pct = (r: number) => `${(r * 100).toFixed(1)}%`;

/** The live line: elapsed, requests sent, answered, current (last 10 s) and overall error ratio. */
export function statusText(stats: LoadStats, now: number, inFlight: number): string {
  const elapsed = ((now - stats.startedAt) / 1000).toFixed(0);
  return (
    `${elapsed}s  sent ${stats.sent}  done ${stats.completed}  in flight ${inFlight}  ` +
    `errors now ${pct(stats.recentErrorRatio(now))} (all ${pct(stats.errorRatio())})`
  );
}

function statusLabel(s: Outcome): string {
  return s === 0 ? 'no response' : String(s);
}

export function summaryText(stats: LoadStats, now: number): string {
  const secs = ((stats.stoppedAt ?? now) - stats.startedAt) / 1000;
  const statuses = [...stats.statusCounts.entries()]
    .sort(([a], [b]) => a - b)
    .map(([s, c]) => `${statusLabel(s)} × ${c}`)
    .join(', ');
  const kinds = [...stats.kindCounts.entries()].map(([k, c]) => `${k} ${c}`).join(', ');
  const lines = [
    `Summary: ${stats.sent} requests sent in ${secs.toFixed(1)} s (${(stats.sent / Math.max(secs, 0.001)).toFixed(1)} req/s), ${stats.completed} completed`,
    `  status codes: ${statuses || 'none'}`,
    `  error ratio (5xx and no response): ${pct(stats.errorRatio())}`,
    `  latency: p50 ${formatMs(stats.percentile(50))}, p95 ${formatMs(stats.percentile(95))}, p99 ${formatMs(stats.percentile(99))}`,
    `  requests: ${kinds || 'none'}`,
  ];
  if (stats.skipped) lines.push(`  not sent (too many in flight): ${stats.skipped}`);
  return lines.join('\n');
}
