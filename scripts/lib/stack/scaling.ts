// The time scaling of the stack: one time scale (scripts/lib/time-scale.ts) for every time
// parameter, so that an alert scenario that takes an hour in real time takes a minute, each
// parameter with a floor. rewrite.ts scales the configs with it; the few values that live outside
// a config (the app's health-check interval, Prometheus' alert resend delay) go through the same
// Scaler here.
import { speedup, type TimeScale } from '../time-scale.ts';
import type { Obj } from '../yaml.ts';
import { formatDuration, parseDuration, scaleMs } from './duration.ts';

/** A time scale faster than real time, with the floors its scaled values keep to. */
export interface TimeScaling extends TimeScale {
  /** Floor for intervals and Alertmanager timers. */
  minIntervalMs: number;
  /** Range windows cover at least this many scrape intervals. */
  minRangeScrapes: number;
}

/**
 * Floors of the time scaling: intervals and Alertmanager timers no faster than
 * 1 s; range windows at least 4 scrapes, so rate() has enough samples; `for:` at least two
 * evaluations (rewrite.ts), so one late scrape at start-up or under load cannot fire an alert
 * on its own.
 */
export const FLOORS = { minIntervalMs: 1000, minRangeScrapes: 4 } as const;

/**
 * The whole-stack test's factor: one hour becomes one minute. The fastest burn-rate page
 * (14.4× over 1 h and 5 m, for: 2m) then watches 60 s and 5 s windows for 2 s, and fires
 * about 10–15 s after a 50 % error fault; 5 m windows stay 5 scrapes of 1 s.
 */
export const TEST_TIME_SCALE: TimeScale = speedup(60);

/** The scaling of a time scale, with the floors; none in real time. */
export function scalingFor(scale: TimeScale): TimeScaling | undefined {
  return scale.speedup > 1
    ? { speedup: scale.speedup, factor: scale.factor, ...FLOORS }
    : undefined;
}

export class Scaler {
  readonly notes: string[];
  readonly s: TimeScaling | undefined;
  constructor(s: TimeScaling | undefined, notes: string[]) {
    this.s = s;
    this.notes = notes;
  }

  /** Scale one duration string; `what` names it in the note when it is clamped. */
  duration(value: string, floorMs: number, what: string): string {
    if (!this.s || this.s.factor === 1) return value;
    const r = scaleMs(parseDuration(value), this.s.factor, floorMs);
    const out = formatDuration(r.ms);
    if (r.clamped) {
      this.notes.push(`${what}: ${value} × ${this.s.factor.toFixed(4)} is below the floor, ${out}`);
    }
    return out;
  }

  field(obj: Obj, key: string, floorMs: number, what: string, fallback?: string): void {
    const v = obj[key] ?? fallback;
    if (v === undefined) return;
    if (typeof v !== 'string') throw new Error(`${what}: ${key} must be a duration string`);
    obj[key] = this.duration(v, floorMs, `${what} ${key}`);
  }
}

/** The app's health checks (HEALTH_CHECK_INTERVAL_MS, 5 s by default), scaled, keep pace with 1 s scrapes. */
export function scaledHealthCheckMs(s: TimeScaling): number {
  return parseDuration(new Scaler(s, []).duration('5s', s.minIntervalMs, 'health checks'));
}

/**
 * Prometheus re-sends firing alerts every minute (--rules.alert.resend-delay); an alert that
 * fired before the Alertmanager was discovered (Watchdog, at the first evaluation) would
 * otherwise wait that long. Scaled like the rest, no faster than two evaluations.
 */
export function scaledResendDelay(s: TimeScaling, evaluationIntervalMs: number): string {
  return new Scaler(s, []).duration('1m', 2 * evaluationIntervalMs, 'alert resend delay');
}
