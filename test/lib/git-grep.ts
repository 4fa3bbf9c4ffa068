// Lines of the repo's text files that match an extended regular expression, as `git grep -nIE`
// prints them (`path:line:text`): what a reader of the repo would find. In a git work tree, the
// tracked files; in a copy without git (an unpacked archive, a scratch copy), every file that
// .gitignore does not exclude.
import { spawnSync } from 'node:child_process';

interface Options {
  ignoreCase?: boolean;
  pathspecs?: string[];
}

export function trackedLinesMatching(root: string, pattern: string, o: Options = {}): string[] {
  const inGit =
    spawnSync('git', ['rev-parse', '--is-inside-work-tree'], { cwd: root }).status === 0;
  const flags = o.ignoreCase ? '-nIiE' : '-nIE';
  const where = inGit ? [] : ['--no-index', '--exclude-standard'];
  const grep = spawnSync(
    'git',
    ['grep', ...where, flags, pattern, '--', ...(o.pathspecs ?? ['.'])],
    {
      cwd: root,
      encoding: 'utf8',
    },
  );
  // git grep exits 1 when nothing matches, 0 with matches, anything else on an error.
  if (grep.status !== 0 && grep.status !== 1)
    throw new Error(`git grep failed in ${root}: ${grep.stderr}`);
  return grep.stdout.split('\n').filter(Boolean);
}
