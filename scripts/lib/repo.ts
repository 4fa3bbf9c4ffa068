// The repository's root folder, for every script and test that reads or writes the repo's
// files: worked out here once, from this file's place in the repo (scripts/lib/), so it does not
// depend on the directory a command was started from. test/unit/repo-root.test.ts keeps it the
// only module that works it out.
import path from 'node:path';

export const REPO_ROOT = path.resolve(import.meta.dirname, '../..');
