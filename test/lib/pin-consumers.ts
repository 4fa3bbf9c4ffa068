// Every file that uses a pinned version, and how it must agree with the pin table
// (scripts/tools/pins.txt). Files that read the table (the build script, bin-path.sh, the
// TypeScript lookup, the Makefile, .ci/run, the workflow) must not write a version of their own;
// files that cannot read it (docker-compose.yml, the chart's values, the Collector manifest, the
// go.mod of the repo's own Go programs) must say the table's versions.
import YAML from 'yaml';
import type { ProgramName } from '../../scripts/lib/binaries.ts';
import { parseEnv } from '../../scripts/lib/env-file.ts';
import type { Pin } from '../../scripts/lib/pins.ts';
import { imageName, loadCompose } from './compose.ts';

/** The repo files a check reads, by path; a check gets a copy of them with one file changed. */
export type Files = Record<string, string>;

export interface Consumer {
  /** The file the check is about. */
  file: string;
  /** Other files it needs (read, never planted in). */
  uses?: string[];
  /** A pinned program the check runs (the test skips without it, outside CI). */
  needs?: ProgramName;
  check(files: Files, pins: Pin[]): string[];
}

const TABLE = 'scripts/tools/pins.txt';

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Every version the table pins, as it could be written elsewhere. */
function pinnedLiterals(pins: Pin[]): string[] {
  const literals = pins.flatMap((p) => [
    p.version,
    p.moduleVersion,
    ...Object.values(p.options).filter((v) => /^v?\d+\.\d+\.\d+$|^[0-9a-f]{40}$/.test(v)),
  ]);
  return [...new Set(literals)];
}

/** A file that reads the table must not write any version the table pins (`name@version`,
 * a workflow's action pin such as actions/setup-python@v5.6.0, is another thing's version). */
function noOwnVersions(file: string, pins: Pin[], text: string): string[] {
  return pinnedLiterals(pins)
    .filter((v) => new RegExp(`(?<![\\w.@])${escape(v)}(?![\\w.])`).test(text))
    .map((v) => `${file} writes ${v}, which ${TABLE} pins: read the table instead`);
}

/** The words after `build-binaries.sh` in a file's commands: groups or programs of the table. */
function buildWords(
  file: string,
  pins: Pin[],
  text: string,
): { words: string[]; problems: string[] } {
  const known = new Set(pins.flatMap((p) => [p.group, p.program]));
  const words = [...text.matchAll(/build-binaries\.sh([^\n;&|]*)/g)].flatMap((m) =>
    m[1]
      .trim()
      .split(/\s+/)
      .filter((w) => w && !w.startsWith('-')),
  );
  const problems = words
    .filter((w) => !known.has(w))
    .map((w) => `${file} builds "${w}", which is no group or program of ${TABLE}`);
  return { words, problems };
}

/** Which groups a file builds; `expected` lists those it must. */
function buildsGroups(file: string, pins: Pin[], text: string, expected: string[]): string[] {
  const { words, problems } = buildWords(file, pins, text);
  if (words.length === 0) problems.push(`${file} never runs build-binaries.sh with a group`);
  for (const g of expected)
    if (!words.includes(g)) problems.push(`${file} does not build the group ${g} of ${TABLE}`);
  return problems;
}

const groups = (pins: Pin[]): string[] => [...new Set(pins.map((p) => p.group))];

const reader = (file: string, extra?: (text: string, pins: Pin[]) => string[]): Consumer => ({
  file,
  check: (files, pins) => [
    ...noOwnVersions(file, pins, files[file]),
    ...(extra?.(files[file], pins) ?? []),
  ],
});

/** image repository → the row that pins it. */
const byRepository = (pins: Pin[]): Map<string, Pin> =>
  new Map(pins.flatMap((p) => (p.image ? [[p.image.repository, p] as const] : [])));

function composeImages(files: Files, pins: Pin[]): string[] {
  const env = new Map([
    ...parseEnv(files['.env.example']),
    ['GRAFANA_ADMIN_PASSWORD', 'test-password'],
  ]);
  const compose = loadCompose(files['docker-compose.yml'], env);
  const node = (JSON.parse(files['package.json']) as { devDependencies: Record<string, string> })
    .devDependencies.node;
  const pinned = byRepository(pins);
  const problems: string[] = [];
  for (const [name, svc] of Object.entries(compose.services)) {
    if (typeof svc.image !== 'string' || svc.build !== undefined) continue;
    const { repo, tag } = imageName(svc.image);
    const pin = pinned.get(repo);
    if (pin?.image && tag !== pin.image.tag)
      problems.push(
        `${name}: ${repo}:${tag} differs from ${TABLE} (${pin.program} ${pin.image.tag})`,
      );
    else if (repo === 'node' && !tag.startsWith(`${node}-`) && tag !== node)
      problems.push(`${name}: node:${tag} differs from the repo's Node ${node} (package.json)`);
    else if (!pin && repo !== 'node')
      problems.push(`${name}: runs ${svc.image}, which ${TABLE} does not pin`);
  }
  return problems;
}

