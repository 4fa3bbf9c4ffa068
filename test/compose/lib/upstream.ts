// Where each stand-in's upstream Dockerfile is, and what its base gives it.
//
// For the programs built from Go modules, the Dockerfile is read from the very module version
// build-binaries.sh builds (its zip holds the repository at that tag): nothing is copied here
// that could drift. The Collector's, Node's and Python's images are built in repositories that
// are not Go modules; their fields are recorded below from the Dockerfile at the commit named
// (for the Collector and Node the newest one of the stored copy of that repository that this was
// read from; for Python the commit that moved the tag's Dockerfile to its version, unchanged
// since; those files change only in their pinned base digests and version numbers between
// releases).
// Allowed differences (`differences`) are the rows of docs/docker.md's fidelity table.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pinOf } from '../../../scripts/lib/pins.ts';
import { emptyFields, stageFields, type ImageFields } from './dockerfile.ts';
import { nodeVersion } from './node-release.ts';
import { DEBIAN_PYTHON, pythonTagVersion } from './python-base.ts';

export interface Upstream {
  /** Where the Dockerfile is: "module@version path" or "repository@commit path". */
  source: string;
  fields: () => ImageFields;
  /** Whether the image has a shell (/bin/sh) and wget, as its base does. */
  shell: boolean;
  wget: boolean;
  /** Programs at the upstream image's paths: each must run (with --version) in the stand-in. */
  programs?: string[];
  /** Fields that differ on purpose, and why (ENV: by variable, in envDifferences). */
  differences?: Partial<Record<Exclude<keyof ImageFields, 'env'>, string>>;
  /** ENV variables that differ, are absent or are added on purpose, and why. */
  envDifferences?: Record<string, string>;
}

/** The directory of a Go module version (downloaded once into the module cache). */
function moduleDir(module: string, version: string): string {
  const out = execFileSync('go', ['mod', 'download', '-json', `${module}@${version}`], {
    encoding: 'utf8',
    env: { ...process.env, GOFLAGS: '-mod=mod', GOTOOLCHAIN: 'local' },
  });
  return (JSON.parse(out) as { Dir: string }).Dir;
}

function fromModule(module: string, version: string, file: string, stage?: string, args = {}) {
  return {
    source: `${module}@${version} ${file}`,
    fields: () =>
      stageFields(readFileSync(path.join(moduleDir(module, version), file), 'utf8'), stage, args),
  };
}

const recorded = (f: Partial<ImageFields>): ImageFields => ({ ...emptyFields(''), ...f });

const CA_ADDED = 'added: the CA bundle of the machine that builds it';

/** The upstream of an image tag (Alpine's node images have busybox's wget, Debian's none). */
export function upstreamFor(tag: string): Upstream | undefined {
  const repo = tag.replace(/:[^/:]*$/, '');
  const u = upstreams()[repo];
  return u && repo === 'node' ? { ...u, wget: tag.includes('alpine') } : u;
}

/** image repository (no tag) → its upstream. */
function upstreams(): Record<string, Upstream> {
  return { ...moduleUpstreams(), ...recordedUpstreams(nodeVersion()) };
}

/** A pinned program's Dockerfile in the module and version the pin table builds it from. */
function fromPin(program: string, file: string, stage?: string, args = {}) {
  const pin = pinOf(program);
  if (!pin) throw new Error(`${program} is not in scripts/tools/pins.txt`);
  return fromModule(pin.module, pin.moduleVersion, file, stage, args);
}

