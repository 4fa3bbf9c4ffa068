// The pin table (scripts/tools/pins.txt) for TypeScript: one row per pinned program, the same
// columns build-binaries.sh and bin-path.sh read. The file's header says what each column means.

import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const PINS_FILE = join(REPO_ROOT, 'scripts/tools/pins.txt');

export interface Pin {
  program: string;
  group: string;
  /** The release, e.g. "3.16.0". */
  version: string;
  module: string;
  moduleVersion: string;
  recipe: string;
  /** Executables the build installs as <cache>/bin/NAME-VERSION. */
  outputs: string[];
  /** Folders the build installs as <cache>/share/NAME-VERSION. */
  folders: string[];
  /** The image compose and the chart run, split at the tag ({version} filled in); undefined
   * when none. */
  image?: { repository: string; tag: string };
  options: Record<string, string>;
}

const COLUMNS = 8; // before the options

function parseRow(line: string, lineNumber: number): Pin {
  const words = line.trim().split(/\s+/);
  if (words.length < COLUMNS + 1)
    throw new Error(`pins.txt line ${lineNumber}: ${COLUMNS + 1} columns expected: ${line}`);
  const [program, group, version, module, moduleVersion, recipe, outputs, image] = words;
  const options: Record<string, string> = {};
  for (const word of words.slice(COLUMNS)) {
    if (word === '-') continue;
    const eq = word.indexOf('=');
    if (eq <= 0) throw new Error(`pins.txt line ${lineNumber}: option "${word}" is not KEY=VALUE`);
    options[word.slice(0, eq)] = word.slice(eq + 1);
  }
  const names = outputs.split(',');
  const colon = image.lastIndexOf(':');
  return {
    program,
    group,
    version,
    module,
    moduleVersion,
    recipe,
    outputs: names.filter((n) => !n.endsWith('/')),
    folders: names.filter((n) => n.endsWith('/')).map((n) => n.slice(0, -1)),
    image:
      image === '-'
        ? undefined
        : {
            repository: image.slice(0, colon),
            tag: image.slice(colon + 1).replaceAll('{version}', version),
          },
    options,
  };
}

/** The rows of a pin table's text: `#` comments and blank lines skipped. */
export function parsePins(text: string): Pin[] {
  return text
    .split('\n')
    .map((line, i) => ({ line, n: i + 1 }))
    .filter(({ line }) => !/^\s*(#|$)/.test(line))
    .map(({ line, n }) => parseRow(line, n));
}

export function readPins(file = PINS_FILE): Pin[] {
  return parsePins(readFileSync(file, 'utf8'));
}

/** The row of a program, or of the program that outputs `name` (promtool: prometheus). */
export function pinOf(name: string, pins: Pin[] = readPins()): Pin | undefined {
  return (
    pins.find((p) => p.program === name) ??
    pins.find((p) => p.outputs.includes(name) || p.folders.includes(name))
  );
}
