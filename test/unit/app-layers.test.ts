// The service's layering (docs/architecture.md): server → app → http → health → agent →
// telemetry → config. A module imports from its own layer or the ones below, never above, so
// that each layer can be read, and tested, without the ones above it.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { REPO_ROOT } from '../../scripts/lib/repo.ts';

const SRC = path.join(REPO_ROOT, 'app/src');
const LAYERS = ['server', 'app', 'http', 'health', 'agent', 'telemetry', 'config'];

/** The layer of a file under app/src: its folder, or its own name; the small leaf modules
 * (config.ts, version.ts, char-class.ts) are the bottom layer. */
function layerOf(file: string): number {
  const [first] = path.relative(SRC, file).split(path.sep);
  const name = first.replace(/\.ts$/, '');
  const layer = LAYERS.indexOf(name);
  return layer >= 0 ? layer : LAYERS.indexOf('config');
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? sourceFiles(path.join(dir, e.name))
      : e.name.endsWith('.ts')
        ? [path.join(dir, e.name)]
        : [],
  );
}

/** Every import of `file` that reaches a layer above its own. */
function upwardImports(file: string): string[] {
  const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  return importedFiles
    .filter(({ fileName }) => fileName.startsWith('.'))
    .map(({ fileName }) => path.resolve(path.dirname(file), fileName))
    .filter((target) => layerOf(target) < layerOf(file))
    .map((target) => `${path.relative(SRC, file)} → ${path.relative(SRC, target)}`);
}

describe('the service layering', () => {
  it('has no import from a layer above (telemetry does not reach into agent, and so on)', () => {
    const files = sourceFiles(SRC);
    assert.ok(files.length > 20, `${files.length} files under app/src`);
    assert.deepEqual(files.flatMap(upwardImports), []);
  });

  it('places every folder of app/src in a layer', () => {
    const folders = readdirSync(SRC, { withFileTypes: true }).filter((e) => e.isDirectory());
    for (const folder of folders) assert.ok(LAYERS.includes(folder.name), folder.name);
  });
});
