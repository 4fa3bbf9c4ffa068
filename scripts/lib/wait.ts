// The one poll-until-deadline loop of the tooling (scripts and tests alike).

/** Poll `probe` every `everyMs` until it returns a value other than false/undefined. */
export async function waitUntil<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | false | undefined>,
  everyMs = 250,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      const v = await probe();
      if (v !== false && v !== undefined) return v;
    } catch (err) {
      last = ` (last error: ${(err as Error).message})`;
    }
    if (Date.now() >= deadline)
      throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}${last}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
