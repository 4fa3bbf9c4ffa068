// Lines of the tracked text files of a git work tree that match an extended regular expression,
// as `git grep -nIE` prints them (`path:line:text`): what a reader of the repo would find.
import { spawnSync } from 'node:child_process';

export function trackedLinesMatching(
  root: string,
  pattern: string,
  { ignoreCase = false, pathspecs = ['.'] }: { ignoreCase?: boolean; pathspecs?: string[] } = {},
): string[] {
  const flags = ignoreCase ? '-nIiE' : '-nIE';
  const grep = spawnSync('git', ['grep', flags, pattern, '--', ...pathspecs], {
    cwd: root,
    encoding: 'utf8',
  });
  // git grep exits 1 when nothing matches, 0 with matches, anything else on an error.
  if (grep.status !== 0 && grep.status !== 1)
    throw new Error(`git grep failed in ${root}: ${grep.stderr}`);
  return grep.stdout.split('\n').filter(Boolean);
}
