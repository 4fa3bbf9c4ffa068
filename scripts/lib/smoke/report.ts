// What `make smoke` prints: one line per check, PASS / FAIL / SKIP, and a last line saying
// whether the stack passed. A check that throws is a failure with the error as its detail.

export type Outcome = 'pass' | 'fail' | 'skip';

export interface CheckResult {
  outcome: Outcome;
  name: string;
  detail: string;
}

export const pass = (name: string, detail = ''): CheckResult => ({ outcome: 'pass', name, detail });
export const fail = (name: string, detail: string): CheckResult => ({
  outcome: 'fail',
  name,
  detail,
});
export const skip = (name: string, detail: string): CheckResult => ({
  outcome: 'skip',
  name,
  detail,
});

/** Runs one check, turning an exception into a FAIL line instead of a stack trace. */
export async function attempt(
  name: string,
  check: () => Promise<CheckResult | CheckResult[]>,
): Promise<CheckResult[]> {
  try {
    const result = await check();
    return Array.isArray(result) ? result : [result];
  } catch (err) {
    return [fail(name, (err as Error).message)];
  }
}

export const formatResult = (r: CheckResult): string =>
  `${r.outcome.toUpperCase().padEnd(4)}  ${r.name}${r.detail ? `: ${r.detail}` : ''}`;

/** The closing line; `failed` decides the exit code. */
export function summary(results: CheckResult[]): { line: string; failed: boolean } {
  const count = (o: Outcome) => results.filter((r) => r.outcome === o).length;
  const failed = count('fail');
  const skipped = count('skip') ? `, ${count('skip')} skipped` : '';
  return failed
    ? {
        line: `smoke: FAILED, ${failed} of ${results.length} checks failed${skipped}`,
        failed: true,
      }
    : { line: `smoke: OK, ${count('pass')} checks passed${skipped}`, failed: false };
}
