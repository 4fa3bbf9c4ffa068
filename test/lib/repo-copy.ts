// A scratch copy of some of the repo's files and folders, for the tests that change a copy (a
// fork's edit, a planted mistake) and run the repo's own generators or checks on it.
import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../../scripts/lib/repo.ts';

/** A new temporary folder holding these repo-relative paths; the caller removes it. */
export function copyOfRepo(prefix: string, paths: readonly string[]): string {
  const dir = mkdtempSync(join(tmpdir(), `${prefix}-`));
  for (const path of paths) cpSync(join(REPO_ROOT, path), join(dir, path), { recursive: true });
  return dir;
}
