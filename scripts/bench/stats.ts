// Small statistics for the benchmark: the machine is noisy, so every figure is a median of
// several interleaved rounds, reported with its spread (min and max).

export interface Spread {
  median: number;
  min: number;
  max: number;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

export function spread(values: readonly number[]): Spread {
  return { median: median(values), min: Math.min(...values), max: Math.max(...values) };
}

/** Per-round ratios a[i] / b[i]: each round's configurations ran back to back, so a ratio
 * within a round cancels most of the machine's drift between rounds. */
export function roundRatios(
  numerator: readonly number[],
  denominator: readonly number[],
): number[] {
  if (numerator.length !== denominator.length) throw new Error('rounds differ in length');
  return numerator.map((value, round) => value / denominator[round]);
}

/** Least-squares slope of y over x (e.g. bytes of RSS per second). */
export function slope(xs: readonly number[], ys: readonly number[]): number {
  if (xs.length !== ys.length || xs.length < 2) throw new Error('slope needs two or more points');
  const meanX = xs.reduce((sum, x) => sum + x, 0) / xs.length;
  const meanY = ys.reduce((sum, y) => sum + y, 0) / ys.length;
  let covariance = 0;
  let variance = 0;
  for (let i = 0; i < xs.length; i++) {
    covariance += (xs[i] - meanX) * (ys[i] - meanY);
    variance += (xs[i] - meanX) ** 2;
  }
  return variance === 0 ? 0 : covariance / variance;
}

/** Per-pair differences a[i] - b[i] (e.g. the p99 a configuration adds over bare). */
export function pairedDifferences(
  values: readonly number[],
  baseline: readonly number[],
): number[] {
  if (values.length !== baseline.length) throw new Error('rounds differ in length');
  return values.map((value, round) => value - baseline[round]);
}

export type Verdict = 'met' | 'not met' | 'not judgeable';

/** The share of pairs that must agree before the benchmark calls a target met or not met. */
export const AGREEMENT = 0.75;
/** Fewer pairs than this say nothing about a spread. */
export const MIN_PAIRS = 3;

/** The pairs that say how wide the noise is: all but the single lowest and highest once
 * there are five or more, so one disturbed round does not veto a verdict on its own. */
export function middleRange(values: readonly number[]): Spread {
  const sorted = [...values].sort((a, b) => a - b);
  return spread(sorted.length >= 5 ? sorted.slice(1, -1) : sorted);
}

/**
 * Whether per-pair values reach a target: `atLeast` for a throughput ratio, `atMost` for an
 * added latency. Not judgeable when the pairs scatter wider than `maxWidth` (the middle range,
 * see middleRange) or are fewer than three: the noise is then as large as the effect. Otherwise
 * met when at least three quarters of the pairs reach the target, not met when at least three
 * quarters miss it, and not judgeable between: the spread straddles the target and this run
 * cannot tell, which a noisy machine should admit rather than round either way.
 */
export function verdict(
  values: readonly number[],
  target: number,
  direction: 'atLeast' | 'atMost',
  maxWidth: number,
): Verdict {
  if (values.length < MIN_PAIRS) return 'not judgeable';
  const middle = middleRange(values);
  if (middle.max - middle.min > maxWidth) return 'not judgeable';
  const reached = values.filter((v) => (direction === 'atLeast' ? v >= target : v <= target));
  if (reached.length >= AGREEMENT * values.length) return 'met';
  if (values.length - reached.length >= AGREEMENT * values.length) return 'not met';
  return 'not judgeable';
}
