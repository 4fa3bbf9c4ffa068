// What the config tests share: a check returns the problems it found, as sentences; the repo's
// config must give none, and a broken copy the one problem it was broken for.
import assert from 'node:assert/strict';

export function assertReports(problems: string[], pattern: RegExp): void {
  assert.ok(
    problems.some((p) => pattern.test(p)),
    `expected a problem matching ${pattern}, got: ${JSON.stringify(problems)}`,
  );
}

/** A deep copy of a parsed config with one change made by `edit`. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- an edit reaches deep, by path
export function copy<T>(cfg: T, edit: (c: any) => void): T {
  const c = structuredClone(cfg);
  edit(c);
  return c;
}
