// Which native program to run: the one named by <NAME>_BIN (e.g. PROMETHEUS_BIN) when set,
// else the pinned build from scripts/tools/build-binaries.sh when it exists (the versions
// docker-compose.yml runs), else Debian's package (prometheus, promtool, alertmanager, amtool),
// else nothing. The same lookup as scripts/tools/bin-path.sh, for
// TypeScript callers: the config tests, `make native`, the whole-stack test.

import { spawnSync } from 'node:child_process';
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export type ProgramName =
  | 'otelcol'
  | 'jaeger'
  | 'prometheus'
  | 'promtool'
  | 'alertmanager'
  | 'amtool'
  | 'victoria-logs'
  | 'blackbox_exporter'
  // `make validate`'s checkers: pinned builds only.
  | 'actionlint'
  | 'compose-check';

export interface FoundBinary {
  name: ProgramName;
  path: string;
  /** Release version, e.g. "3.16.0" (pinned: from versions.env; Debian: from --version). */
  version: string;
  source: 'env' | 'pinned' | 'debian';
}

export interface FindOptions {
  /** Where pinned builds live; default as bin-path.sh: $AGENT_OBS_BIN_DIR, else the cache. */
  binDir?: string;
  /** Search path for Debian's programs; default $PATH. */
  path?: string;
  /** Pinned versions (KEY=VALUE of versions.env); default read from the repo. */
  versions?: Record<string, string>;
  /** Where <NAME>_BIN overrides are read; default process.env. */
  env?: NodeJS.ProcessEnv;
}

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const VERSIONS_FILE = join(REPO_ROOT, 'scripts/tools/versions.env');

const VERSION_KEY: Record<ProgramName, string> = {
  otelcol: 'OTELCOL_VERSION',
  jaeger: 'JAEGER_VERSION',
  prometheus: 'PROMETHEUS_VERSION',
  promtool: 'PROMETHEUS_VERSION',
  alertmanager: 'ALERTMANAGER_VERSION',
  amtool: 'ALERTMANAGER_VERSION',
  'victoria-logs': 'VICTORIALOGS_VERSION',
  blackbox_exporter: 'BLACKBOX_EXPORTER_VERSION',
  actionlint: 'ACTIONLINT_VERSION',
  'compose-check': 'COMPOSE_GO_VERSION',
};

// Debian's names; otelcol and jaeger have no Debian package.
const DEBIAN_NAMES: Partial<Record<ProgramName, string[]>> = {
  prometheus: ['prometheus'],
  promtool: ['promtool'],
  alertmanager: ['prometheus-alertmanager', 'alertmanager'],
  amtool: ['amtool'],
};

/** versions.env as a map: plain KEY=VALUE lines, `#` comments (the file promises no more). */
export function parseVersions(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z0-9_]+)=(\S*)\s*$/.exec(line.trim());
    if (m) out[m[1]] = m[2];
  }
  return out;
}

export function readVersions(file = VERSIONS_FILE): Record<string, string> {
  return parseVersions(readFileSync(file, 'utf8'));
}

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

export function findBinary(name: ProgramName, options: FindOptions = {}): FoundBinary | undefined {
  const key = VERSION_KEY[name];
  if (!key) throw new Error(`unknown program "${name}"`);
  const overrideVariable = `${name.toUpperCase()}_BIN`;
  const override = (options.env ?? process.env)[overrideVariable];
  if (override) {
    if (!isExecutable(override))
      throw new Error(`${overrideVariable}=${override} is not an executable file`);
    return { name, path: override, version: reportedVersion(override), source: 'env' };
  }
  const versions = options.versions ?? readVersions();
  const pinnedVersion = versions[key];
  if (!pinnedVersion) throw new Error(`${key} is missing from scripts/tools/versions.env`);

  const pinned = join(options.binDir ?? defaultBinDir(), `${name}-${pinnedVersion}`);
  if (isExecutable(pinned)) return { name, path: pinned, version: pinnedVersion, source: 'pinned' };

  const searchPath = options.path ?? process.env.PATH ?? '';
  for (const candidate of DEBIAN_NAMES[name] ?? []) {
    for (const dir of searchPath.split(delimiter).filter(Boolean)) {
      const file = join(dir, candidate);
      if (!isExecutable(file)) continue;
      return { name, path: file, version: reportedVersion(file), source: 'debian' };
    }
  }
  return undefined;
}

/** "promtool 3.16.0 (pinned build, /path)": for test output, so a log says what was checked. */
export function describeBinary(b: FoundBinary): string {
  const origin = {
    env: `from ${b.name.toUpperCase()}_BIN`,
    pinned: 'pinned build',
    debian: "Debian's package",
  };
  return `${b.name} ${b.version} (${origin[b.source]}, ${b.path})`;
}
