// Which native program to run: the one named by <NAME>_BIN (e.g. PROMETHEUS_BIN) when set,
// else the pinned build from scripts/tools/build-binaries.sh when it exists (the versions of
// scripts/tools/pins.txt, which docker-compose.yml runs), else, for the outputs a row lists in
// debian=, Debian's package (promtool, alertmanager, amtool; not the Prometheus server, whose
// 2.42 cannot load prometheus.yml: docs/decisions/0014-otlp-metrics-into-prometheus.md), else
// nothing. The same lookup
// as scripts/tools/bin-path.sh, for TypeScript callers: the config tests, `make native`, the
// whole-stack test.

import { spawnSync } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { pinOf, readPins, type Pin } from './pins.ts';
import { REPO_ROOT } from './repo.ts';

/** A program or output of scripts/tools/pins.txt: otelcol, promtool, helm, kubectl ... */
export type ProgramName = string;

export interface FoundBinary {
  name: ProgramName;
  path: string;
  /** Release version, e.g. "2.42.0" (pinned: from pins.txt; Debian: from --version). */
  version: string;
  source: 'env' | 'pinned' | 'debian';
}

export interface FindOptions {
  /** Where pinned builds live; default as bin-path.sh: $AGENT_OBS_BIN_DIR, else the cache. */
  binDir?: string;
  /** Search path for Debian's programs; default $PATH. */
  path?: string;
  /** The pin table's rows; default read from the repo. */
  pins?: Pin[];
  /** Where <NAME>_BIN overrides are read; default process.env. */
  env?: NodeJS.ProcessEnv;
}

const BUILD_SCRIPT = join(REPO_ROOT, 'scripts/tools/build-binaries.sh');

/** Debian's names of an output its row lists in debian= (alertmanager is
 * prometheus-alertmanager there), as bin-path.sh tries them. */
const debianNames = (name: string): string[] => [`prometheus-${name}`, name];

export function defaultBinDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.AGENT_OBS_BIN_DIR) return env.AGENT_OBS_BIN_DIR;
  const cache =
    env.AGENT_OBS_CACHE_DIR ??
    join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'agent-observability');
  return join(cache, 'bin');
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/** The x.y.z in a program's `--version` output ("promtool, version 2.42.0+ds (...)"). */
export function parseVersionOutput(output: string): string | undefined {
  return /version\s+v?(\d+\.\d+\.\d+)/i.exec(output)?.[1];
}

/** The release a program reports with --version (Prometheus' tools print it on stdout, older
 * builds on stderr). */
function reportedVersion(file: string): string {
  const r = spawnSync(file, ['--version'], { encoding: 'utf8', timeout: 10_000 });
  return parseVersionOutput(`${r.stdout ?? ''}${r.stderr ?? ''}`) ?? 'unknown';
}

/** The variable that overrides a program's binary: PROMETHEUS_BIN, VICTORIA_LOGS_BIN ... */
export const overrideVariable = (name: ProgramName): string =>
  `${name.toUpperCase().replaceAll('-', '_')}_BIN`;

function pinFor(name: ProgramName, pins?: Pin[]): Pin {
  const pin = pinOf(name, pins ?? readPins());
  if (!pin) throw new Error(`unknown program "${name}": not in scripts/tools/pins.txt`);
  return pin;
}

/** Where the pinned build of `name` is (whether or not it is built). */
export function pinnedPath(name: ProgramName, options: FindOptions = {}): string {
  const pin = pinFor(name, options.pins);
  const binDir = options.binDir ?? defaultBinDir();
  if (pin.folders.includes(name)) return join(binDir, '..', 'share', `${name}-${pin.version}`);
  return join(binDir, `${name}-${pin.version}`);
}

/** Whether build-binaries.sh's stamp says `program` is built from its current inputs (its row,
 * its recipe, the repo files its row names): asked of the script, which computes the hash. */
export function isBuiltFromCurrentInputs(program: string): boolean {
  const r = spawnSync('bash', [BUILD_SCRIPT, '--check', program], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  return r.status === 0;
}

export function findBinary(name: ProgramName, options: FindOptions = {}): FoundBinary | undefined {
  const pin = pinFor(name, options.pins);
  const variable = overrideVariable(name);
  const override = (options.env ?? process.env)[variable];
  if (override) {
    if (!isExecutable(override))
      throw new Error(`${variable}=${override} is not an executable file`);
    return { name, path: override, version: reportedVersion(override), source: 'env' };
  }
  const pinned = pinnedPath(name, options);
  if (isExecutable(pinned)) return { name, path: pinned, version: pin.version, source: 'pinned' };
  if (!(pin.options.debian ?? '').split(',').includes(name)) return undefined;

  const searchPath = options.path ?? process.env.PATH ?? '';
  for (const candidate of debianNames(name)) {
    for (const dir of searchPath.split(delimiter).filter(Boolean)) {
      const file = join(dir, candidate);
      if (!isExecutable(file)) continue;
      return { name, path: file, version: reportedVersion(file), source: 'debian' };
    }
  }
  return undefined;
}

/** "promtool 2.42.0 (Debian's package, /path)": for test output, so a log says what was checked. */
export function describeBinary(b: FoundBinary): string {
  const origin = {
    env: `from ${overrideVariable(b.name)}`,
    pinned: 'pinned build',
    debian: "Debian's package",
  };
  return `${b.name} ${b.version} (${origin[b.source]}, ${b.path})`;
}
