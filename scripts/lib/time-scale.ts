// The stack's time scale: how much faster than real time every alerting time parameter runs
// (`make native TIME_SCALE=60`, `make up TIME_SCALE=60`: an hour of rule window becomes a
// minute). One type, two names for its two forms, so no caller has to guess which one a number
// is:
//   speedup  how many times faster: 60 (and 1 in real time). What a person writes and reads.
//   factor   what each duration is multiplied by: 1/60 (and 1). What the config rewrite uses.
// Also the files `make configure TIME_SCALE=…` renders for compose, and the state file through
// which the scale it rendered reaches the other scripts (read by scripts/lib/endpoints.ts alone).

export interface TimeScale {
  /** How many times faster than real time: 60, 2.5; 1 is real time. Never below 1. */
  readonly speedup: number;
  /** 1 / speedup: what each duration is multiplied by (1/60: an hour becomes a minute). */
  readonly factor: number;
}

export const REAL_TIME: TimeScale = { speedup: 1, factor: 1 };

/** The scale that runs `speedup` times faster than real time. */
export function speedup(times: number): TimeScale {
  if (!Number.isFinite(times) || times < 1) {
    throw new Error(`a time scale runs at least real time (speed-up 1), got ${times}`);
  }
  return { speedup: times, factor: 1 / times };
}

/**
 * A time scale as a person writes it: a speed-up ("60", "2.5": that many times faster) or a
 * factor ("1/60", "0.5": each duration times that). "1" (or nothing) is real time.
 */
export function parseTimeScale(text: string): TimeScale {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(?:\/\s*(\d+(?:\.\d+)?))?\s*$/.exec(text);
  const value = m ? Number(m[1]) / (m[2] === undefined ? 1 : Number(m[2])) : NaN;
  if (!Number.isFinite(value) || value <= 0) {
    throw new Error(`time scale must be a speed-up like 60 or a factor like 1/60, got "${text}"`);
  }
  if (value >= 1) return speedup(value);
  // A factor: its speed-up is 1/value, which for 1/60 is 60 exactly.
  return { speedup: 1 / value, factor: value };
}

/** The scale as a person would write it again: the speed-up ("60", "2.5"). */
export const formatTimeScale = (scale: TimeScale): string => String(scale.speedup);

/** `make configure TIME_SCALE=60` renders the time-scaled Prometheus configs here ... */
export const TIME_SCALE_DIR = '.compose/time-scale';
/** ... the compose override that mounts them (`make up TIME_SCALE=…` passes it to compose) ... */
export const TIME_SCALE_OVERRIDE = '.compose/time-scale.yml';
/** ... and the scale it rendered, as data: {"speedup": 60}. */
export const TIME_SCALE_STATE = '.compose/time-scale.json';

/** The state file's text for a scale. */
export const timeScaleState = (scale: TimeScale): string =>
  `${JSON.stringify({ speedup: scale.speedup })}\n`;

/** The scale a state file's text holds; an error naming the file when it is not one. */
export function timeScaleFromState(text: string, file = TIME_SCALE_STATE): TimeScale {
  const state = JSON.parse(text) as { speedup?: unknown };
  if (typeof state.speedup !== 'number') throw new Error(`${file}: no "speedup" number`);
  return speedup(state.speedup);
}
