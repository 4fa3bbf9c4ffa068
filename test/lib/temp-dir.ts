// A throwaway directory holding one file, removed after use: for feeding a program a broken copy.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Writes `text` to `name` in a fresh directory, calls `use` with the directory, then removes it. */
export function withTempFile<T>(name: string, text: string, use: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'test-file-'));
  try {
    writeFileSync(join(dir, name), text);
    return use(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
