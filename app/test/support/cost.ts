// Cost tests compare growth, not absolute time: quadrupling the input of a linear step should
// about quadruple its time, while a quadratic one takes 16 times as long. Two doublings rather
// than one: on a busy machine the noise of one doubling is about as large as its signal. The best of a few runs filters out noise
// from other processes on the machine.
import assert from 'node:assert/strict';

// Each measurement repeats the work until it takes at least this long at the smaller size, so
// that timer resolution and a stray garbage collection do not decide the ratio.
const MIN_MEASURED_MS = 30;

function bestTime(work: () => unknown, repeat: number, rounds: number): number {
  let best = Infinity;
  for (let round = 0; round < rounds; round++) {
    const started = performance.now();
    for (let i = 0; i < repeat; i++) work();
    best = Math.min(best, performance.now() - started);
  }
  return best;
}

/** Asserts time(4n) / time(n) < `maxRatio` (8: under 2.83 per doubling) for `work` over `make(n)`. */
export function assertLinear(
  what: string,
  make: (size: number) => string,
  work: (input: string) => unknown,
  size: number,
  { maxRatio = 8, rounds = 5 } = {},
): void {
  const small = make(size);
  const large = make(size * 4);
  // Warm up first: the first calls include compiling `work`, which would skew the calibration.
  bestTime(() => work(small), 3, 1);
  bestTime(() => work(large), 3, 1);
  let repeat = 1;
  while (bestTime(() => work(small), repeat, 3) < MIN_MEASURED_MS) repeat *= 2;
  // Each round times both sizes back to back, so both see the machine in the same state; the
  // median ratio of the rounds ignores the rounds a busy spell hit unevenly.
  const ratios: number[] = [];
  let smallMs = 0;
  let largeMs = 0;
  for (let round = 0; round < rounds; round++) {
    smallMs = bestTime(() => work(small), repeat, 1);
    largeMs = bestTime(() => work(large), repeat, 1);
    ratios.push(largeMs / smallMs);
  }
  ratios.sort((a, b) => a - b);
  const median = ratios[Math.floor(rounds / 2)]!;
  assert.ok(
    median < maxRatio,
    `${what} (x${repeat}): time(${size * 4}) / time(${size}) is ${median.toFixed(2)} (ratios ${ratios.map((r) => r.toFixed(2)).join(', ')}; last ${largeMs.toFixed(1)} / ${smallMs.toFixed(1)} ms)`,
  );
}
