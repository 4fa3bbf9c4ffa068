// Reasons that stand on their own: no file of the repo points at a numbered item of a tracker or
// a spec a forker does not have; a reason is written out or links a doc in the repo. A link to an
// upstream project's bug names its repository and says "upstream" in a form the pattern does not
// match (e.g. "upstream bug open-telemetry/opentelemetry-js#4953"). The changelog may cite them.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../../scripts/lib/repo.ts';
import { trackedLinesMatching } from '../lib/git-grep.ts';

const OUTSIDE_REFERENCE = String.raw`\b(SPEC|[Ii]ssues?) ?#?[0-9]+`;

/** The tracked lines under `root` (a git work tree) that cite a numbered outside item. */
const outsideReferences = (root: string): string[] =>
  trackedLinesMatching(root, OUTSIDE_REFERENCE, { pathspecs: ['.', ':!CHANGELOG*'] });

describe('reasons that stand on their own', () => {
  it('no tracked file cites a numbered tracker item or spec section', () => {
    assert.deepEqual(outsideReferences(REPO_ROOT), []);
  });

  it('the check finds a citation planted in a scratch repository, and not the changelog', () => {
    const dir = mkdtempSync(join(tmpdir(), 'reasons-'));
    try {
      const git = (...args: string[]): void => {
        execFileSync('git', args, { cwd: dir, stdio: 'ignore' });
      };
      git('init', '-q');
      // Built from parts so that this file does not match the pattern itself.
      const [issue, spec] = ['issue' + ' #12', 'SPEC' + ' 4'];
      writeFileSync(join(dir, 'CHANGELOG.md'), `Fixed in ${issue}.\n`);
      writeFileSync(join(dir, 'ok.ts'), '// upstream bug open-telemetry/opentelemetry-js#4953\n');
      writeFileSync(join(dir, 'planted.ts'), `// why: see ${issue}\n// and ${spec}\n`);
      git('add', '.');
      assert.deepEqual(outsideReferences(dir), [
        `planted.ts:1:// why: see ${issue}`,
        `planted.ts:2:// and ${spec}`,
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
