// Prometheus-style durations ("90s", "1h30m", "500ms") and the one time-scaling rule the
// native harness applies to every time parameter of the stack's configs (scaleMs).

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
  y: 31_536_000_000,
};

// Largest first, so formatting picks the shortest exact spelling.
const FORMAT_UNITS = ['y', 'w', 'd', 'h', 'm', 's', 'ms'] as const;

const DURATION_RE = /^(?:\d+(?:ms|s|m|h|d|w|y))+$/;
const PART_RE = /(\d+)(ms|s|m|h|d|w|y)/g;

/** Milliseconds in a Prometheus duration; a bare number counts as seconds (PromQL 3 allows it). */
export function parseDuration(text: string): number {
  const s = text.trim();
  if (/^\d+(\.\d+)?$/.test(s)) return Math.round(Number(s) * 1000);
  if (!DURATION_RE.test(s)) throw new Error(`not a Prometheus duration: "${text}"`);
  let ms = 0;
  for (const [, n, unit] of s.matchAll(PART_RE)) ms += Number(n) * UNIT_MS[unit];
  return ms;
}

/**
 * The shortest spelling in one unit ("72m", "1500ms"). A single unit is valid everywhere:
 * Prometheus 2.42, Prometheus 3 and Alertmanager configs and PromQL alike.
 */
export function formatDuration(ms: number): string {
  if (!Number.isInteger(ms) || ms < 0) throw new Error(`cannot format ${ms} ms as a duration`);
  if (ms === 0) return '0s';
  for (const unit of FORMAT_UNITS) {
    if (ms % UNIT_MS[unit] === 0) return `${ms / UNIT_MS[unit]}${unit}`;
  }
  throw new Error('unreachable: every integer is a whole number of ms');
}

export interface Scaled {
  ms: number;
  /** True when the scaled value fell below the floor and was raised to it. */
  clamped: boolean;
}

/**
 * Scale a duration by `factor`, rounded to whole ms, never below `floorMs`. Zero stays zero:
 * `for: 0s` means "fire at once" and must keep meaning that.
 */
export function scaleMs(ms: number, factor: number, floorMs: number): Scaled {
  if (ms === 0) return { ms: 0, clamped: false };
  const scaled = Math.round(ms * factor);
  return scaled < floorMs ? { ms: floorMs, clamped: true } : { ms: scaled, clamped: false };
}
