// The stand-in images of `make test-compose`: one entry per image, under the exact tag the stack
// uses, built from test/compose/standins/<dir>/Dockerfile with the pinned programs of
// build-binaries.sh. Adding a stand-in is one entry of STANDINS (and its Dockerfile).
// Each image carries a label with the hash of its inputs (Dockerfile folder, programs, base
// image, build args): an unchanged stand-in is not rebuilt; the engine's data root keeps them.
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
} from 'node:fs';
import path from 'node:path';
import { composeServices } from '../../../scripts/lib/stack/compose-file.ts';
import {
  BUSYBOX,
  CA_BUNDLE,
  CACHE_DIR,
  debianBase,
  sha256,
  writeBusyboxRootfs,
  writeDistrolessRootfs,
} from './bases.ts';
import { argDefault } from './dockerfile.ts';
import { docker, inspectImage } from './engine.ts';
import { nodeBinary, nodeTags, npmPackage } from './node-release.ts';
import { DEBIAN_PYTHON, pythonTag } from './python-base.ts';
import { REPO_ROOT } from '../../../scripts/lib/repo.ts';

const STANDINS_DIR = path.join(REPO_ROOT, 'test/compose/standins');
export const INPUTS_LABEL = 'org.agent-observability.standin.inputs';

export interface StandIn {
  /** Folder under test/compose/standins/ holding its Dockerfile. */
  dir: string;
  /** The image tag it is built under. */
  tag: string;
  /** The stand-in (by dir) or base it is built FROM (passed as the BASE build arg). */
  from?: string;
  /** Pinned programs added to the build context under their own names. */
  programs?: string[];
  /** Other files added to the build context: name in the context → file on this machine. */
  files?: () => Record<string, string>;
  /** Writes generated files into the build context. */
  generate?: (context: string) => void;
  args?: Record<string, string>;
}

/** The pinned build of a program (bin-path.sh --pinned NAME). */
export function pinned(name: string): string {
  return execFileSync(
    'bash',
    [path.join(REPO_ROOT, 'scripts/tools/bin-path.sh'), '--pinned', name],
    {
      encoding: 'utf8',
    },
  ).trim();
}

/** The tag grafana/image/Dockerfile builds on (ARG GRAFANA_IMAGE). */
function grafanaTag(): string {
  return argDefault(path.join(REPO_ROOT, 'grafana/image/Dockerfile'), 'GRAFANA_IMAGE');
}

/** Every stand-in, bases first. */
export function standIns(): StandIn[] {
  return [
    {
      dir: 'busybox',
      tag: 'agent-observability/standin-base:busybox',
      generate: writeBusyboxRootfs,
    },
    {
      dir: 'distroless-static',
      tag: 'agent-observability/standin-base:distroless-static',
      generate: writeDistrolessRootfs,
    },
    ...programStandIns(),
    ...nodeStandIns(),
    {
      dir: 'python-slim-bookworm',
      tag: pythonTag(),
      from: 'debian',
      files: () => ({ 'ca-certificates.crt': CA_BUNDLE }),
      args: { PYTHON_VERSION: DEBIAN_PYTHON },
    },
    { dir: 'grafana', tag: grafanaTag(), from: 'busybox', generate: grafanaPlaceholder },
  ];
}

/** The image (repository:tag) docker-compose.yml runs from `repository`, if any service does. */
function composeImage(repository: string): string | undefined {
  return Object.values(composeServices(REPO_ROOT))
    .map((svc) => (svc as { image?: unknown }).image)
    .find(
      (image): image is string => typeof image === 'string' && image.startsWith(`${repository}:`),
    );
}

/**
 * The stack's programs, as build-binaries.sh builds them (bin-path.sh --pinned): one entry per
 * upstream image, built when docker-compose.yml runs that image.
 */
function programStandIns(): StandIn[] {
  const ca = { 'ca-certificates.crt': CA_BUNDLE };
  const entries: (Omit<StandIn, 'tag'> & { repository: string })[] = [
    {
      dir: 'prometheus',
      repository: 'prom/prometheus',
      from: 'busybox',
      programs: ['prometheus', 'promtool'],
    },
    {
      dir: 'alertmanager',
      repository: 'prom/alertmanager',
      from: 'busybox',
      programs: ['alertmanager', 'amtool'],
    },
    {
      dir: 'blackbox-exporter',
      repository: 'prom/blackbox-exporter',
      from: 'busybox',
      programs: ['blackbox_exporter'],
    },
    {
      dir: 'node-exporter',
      repository: 'prom/node-exporter',
      from: 'busybox',
      programs: ['node_exporter'],
    },
    {
      dir: 'jaeger',
      repository: 'jaegertracing/jaeger',
      from: 'busybox',
      programs: ['jaeger'],
      files: () => ({ ...ca, 'mime.types': '/etc/mime.types' }),
    },
    {
      dir: 'otel-collector',
      repository: 'otel/opentelemetry-collector-contrib',
      programs: ['otelcol'],
      files: () => ca,
    },
    {
      dir: 'victoria-logs',
      repository: 'victoriametrics/victoria-logs',
      from: 'distroless-static',
      programs: ['victoria-logs'],
    },
  ];
  return entries.flatMap(({ repository, ...s }) => {
    const tag = composeImage(repository);
    return tag ? [{ ...s, tag }] : [];
  });
}