/** The images of programs built from Go modules: their Dockerfiles, read from the module. */
function moduleUpstreams(): Record<string, Upstream> {
  const busybox = { shell: true, wget: true };
  return {
    'prom/prometheus': { ...fromPin('prometheus', 'Dockerfile'), ...busybox },
    'prom/alertmanager': { ...fromPin('alertmanager', 'Dockerfile'), ...busybox },
    'prom/blackbox-exporter': { ...fromPin('blackbox_exporter', 'Dockerfile'), ...busybox },
    'prom/node-exporter': { ...fromPin('node_exporter', 'Dockerfile'), ...busybox },
    // The release stage, on Jaeger's Alpine base (scripts/build/docker/base/Dockerfile).
    'jaegertracing/jaeger': {
      ...fromPin('jaeger', 'cmd/jaeger/Dockerfile', 'release', { base_image: 'alpine' }),
      ...busybox,
    },
    // On distroless/static (deployment/docker/Makefile's ROOT_IMAGE).
    'victoriametrics/victoria-logs': {
      ...fromPin('victoria-logs', 'app/victoria-logs/multiarch/Dockerfile', undefined, {
        root_image: 'gcr.io/distroless/static',
      }),
      shell: false,
      wget: false,
    },
  };
}

/** The Collector's, Node's and Python's images: their fields, as recorded from the Dockerfiles. */
function recordedUpstreams(node: string): Record<string, Upstream> {
  return {
    python: pythonUpstream(),
    'otel/opentelemetry-collector-contrib': {
      source:
        'open-telemetry/opentelemetry-collector-releases@113ebaf17c780bde5d4aff27e06ebc858d576916 distributions/otelcol-contrib/Dockerfile',
      fields: () =>
        recorded({
          from: 'scratch',
          user: '10001:10001',
          entrypoint: ['/otelcol-contrib'],
          cmd: ['--config', '/etc/otelcol-contrib/config.yaml'],
          expose: ['4317/tcp', '4318/tcp', '55679/tcp'],
        }),
      shell: false,
      wget: false,
    },
    node: {
      source:
        'nodejs/docker-node@fd1bf45c51970427bc899084b5381f6827722246 24/bookworm-slim/Dockerfile, 24/alpine3.24/Dockerfile',
      fields: () =>
        recorded({
          from: 'debian:bookworm-slim',
          entrypoint: ['docker-entrypoint.sh'],
          cmd: ['node'],
          env: { NODE_VERSION: node, YARN_VERSION: '1.22.22' },
        }),
      shell: true,
      wget: false,
      programs: ['/usr/local/bin/node', '/usr/local/bin/npm', '/usr/local/bin/npx'],
      envDifferences: {
        NODE_EXTRA_CA_CERTS: CA_ADDED,
        YARN_VERSION: 'absent: no yarn, no corepack',
      },
    },
  };
}

/** python:3.11.15-slim-bookworm, from docker-library/python's generated Dockerfile. */
function pythonUpstream(): Upstream {
  const version = '3.11.15';
  return {
    source:
      'docker-library/python@c859f2b9e567f72c94e00c969f916d3f92ae52a7 3.11/slim-bookworm/Dockerfile',
    fields: () => {
      if (pythonTagVersion() !== version) {
        throw new Error(
          `the Dockerfile recorded is Python ${version}'s; record ${pythonTagVersion()}'s`,
        );
      }
      return recorded({
        from: 'debian:bookworm-slim',
        cmd: ['python3'],
        env: {
          // `ENV PATH /usr/local/bin:$PATH` on Docker's default PATH
          PATH: '/usr/local/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
          LANG: 'C.UTF-8',
          GPG_KEY: 'A035C8C19219BA821ECEA86B64E628F8D684696D',
          PYTHON_VERSION: version,
          PYTHON_SHA256: '272179ddd9a2e41a0fc8e42e33dfbdca0b3711aa5abf372d3f2d51543d09b625',
        },
      });
    },
    shell: true,
    wget: false,
    programs: ['/usr/local/bin/python', '/usr/local/bin/python3', '/usr/local/bin/pip'],
    envDifferences: {
      PYTHON_VERSION: `${DEBIAN_PYTHON}: Debian bookworm's python3.11, not python.org's ${version}`,
      GPG_KEY: 'absent: no source release is downloaded and verified',
      PYTHON_SHA256: 'absent: no source release is downloaded and verified',
      PIP_CERT: CA_ADDED,
    },
  };
}
