// Facts of the repo that one module works out and everything else imports. Each rule is a
// function over the tooling's sources (test/lib/import-graph.ts) that lists the files breaking
// it; the repo must give none, and a planted copy the one it was planted in.
import assert from 'node:assert/strict';
import ts from 'typescript';
import { sourceFile, toolingSources, type SourceFile } from '../lib/import-graph.ts';

const ROOT_MODULE = 'scripts/lib/repo.ts';

/** `import.meta.url` and `import.meta.dirname` in a file's code (not its strings or comments),
 * other than as the argument of `createRequire(...)`, which loads a package, not a folder. */
function folderFromOwnPlace(text: string): boolean {
  let found = false;
  const visit = (node: ts.Node): void => {
    if (
      ts.isPropertyAccessExpression(node) &&
      ts.isMetaProperty(node.expression) &&
      ['url', 'dirname'].includes(node.name.text) &&
      !(ts.isCallExpression(node.parent) && node.parent.expression.getText() === 'createRequire')
    )
      found = true;
    ts.forEachChild(node, visit);
  };
  visit(ts.createSourceFile('x.ts', text, ts.ScriptTarget.Latest, true));
  return found;
}

/**
 * Files that work out the repo's root (or any folder) from their own place. `import.meta.filename`
 * (a script starting itself) is not a folder.
 */
function rootReaders(files: SourceFile[]): string[] {
  return files
    .filter(({ file, text }) => file !== ROOT_MODULE && folderFromOwnPlace(text))
    .map(({ file }) => file);
}

describe('the repo root', () => {
  const files = toolingSources();

  it(`is worked out in ${ROOT_MODULE} alone; every other module imports REPO_ROOT`, () => {
    assert.ok(files.length > 100, `${files.length} files`);
    assert.deepEqual(rootReaders(files), []);
    const importers = files.filter(({ imports }) => imports.includes(ROOT_MODULE));
    assert.ok(importers.length > 30, `${importers.length} importers of ${ROOT_MODULE}`);
  });

  it('reports a module that works it out again, in any of the three ways it once was', () => {
    const planted = [
      "const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');",
      "const REPO = path.resolve(import.meta.dirname, '../..');",
      "const ROOT = new URL('../../', import.meta.url);",
    ].map((line, i) => sourceFile(`test/lib/planted-${i}.ts`, `${line}\n`));
    assert.deepEqual(
      rootReaders([...files, ...planted]),
      planted.map(({ file }) => file),
    );
    const loader = sourceFile('test/lib/ok.ts', 'const r = createRequire(import.meta.url);\n');
    assert.deepEqual(rootReaders([loader]), []);
  });
});
