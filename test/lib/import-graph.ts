// The tooling's TypeScript as data, for tests of how it is put together: which module reads a
// thing, which imports which. Files under scripts/, test/ and grafana/src/ (the service in app/
// has its own layering test), each with its repo-relative path, its text and the repo files it
// imports.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { REPO_ROOT } from '../../scripts/lib/repo.ts';

export interface SourceFile {
  /** Repo-relative, with forward slashes: scripts/lib/endpoints.ts. */
  file: string;
  text: string;
  /** The repo files it imports (relative specifiers only), repo-relative. */
  imports: string[];
}

const FOLDERS = ['scripts', 'test', 'grafana/src'];
/** Not the tooling's own code: installed packages, the stand-in images' build contexts. */
const SKIP = new Set(['node_modules', 'standins', 'results', '.venv']);

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    if (SKIP.has(e.name)) return [];
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return tsFiles(full);
    return e.name.endsWith('.ts') ? [full] : [];
  });
}

/** One file's imports of other repo files, repo-relative. */
export function importsOf(file: string, text: string): string[] {
  return ts
    .preProcessFile(text, true, true)
    .importedFiles.map(({ fileName }) => fileName)
    .filter((name) => name.startsWith('.'))
    .map((name) => path.posix.normalize(path.posix.join(path.posix.dirname(file), name)));
}

/** Every TypeScript file of the tooling under `root` (the repo by default). */
export function toolingSources(root = REPO_ROOT): SourceFile[] {
  return FOLDERS.flatMap((folder) => tsFiles(path.join(root, folder))).map((full) => {
    const file = path.relative(root, full).split(path.sep).join('/');
    const text = readFileSync(full, 'utf8');
    return { file, text, imports: importsOf(file, text) };
  });
}

/** A file given as text (a planted copy), in the same shape. */
export function sourceFile(file: string, text: string): SourceFile {
  return { file, text, imports: importsOf(file, text) };
}
