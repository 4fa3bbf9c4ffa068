// The indexes of docs/: docs/README.md links every page and folder of docs/, and
// docs/decisions/README.md has a row for every decision record and explains every number
// without one. Each link of both indexes names a file that exists. The stack's diagram is drawn
// once (README.md), so no second drawing can disagree with it.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { REPO_ROOT } from '../../scripts/lib/repo.ts';
import { trackedLinesMatching } from '../lib/git-grep.ts';

const DOCS = join(REPO_ROOT, 'docs');
const DECISIONS = join(DOCS, 'decisions');
const RECORD = /^(\d{4})-[a-z0-9-]+\.md$/;

/** The relative link targets of a markdown file (no URLs, no anchors). */
function relativeLinks(markdown: string): string[] {
  return [...markdown.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)]
    .map((m) => m[1])
    .filter((target) => !/^[a-z]+:/.test(target));
}

/** Links of `file` that name nothing on disk. */
function brokenLinks(file: string): string[] {
  const links = relativeLinks(readFileSync(file, 'utf8'));
  return links.filter((target) => !existsSync(join(dirname(file), target)));
}

/** Record numbers between the first and the last that have no file. */
function missingNumbers(records: string[]): string[] {
  const numbers = records.map((f) => Number(RECORD.exec(f)![1]));
  const missing: string[] = [];
  for (let n = Math.min(...numbers); n <= Math.max(...numbers); n++)
    if (!numbers.includes(n)) missing.push(String(n).padStart(4, '0'));
  return missing;
}

describe('docs/README.md, the index of docs/', () => {
  const index = readFileSync(join(DOCS, 'README.md'), 'utf8');

  it('links every page and folder of docs/', () => {
    const linked = new Set(relativeLinks(index).map((t) => t.replace(/\/(README\.md)?$/, '')));
    const entries = readdirSync(DOCS).filter((name) => {
      if (name === 'README.md') return false;
      return statSync(join(DOCS, name)).isDirectory() || name.endsWith('.md');
    });
    assert.deepEqual(
      entries.filter((name) => !linked.has(name)),
      [],
    );
  });

  it('links only files that exist', () => {
    assert.deepEqual(brokenLinks(join(DOCS, 'README.md')), []);
  });
});

describe('docs/decisions/README.md, the index of decision records', () => {
  const index = readFileSync(join(DECISIONS, 'README.md'), 'utf8');
  const records = readdirSync(DECISIONS).filter((f) => RECORD.test(f));

  it('has a row for every record, linking its file', () => {
    assert.deepEqual(
      records.filter((f) => !index.includes(`| [${f.slice(0, 4)}](${f}) |`)),
      [],
    );
  });

  it('has a row and an explanation for every number without a record', () => {
    for (const n of missingNumbers(records)) {
      assert.ok(index.includes(`| ${n} |`), `a row for ${n}`);
      assert.ok(index.includes(`**No ${n}.**`), `an explanation of the gap at ${n}`);
    }
  });

  it('links only files that exist', () => {
    assert.deepEqual(brokenLinks(join(DECISIONS, 'README.md')), []);
  });

  it('finds the gap in a list of records with one number missing', () => {
    assert.deepEqual(missingNumbers(['0001-a.md', '0002-b.md', '0004-c.md', '0007-d.md']), [
      '0003',
      '0005',
      '0006',
    ]);
  });
});

describe('the diagram of what talks to what', () => {
  it('is drawn once, in README.md, and docs/architecture.md links it', () => {
    const drawings = trackedLinesMatching(REPO_ROOT, '^```mermaid', { pathspecs: ['*.md'] });
    assert.deepEqual(
      drawings.map((line) => line.split(':')[0]),
      ['README.md'],
    );
    const architecture = readFileSync(join(DOCS, 'architecture.md'), 'utf8');
    assert.ok(architecture.includes('](../README.md#what-talks-to-what)'));
  });
});