function nodeStandIns(): StandIn[] {
  const node = nodeTags();
  return [
    {
      dir: 'node-bookworm-slim',
      tag: node.bookwormSlim,
      from: 'debian',
      files: () => ({ node: nodeBinary(), 'ca-certificates.crt': CA_BUNDLE }),
      generate: npmPackage,
      args: { NODE_VERSION: node.version },
    },
    ...node.alpine.map((tag) => ({
      dir: 'node-alpine',
      tag,
      from: 'node-bookworm-slim',
      files: () => ({ busybox: BUSYBOX }),
    })),
  ];
}

/** Builds the Grafana placeholder server (Go, no dependencies) into the build context. */
function grafanaPlaceholder(context: string): void {
  const version = grafanaTag().split(':')[1];
  execFileSync(
    'go',
    [
      'build',
      '-trimpath',
      '-ldflags',
      `-s -w -X main.version=${version}`,
      '-o',
      path.join(context, 'grafana-placeholder'),
      '.',
    ],
    {
      cwd: path.join(STANDINS_DIR, 'grafana/placeholder'),
      env: { ...process.env, CGO_ENABLED: '0', GOTOOLCHAIN: 'local', GOFLAGS: '-buildvcs=false' },
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
}

/** The Dockerfile folder's files (not sub-folders: the placeholder's source is built instead). */
function copyDockerfileDir(dir: string, context: string): void {
  for (const name of readdirSync(path.join(STANDINS_DIR, dir), { withFileTypes: true })) {
    if (!name.isFile()) continue;
    copyFileSync(path.join(STANDINS_DIR, dir, name.name), path.join(context, name.name));
  }
}

/** Hash of every file of a build context, by relative path (links by target). */
function contextHash(context: string): string {
  const parts: string[] = [];
  const walk = (rel: string) => {
    for (const e of readdirSync(path.join(context, rel), { withFileTypes: true })) {
      const r = path.join(rel, e.name);
      if (e.isDirectory()) walk(r);
      else if (e.isSymbolicLink()) parts.push(`${r} -> link`);
      else parts.push(`${r} ${sha256(readFileSync(path.join(context, r)))}`);
    }
  };
  walk('.');
  return sha256(...parts.sort());
}

export interface BuildResult {
  tag: string;
  cached: boolean;
  seconds: number;
}

/** Builds one stand-in unless the image with the same inputs is there. */
function buildOne(s: StandIn, bases: Map<string, string>): BuildResult {
  const t0 = Date.now();
  const context = path.join(CACHE_DIR, 'build', `standin-${s.dir}`);
  rmSync(context, { recursive: true, force: true });
  mkdirSync(context, { recursive: true });
  copyDockerfileDir(s.dir, context);
  const programs = Object.fromEntries((s.programs ?? []).map((p) => [p, pinned(p)]));
  for (const [name, from] of Object.entries({ ...programs, ...s.files?.() })) {
    if (!existsSync(from)) throw new Error(`${s.tag}: ${from} is missing (make tools?)`);
    copyFileSync(from, path.join(context, name));
    chmodSync(path.join(context, name), 0o755);
  }
  s.generate?.(context);
  const base = s.from ? bases.get(s.from) : undefined;
  if (s.from && !base) throw new Error(`${s.tag}: base ${s.from} not built before it`);
  const args = { ...s.args, ...(base ? { BASE: base } : {}) };
  const baseId = base ? inspectImage(base)?.Id : '';
  const inputs = sha256(contextHash(context), String(baseId), JSON.stringify(args));
  const cached = inspectImage(s.tag)?.Config.Labels?.[INPUTS_LABEL] === inputs;
  if (!cached) {
    const argv = Object.entries(args).flatMap(([k, val]) => ['--build-arg', `${k}=${val}`]);
    docker([
      'build',
      '--quiet',
      '--label',
      `${INPUTS_LABEL}=${inputs}`,
      ...argv,
      '--tag',
      s.tag,
      context,
    ]);
  }
  rmSync(context, { recursive: true, force: true });
  return { tag: s.tag, cached, seconds: (Date.now() - t0) / 1000 };
}

/** Builds every stand-in in order (bases first); returns what was built and what was cached. */
export function buildStandIns(log: (line: string) => void, only?: string[]): BuildResult[] {
  const bases = new Map<string, string>([['debian', debianBase(log)]]);
  const results: BuildResult[] = [];
  for (const s of standIns().filter((x) => !only || only.includes(x.dir))) {
    const r = buildOne(s, bases);
    bases.set(s.dir, s.tag);
    log(`${r.cached ? 'cached' : 'built '} ${r.tag} (${r.seconds.toFixed(1)} s)`);
    results.push(r);
  }
  return results;
}
