// Character classes as lookup tables, for the hand-written linear scanners (scrubber, calculator)
// that replace backtracking regular expressions on client input.

/** A table of the ASCII characters that `pattern` (a one-character class) matches. */
export function charClass(pattern: RegExp): Uint8Array {
  const table = new Uint8Array(128);
  for (let code = 0; code < 128; code++) {
    table[code] = pattern.test(String.fromCharCode(code)) ? 1 : 0;
  }
  return table;
}

/** Whether the character at `index` of `text` is in `table` (non-ASCII never is). */
export function inClass(table: Uint8Array, text: string, index: number): boolean {
  const code = text.charCodeAt(index);
  return code < 128 && table[code] === 1;
}
