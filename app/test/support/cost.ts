// Cost tests compare growth, not absolute time: doubling the input of a linear step should about
// double its time, while a quadratic one quadruples it. The best of a few runs filters out noise
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

/** Asserts time(2n) / time(n) < `maxRatio` for `work` over the input `make(n)`. */
export function assertLinear(
  what: string,
  make: (size: number) => string,
  work: (input: string) => unknown,
  size: number,
  { maxRatio = 3, rounds = 3 } = {},
): void {
  const small = make(size);
  const large = make(size * 2);
  const once = bestTime(() => work(small), 1, 2);
  const repeat = Math.max(1, Math.ceil(MIN_MEASURED_MS / Math.max(once, 0.01)));
  const smallMs = bestTime(() => work(small), repeat, rounds);
  const largeMs = bestTime(() => work(large), repeat, rounds);
  assert.ok(
    largeMs / smallMs < maxRatio,
    `${what}: ${size * 2} characters took ${largeMs.toFixed(1)} ms, ${size} took ${smallMs.toFixed(1)} ms`,
  );
}
