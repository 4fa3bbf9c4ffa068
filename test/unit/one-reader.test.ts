// Facts of the repo that one module works out and everything else imports. Each rule is a
// function over the tooling's sources (test/lib/import-graph.ts) that lists the files breaking
// it; the repo must give none, and a planted copy the one it was planted in.
import assert from 'node:assert/strict';
import ts from 'typescript';
import { RESOLVER_VARIABLES } from '../../scripts/lib/endpoints.ts';
import { sourceFile, toolingSources, type SourceFile } from '../lib/import-graph.ts';

const ROOT_MODULE = 'scripts/lib/repo.ts';

/** `import.meta.url` and `import.meta.dirname` in a file's code (not its strings or comments),
 * other than as the argument of `createRequire(...)`, which loads a package, not a folder. */
function folderFromOwnPlace(text: string): boolean {
  if (!text.includes('import.meta')) return false;
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

const files = toolingSources();

describe('the repo root', () => {
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

const RESOLVER = 'scripts/lib/endpoints.ts';
const STACK_FOLDER = 'scripts/lib/stack/';
/** The scripts (what a user runs), not the tests, which set these variables for them. */
const scriptsOf = (files: SourceFile[]) => files.filter(({ file }) => file.startsWith('scripts/'));

/** Scripts other than the resolver that read one of its variables from an environment. */
function variableReaders(files: SourceFile[]): string[] {
  const read = new RegExp(`\\benv(?:\\.|\\[['"])(${RESOLVER_VARIABLES.join('|')})\\b`);
  return scriptsOf(files)
    .filter(({ file, text }) => file !== RESOLVER && read.test(text))
    .map(({ file }) => file);
}

/** Scripts other than the resolver that read the time-scale state `make configure` writes. */
function timeScaleStateReaders(files: SourceFile[]): string[] {
  return scriptsOf(files)
    .filter(({ file, text }) => file !== RESOLVER && /\btimeScaleFromState\(/.test(text))
    .filter(({ file }) => file !== 'scripts/lib/time-scale.ts')
    .map(({ file }) => file);
}

/** The modules of scripts/lib/stack/ the resolver reaches through its imports. */
function stackModulesOfResolver(files: SourceFile[]): string[] {
  const byFile = new Map(files.map((f) => [f.file, f]));
  const seen = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const target of byFile.get(file)?.imports ?? []) visit(target);
  };
  visit(RESOLVER);
  return [...seen].filter((file) => file.startsWith(STACK_FOLDER)).sort();
}

describe('the stack parameters: one reader, scripts/lib/endpoints.ts', () => {
  const planted = (file: string, line: string) => {
    const original = files.find((f) => f.file === file);
    assert.ok(original, file);
    return files.map((f) => (f.file === file ? sourceFile(file, `${line}\n${f.text}`) : f));
  };

  it('reads the stack URLs, keys, time scale, state and the app control folder from the environment; no other script does', () => {
    assert.ok(RESOLVER_VARIABLES.includes('APP_URL') && RESOLVER_VARIABLES.includes('TIME_SCALE'));
    assert.deepEqual(variableReaders(files), []);
    const control = planted('scripts/scenario.ts', 'const d = process.env.APP_CONTROL_DIR;');
    assert.deepEqual(variableReaders(control), ['scripts/scenario.ts']);
    const url = planted('scripts/load.ts', "const u = env['PROMETHEUS_URL'];");
    assert.deepEqual(variableReaders(url), ['scripts/load.ts']);
  });

  it('is the one reader of the time-scale state make configure writes', () => {
    const readers = (list: SourceFile[]) =>
      scriptsOf(list).filter(({ text }) => /\btimeScaleFromState\(/.test(text));
    assert.deepEqual(
      readers(files).map(({ file }) => file),
      ['scripts/lib/endpoints.ts', 'scripts/lib/time-scale.ts'],
    );
    assert.deepEqual(timeScaleStateReaders(files), []);
    const side = planted('scripts/scenario.ts', 'const s = timeScaleFromState(text);');
    assert.deepEqual(timeScaleStateReaders(side), ['scripts/scenario.ts']);
  });

  it(`imports nothing from ${STACK_FOLDER} (which may import it): no folder loop`, () => {
    assert.deepEqual(stackModulesOfResolver(files), []);
    const loop = planted(RESOLVER, "import { parseDuration } from './stack/duration.ts';");
    assert.deepEqual(stackModulesOfResolver(loop), ['scripts/lib/stack/duration.ts']);
  });
});