/** Every {repository, tag} in the chart's values whose repository the table pins. */
function chartImages(files: Files, pins: Pin[]): string[] {
  const file = 'deploy/helm/agent-observability/values.yaml';
  const pinned = byRepository(pins);
  const problems: string[] = [];
  let seen = 0;
  const walk = (node: unknown, path: string): void => {
    if (!node || typeof node !== 'object') return;
    const o = node as Record<string, unknown>;
    if (typeof o.repository === 'string' && 'tag' in o) {
      const pin = pinned.get(o.repository);
      if (pin?.image) {
        seen++;
        if (String(o.tag) !== pin.image.tag)
          problems.push(
            `${file} ${path}: ${o.repository}:${String(o.tag)} differs from ${TABLE} (${pin.image.tag})`,
          );
      } else if (o.repository !== 'agent-observability/app') {
        problems.push(`${file} ${path}: runs ${o.repository}, which ${TABLE} does not pin`);
      }
    }
    for (const [k, v] of Object.entries(o)) walk(v, path ? `${path}.${k}` : k);
  };
  walk(YAML.parse(files[file]), '');
  if (seen === 0) problems.push(`${file}: no image of ${TABLE} found`);
  return problems;
}

function collectorManifest(files: Files, pins: Pin[]): string[] {
  const file = 'otel-collector/builder-config.yaml';
  const pin = pins.find((p) => p.options.inputs === file);
  if (!pin) return [`${TABLE}: no row builds ${file}`];
  const m = YAML.parse(files[file]) as Record<string, { gomod: string }[] | { version?: string }>;
  const problems: string[] = [];
  const version = (m.dist as { version?: string }).version;
  if (String(version) !== pin.version)
    problems.push(`${file}: dist.version ${version} differs from ${TABLE} (${pin.version})`);
  // Components the row keeps at an older release (its behind= option, with the reason).
  const behind = new Set((pin.options.behind ?? '').split(',').map((b) => b.replace('@', ' ')));
  for (const [kind, list] of Object.entries(m)) {
    if (!Array.isArray(list)) continue;
    for (const { gomod } of list)
      if (!gomod.endsWith(` ${pin.moduleVersion}`) && !behind.has(gomod))
        problems.push(`${file}: ${kind} ${gomod} is not at ${pin.moduleVersion} (${TABLE})`);
  }
  return problems;
}

/** The repo's own Go programs (recipe repo-go): their go.mod requires the row's module version. */
const goMod = (pin: Pin): Consumer => {
  const file = `${pin.options.inputs}/go.mod`;
  return {
    file,
    check: (files) =>
      new RegExp(
        `^(require)?\\s*${escape(pin.module)} ${escape(pin.moduleVersion)}(\\s|$)`,
        'm',
      ).test(files[file])
        ? []
        : [
            `${file} does not require ${pin.module} ${pin.moduleVersion} (${TABLE}, ${pin.program})`,
          ],
  };
};

/** Everything that uses a pin; `pins` decides which go.mod files there are. */
export function consumers(pins: Pin[]): Consumer[] {
  return [
    reader('scripts/tools/build-binaries.sh'),
    reader('scripts/tools/bin-path.sh', (t) =>
      t.includes('pins.txt') ? [] : ['scripts/tools/bin-path.sh does not read pins.txt'],
    ),
    reader('scripts/lib/binaries.ts', (t) =>
      t.includes("from './pins.ts'") ? [] : ['scripts/lib/binaries.ts does not read pins.ts'],
    ),
    reader('Makefile', (t, p) =>
      buildsGroups(
        'Makefile',
        p,
        t,
        groups(p).filter((g) => g !== 'engine'),
      ),
    ),
    reader('.ci/run', (t, p) => buildsGroups('.ci/run', p, t, groups(p))),
    reader('.github/workflows/ci.yml', (t) =>
      /key: .*hashFiles\('scripts\/tools\/pins\.txt'\)/.test(t)
        ? []
        : [`.github/workflows/ci.yml: the tools cache key does not hash ${TABLE}`],
    ),
    {
      file: 'docker-compose.yml',
      uses: ['.env.example', 'package.json'],
      needs: 'compose-check',
      check: composeImages,
    },
    { file: 'deploy/helm/agent-observability/values.yaml', check: chartImages },
    { file: 'otel-collector/builder-config.yaml', check: collectorManifest },
    ...pins.filter((p) => p.recipe === 'repo-go').map(goMod),
  ];
}
