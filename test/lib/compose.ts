// docker-compose.yml as Compose itself resolves it, and the stack's rules checked on that model.
// The model comes from compose-check (scripts/tools/compose-check: compose-go, the loader of
// `docker compose`, with the options of `docker compose config`): interpolated from an env file,
// with merge keys and extends applied, every short syntax in its long form (ports, volumes,
// depends_on, environment as a mapping, command as a list), validated against the Compose
// schema. So the checks here are about the stack's rules, not Compose's syntax, and a file
// Compose refuses throws. Each check returns problems as sentences; an empty list means the
// file passes. The tests feed broken copies to the same functions to prove they can fail.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import YAML from 'yaml';
import { findBinary } from '../../scripts/lib/binaries.ts';
import { parseEnv } from '../../scripts/lib/env-file.ts';
import { REPO_ROOT } from '../../scripts/lib/repo.ts';
import { parseDuration } from '../../scripts/lib/stack/duration.ts';

import { isObj, type Json, type Obj } from '../../scripts/lib/yaml.ts';
import { requirePinned } from './programs.ts';

export { isObj, type Json, type Obj };

export interface ComposeFile {
  services: Record<string, Obj>;
  volumes: Obj;
  /** Every variable the file references (before interpolation), with its default. */
  variables: Record<string, { default: string; required: boolean }>;
}

/**
 * An env file compose-go reads back exactly: single-quoted values are taken literally (no
 * interpolation, no escapes), so a value may hold `$`, `#` or spaces but not a quote or newline.
 */
function envFileText(env: Map<string, string>): string {
  return [...env]
    .map(([key, value]) => {
      if (/['\n]/.test(value)) throw new Error(`${key}: cannot write ${JSON.stringify(value)}`);
      return `${key}='${value}'\n`;
    })
    .join('');
}

/**
 * Loads a compose text (and the repo's paths: relative paths resolve from the repo root, as
 * written) with every profile enabled. Throws Compose's own error for a file it refuses.
 */
export function loadCompose(text: string, env: Map<string, string>): ComposeFile {
  const bin = findBinary('compose-check');
  if (bin?.source !== 'pinned') {
    throw new Error('compose-check is not built: run make tools (build-binaries.sh compose-check)');
  }
  const dir = mkdtempSync(join(tmpdir(), 'compose-model-'));
  try {
    writeFileSync(join(dir, 'docker-compose.yml'), text);
    writeFileSync(join(dir, '.env'), envFileText(env));
    const args = ['--env-file', join(dir, '.env'), '--project-dir', REPO_ROOT];
    const flags = ['--profile', '*', '--no-path-resolution', '--json'];
    const r = spawnSync(bin.path, [...args, ...flags, join(dir, 'docker-compose.yml')], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    if (r.error) throw r.error;
    if (r.status === 2) throw new Error(`${bin.path} is older than its source: run make tools`);
    if (r.status !== 0) throw new Error(r.stderr.replaceAll(dir, '<copy>').trim());
    const { project, variables } = JSON.parse(r.stdout) as {
      project: { services?: Record<string, Obj>; volumes?: Obj };
      variables: ComposeFile['variables'];
    };
    return { services: project.services ?? {}, volumes: project.volumes ?? {}, variables };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The .env `make configure` writes, as the compose file sees it: the example, its secret set. */
export function configuredEnv(): Map<string, string> {
  const example = parseEnv(readFileSync(join(REPO_ROOT, '.env.example'), 'utf8'));
  return new Map([...example, ['GRAFANA_ADMIN_PASSWORD', 'test-password']]);
}

let repoCompose: ComposeFile | undefined;

/**
 * The repo's docker-compose.yml with configuredEnv(), loaded once for every suite that asks,
 * in a `before` hook: without compose-check the suite is skipped (in CI it fails).
 */
export function repoComposeFixture(): { readonly compose: ComposeFile } {
  before(function () {
    // compose-check's own time limit (loadCompose), not mocha's 2 s: a loaded machine needs more.
    this.timeout(30_000);
    requirePinned(this, 'compose-check');
    repoCompose ??= loadCompose(
      readFileSync(join(REPO_ROOT, 'docker-compose.yml'), 'utf8'),
      configuredEnv(),
    );
  });
  return {
    get compose() {
      if (!repoCompose) throw new Error('repoComposeFixture: used before its before hook');
      return repoCompose;
    },
  };
}

// ------------------------------------------------------------------------------ ports

export interface PortMapping {
  hostIp: string;
  published: string;
  target: number;
}

/** A service's published ports (Compose's long form: host_ip, published, target). */
export function portMappings(svc: Obj): PortMapping[] {
  return (Array.isArray(svc.ports) ? svc.ports : []).filter(isObj).map((p) => ({
    hostIp: String(p.host_ip ?? ''),
    published: String(p.published ?? ''),
    target: Number(p.target),
  }));
}

/** Ports a service listens on inside the network: published targets plus `expose`. */
export function containerPorts(svc: Obj): Set<number> {
  const out = new Set(portMappings(svc).map((p) => p.target));
  for (const e of Array.isArray(svc.expose) ? svc.expose : []) out.add(Number(String(e)));
  return out;
}

// ------------------------------------------------------------------------------ checks

/**
 * One-shot services: others wait for them with service_completed_successfully (so that
 * `up --wait` accepts their exit too); they need no healthcheck and must not restart.
 */
export function oneShotServices(c: ComposeFile): Set<string> {
  const out = new Set<string>();
  for (const svc of Object.values(c.services)) {
    if (!isObj(svc.depends_on)) continue;
    for (const [dep, spec] of Object.entries(svc.depends_on)) {
      if (isObj(spec) && spec.condition === 'service_completed_successfully') out.add(dep);
    }
  }
  return out;
}

/**
 * One-shot services allowed to run as root, with the only capabilities they may add and why.
 * They must also have no network and never restart.
 */
export const ROOT_ONE_SHOTS: Record<string, { caps: string[]; why: string }> = {
  'alertmanager-config': {
    caps: ['CHOWN', 'DAC_OVERRIDE'],
    why: "reads your 0600 secret files, whatever uid the engine shows them with, and hands copies to Alertmanager's user",
  },
};

/** Services whose image cannot run a healthcheck, and why (the test prints the reason). */
export const NO_HEALTHCHECK: Record<string, string> = {
  'otel-collector':
    'the Collector image is built FROM scratch (no shell, no wget); dependents use service_started',
  'container-exporter':
    'the Collector image (FROM scratch) again; up{job="containers"} and TargetDown report it',
  victorialogs:
    'the VictoriaLogs image is distroless/static (no shell, no wget); dependents use service_started',
};

/** Services allowed a writable root filesystem, and why. */
export const WRITABLE_ROOT: Record<string, string> = {
  grafana: "Grafana 13's start-up script and plugin installer are not verified read-only",
};

/** Images whose own default user is not root (checked upstream); others must set `user:`. */
export const NON_ROOT_IMAGES: Record<string, string> = {
  'prom/alertmanager': 'USER nobody (65534) in the image',
  'prom/node-exporter': 'USER nobody in the image',
  'otel/opentelemetry-collector-contrib': 'USER 10001 in the image',
  'jaegertracing/jaeger': 'USER 10001 in the image',
  'prom/prometheus': 'USER nobody in the image',
  'grafana/grafana': 'user 472 (grafana) in the image',
};

export function imageName(image: string): { repo: string; tag: string } {
  const noDigest = image.split('@')[0];
  const slash = noDigest.lastIndexOf('/');
  const colon = noDigest.lastIndexOf(':');
  if (colon > slash) return { repo: noDigest.slice(0, colon), tag: noDigest.slice(colon + 1) };
  return { repo: noDigest, tag: '' };
}

const EXACT_TAG = /^v?\d+\.\d+\.\d+(-[A-Za-z0-9.]+)?$/;

/** Images pinned to an exact version (Compose's loader refuses a service without image or build). */
export function checkImages(c: ComposeFile): string[] {
  const problems: string[] = [];
  for (const [name, svc] of Object.entries(c.services)) {
    if (svc.build !== undefined) continue;
    const { tag } = imageName(String(svc.image));
    if (!EXACT_TAG.test(tag)) {
      problems.push(`${name}: image "${svc.image}" is not pinned to an exact version`);
    }
  }
  return problems;
}

function hasHealthcheck(svc: Obj): boolean {
  if (!isObj(svc.healthcheck) || svc.healthcheck.disable === true) return false;
  const test = svc.healthcheck.test;
  if (Array.isArray(test)) return test.length > 0 && test[0] !== 'NONE';
  return typeof test === 'string' && test.length > 0;
}

export function checkHealthchecks(c: ComposeFile): string[] {
  const problems: string[] = [];
  const oneShots = oneShotServices(c);
  for (const [name, svc] of Object.entries(c.services)) {
    if (oneShots.has(name)) continue;
    if (name in NO_HEALTHCHECK) {
      if (hasHealthcheck(svc))
        problems.push(`${name}: listed as unable to run a healthcheck, has one`);
      continue;
    }
    if (!hasHealthcheck(svc)) problems.push(`${name}: no healthcheck`);
  }
  return problems;
}

/**
 * A service that waits for another to be healthy waits forever when that one has no
 * healthcheck. (Compose's loader itself refuses a dependency on a missing service, a condition
 * it does not know and a cycle.)
 */
export function checkDependsOn(c: ComposeFile): string[] {
  const problems: string[] = [];
  for (const [name, svc] of Object.entries(c.services)) {
    for (const [dep, spec] of Object.entries(isObj(svc.depends_on) ? svc.depends_on : {})) {
      if (isObj(spec) && spec.condition === 'service_healthy' && !hasHealthcheck(c.services[dep]))
        problems.push(`${name}: waits for "${dep}" to be healthy, but ${dep} has no healthcheck`);
    }
  }
  return problems;
}

/**
 * Every dependency names its condition in the file (Compose would default a bare one to
 * service_started, which waits for nothing a reader can see). On the text as written.
 */
export function checkConditionsWritten(text: string): string[] {
  const doc = YAML.parse(text, { merge: true }) as { services?: Record<string, Obj> };
  const problems: string[] = [];
  for (const [name, svc] of Object.entries(doc.services ?? {})) {
    if (svc.depends_on === undefined) continue;
    if (!isObj(svc.depends_on)) {
      problems.push(`${name}: depends_on is a list; give each dependency a condition`);
      continue;
    }
    for (const [dep, spec] of Object.entries(svc.depends_on))
      if (!isObj(spec) || spec.condition === undefined)
        problems.push(`${name}: dependency "${dep}" names no condition`);
  }
  return problems;
}

export function checkPorts(c: ComposeFile): string[] {
  const problems: string[] = [];
  const used = new Map<string, string>();
  for (const [name, svc] of Object.entries(c.services)) {
    for (const p of portMappings(svc)) {
      if (p.hostIp !== '127.0.0.1') {
        problems.push(
          `${name}: port ${p.published || '?'}->${p.target} is not bound to 127.0.0.1 (host_ip "${p.hostIp}")`,
        );
      }
      if (!/^\d+$/.test(p.published)) {
        problems.push(`${name}: port ->${p.target} has no fixed host port`);
        continue;
      }
      const other = used.get(p.published);
      if (other) problems.push(`${name}: host port ${p.published} is also published by ${other}`);
      used.set(p.published, name);
    }
  }
  return problems;
}

export function checkGrafanaPort(c: ComposeFile): string[] {
  const grafana = c.services.grafana;
  if (!grafana) return ['no grafana service'];
  const ok = portMappings(grafana).some(
    (p) => p.published === '3001' && p.target === 3000 && p.hostIp === '127.0.0.1',
  );
  return ok ? [] : ['grafana: not published on 127.0.0.1:3001 (container port 3000)'];
}

/** Bytes in a GOMEMLIMIT value (the Go runtime's notation: 204MiB, 1GiB, 134217728). */
export function goMemLimitBytes(value: string): number {
  const m = /^(\d+)(B|KiB|MiB|GiB|TiB)?$/.exec(value.trim());
  if (!m) throw new Error(`cannot read GOMEMLIMIT "${value}"`);
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  return Number(m[1]) * 1024 ** Math.max(0, units.indexOf(m[2] ?? 'B'));
}

/** The container's memory limit in bytes (Compose gives deploy's limit and mem_limit in bytes). */
export function memoryLimit(svc: Obj): number | undefined {
  const deploy = isObj(svc.deploy) ? svc.deploy : {};
  const resources = isObj(deploy.resources) ? deploy.resources : {};
  const limits = isObj(resources.limits) ? resources.limits : {};
  const raw = limits.memory ?? svc.mem_limit;
  return raw === undefined || raw === null ? undefined : Number(raw);
}

export function checkResources(c: ComposeFile): string[] {
  const problems: string[] = [];
  for (const [name, svc] of Object.entries(c.services)) {
    if (memoryLimit(svc) === undefined) problems.push(`${name}: no memory limit`);
  }
  // Go programs: GOMEMLIMIT about 80 % of the container limit, so the Go runtime collects
  // harder before the kernel's OOM killer stops the container.
  for (const name of ['otel-collector', 'jaeger']) {
    const svc = c.services[name];
    if (!svc) continue;
    const limit = memoryLimit(svc);
    const env = environment(svc);
    const gomem = env.GOMEMLIMIT;
    if (!gomem || limit === undefined) {
      problems.push(`${name}: GOMEMLIMIT and a memory limit are both needed`);
      continue;
    }
    const ratio = goMemLimitBytes(gomem) / limit;
    if (ratio < 0.7 || ratio > 0.9) {
      problems.push(`${name}: GOMEMLIMIT is ${Math.round(ratio * 100)} % of the limit, not ~80 %`);
    }
  }
  return problems;
}

/** A service's environment (Compose gives a mapping; a variable without a value is null). */
export function environment(svc: Obj): Record<string, string> {
  const env = isObj(svc.environment) ? svc.environment : {};
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(v ?? '')]));
}

/** A service's command (Compose gives a list, a string command split as a shell would). */
export function commandArgs(svc: Obj): string[] {
  return Array.isArray(svc.command) ? svc.command.map(String) : [];
}

export function flagValue(args: string[], flag: string): string | undefined {
  for (const a of args) if (a.startsWith(`${flag}=`)) return a.slice(flag.length + 1);
  return undefined;
}

export function checkLifecycleAndRetention(c: ComposeFile): string[] {
  const problems: string[] = [];
  const app = c.services.app;
  if (!app) problems.push('no app service');
  else {
    const grace = Number(environment(app).SHUTDOWN_GRACE_MS || '10000');
    const stop = app.stop_grace_period ? parseDuration(String(app.stop_grace_period)) : 10_000;
    if (stop <= grace) {
      problems.push(
        `app: stop_grace_period (${stop} ms) must exceed SHUTDOWN_GRACE_MS (${grace} ms)`,
      );
    }
  }
  const prom = c.services.prometheus;
  if (!prom) problems.push('no prometheus service');
  else {
    const args = commandArgs(prom);
    const retention = flagValue(args, '--storage.tsdb.retention.time');
    if (!retention || parseDuration(retention) < 31 * 86_400_000) {
      problems.push(`prometheus: retention "${retention ?? 'default 15d'}" is shorter than 31d`);
    }
    const features = (flagValue(args, '--enable-feature') ?? '').split(',');
    if (!features.includes('exemplar-storage')) {
      problems.push('prometheus: exemplar storage is not enabled');
    }
  }
  return problems;
}

/** Root and added capabilities: only for ROOT_ONE_SHOTS, with their capabilities, offline. */
function checkRootOneShot(c: ComposeFile, name: string, svc: Obj): string[] {
  const problems: string[] = [];
  const allowed = ROOT_ONE_SHOTS[name];
  const added = Array.isArray(svc.cap_add) ? svc.cap_add.map(String) : [];
  const extra = added.filter((cap) => !allowed?.caps.includes(cap));
  if (extra.length > 0) problems.push(`${name}: adds capabilities ${extra.join(', ')}`);
  const user = svc.user === undefined ? undefined : String(svc.user);
  if (user === undefined || !/^(0|root)(:|$)/.test(user)) return problems;
  // Root without capabilities, to open the Docker socket (HOST_ACCESS says why).
  if (HOST_ACCESS[name]?.root) return problems;
  if (!allowed) return [...problems, `${name}: runs as root`];
  if (!oneShotServices(c).has(name)) problems.push(`${name}: runs as root and is not a one-shot`);
  if (svc.network_mode !== 'none') problems.push(`${name}: runs as root with a network`);
  if (String(svc.restart) !== 'no') problems.push(`${name}: runs as root and restarts`);
  return problems;
}

/**
 * Data that must survive `make down` lives on named volumes (Compose's loader refuses one
 * not declared at the top level).
 */
export function checkVolumes(c: ComposeFile, required: Record<string, string>): string[] {
  const problems: string[] = [];
  for (const [service, target] of Object.entries(required)) {
    const svc = c.services[service];
    const mounts = (Array.isArray(svc?.volumes) ? svc.volumes : []).filter(isObj);
    const mount = mounts.find((m) => m.target === target);
    if (mount?.type !== 'volume' || !mount.source)
      problems.push(`${service}: ${target} is not on a named volume`);
  }
  return problems;
}

export function checkHardening(c: ComposeFile): string[] {
  const problems: string[] = [];
  for (const [name, svc] of Object.entries(c.services)) {
    const caps = Array.isArray(svc.cap_drop) ? svc.cap_drop.map(String) : [];
    if (!caps.includes('ALL')) problems.push(`${name}: does not drop all capabilities`);
    const opts = Array.isArray(svc.security_opt) ? svc.security_opt.map(String) : [];
    if (!opts.some((o) => /^no-new-privileges(:true)?$/.test(o))) {
      problems.push(`${name}: no-new-privileges is not set`);
    }
    if (svc.read_only !== true && !(name in WRITABLE_ROOT)) {
      problems.push(`${name}: root filesystem is not read_only`);
    }
    if (svc.privileged === true) problems.push(`${name}: privileged`);
    problems.push(...checkRootOneShot(c, name, svc));
    if (svc.user === undefined && svc.build === undefined) {
      const repo = typeof svc.image === 'string' ? imageName(svc.image).repo : '';
      if (!(repo in NON_ROOT_IMAGES)) {
        problems.push(
          `${name}: sets no user and ${repo || 'its image'} is not known to be non-root`,
        );
      }
    }
  }
  return problems;
}

// ------------------------------------------------------------------------------ first start

export interface BindMount {
  service: string;
  source: string;
  target: string;
  readOnly: boolean;
  /** `z`, `Z` or undefined. */
  selinux?: string;
}

/** Bind mounts (`type: bind`; the source as the file writes it, e.g. ./jaeger). */
export function bindMountsOf(c: ComposeFile): BindMount[] {
  const out: BindMount[] = [];
  for (const [service, svc] of Object.entries(c.services)) {
    for (const v of (Array.isArray(svc.volumes) ? svc.volumes : []).filter(isObj)) {
      if (v.type !== 'bind') continue;
      const bind = isObj(v.bind) ? v.bind : {};
      // Compose sends a bind through the Mount API, which has no SELinux label, when it has
      // create_host_path: false, propagation or recursive (bindRequiresMountAPI in
      // docker/compose's pkg/compose/create.go): `selinux` is dropped there.
      const mountApi =
        bind.create_host_path === false ||
        bind.propagation !== undefined ||
        bind.recursive !== undefined;
      out.push({
        service,
        source: String(v.source),
        target: String(v.target),
        readOnly: v.read_only === true,
        selinux: typeof bind.selinux === 'string' && !mountApi ? bind.selinux : undefined,
      });
    }
  }
  return out;
}

/**
 * Every bind mount read-only and shared-labelled (`z`: SELinux hosts; `Z` would lock the other
 * services out of a folder two of them mount); a folder holding secrets only in a one-shot.
 */
export function checkBindMounts(c: ComposeFile, secretFolders: string[]): string[] {
  const problems: string[] = [];
  const oneShots = oneShotServices(c);
  // Host paths (the host-metrics profile) have rules of their own: checkHostAccess.
  for (const m of bindMountsOf(c).filter((mount) => !mount.source.startsWith('/'))) {
    const where = `${m.service}: ${m.source}`;
    if (!m.readOnly) problems.push(`${where} is mounted writable`);
    if (m.selinux !== 'z') problems.push(`${where} has no "z" (SELinux hosts cannot read it)`);
    const secret = secretFolders.some((f) => m.source === f || m.source.startsWith(`${f}/`));
    if (secret && !oneShots.has(m.service)) {
      problems.push(`${where} holds secrets and reaches a long-running service by a bind mount`);
    }
  }
  return problems;
}

/** No service runs as the host user: under rootless Docker that uid is not the file owner. */
export function checkNoHostUser(text: string): string[] {
  const doc = YAML.parse(text, { merge: true }) as { services?: Record<string, Obj> };
  return Object.entries(doc.services ?? {})
    .filter(([, svc]) => typeof svc.user === 'string' && svc.user.includes('$'))
    .map(([name, svc]) => `${name}: user "${String(svc.user)}" comes from the host`);
}

// ------------------------------------------------------------------------------ host access

/** The host's Docker socket inside a container (its host path comes from DOCKER_SOCKET). */
export const DOCKER_SOCKET = '/var/run/docker.sock';
/** The opt-in profile of the services that reach into the host. */
export const HOST_PROFILE = 'host-metrics';

export interface HostAccess {
  /** Host paths it may mount (read-only, never relabelled), each with its reason. */
  mounts: Record<string, string>;
  pidHost?: string;
  /** Root (still without capabilities) to open the socket, and why. */
  root?: string;
  /** security_opt `label=disable`, and why. */
  noSelinuxLabel: string;
}

/**
 * The services that reach into the host (compose's host-metrics profile), with every privilege
 * each may have and why; docker-compose.yml's comments say the same to a reader.
 */
export const HOST_ACCESS: Record<string, HostAccess> = {
  'node-exporter': {
    mounts: { '/': "the host's file systems, to measure them (--path.rootfs=/host)" },
    pidHost: "the host's mount table (/proc/1/mountinfo of the host's init)",
    noSelinuxLabel: 'reading / on an SELinux host without relabelling every file of it',
  },
  'container-exporter': {
    mounts: { [DOCKER_SOCKET]: "the Engine's container list and stats (docker_stats)" },
    root: 'the socket belongs to root (group docker, whose id differs per host)',
    noSelinuxLabel: 'reaching the socket on an SELinux host without relabelling it',
  },
  'container-events': {
    mounts: { [DOCKER_SOCKET]: "the Engine's oom and start events and RestartCount" },
    root: 'the socket belongs to root (group docker, whose id differs per host)',
    noSelinuxLabel: 'reaching the socket on an SELinux host without relabelling it',
  },
};

/** A host mount's problems: it must be allowed, read-only and never relabelled. */
function hostMountProblems(name: string, m: BindMount, access?: HostAccess): string[] {
  const where = `${name}: host path ${m.source}`;
  const problems: string[] = [];
  // Listed by host path, or (the socket, whose host path DOCKER_SOCKET can move) by target.
  if (!access?.mounts[m.source] && !access?.mounts[m.target])
    problems.push(`${where} is mounted without a listed reason`);
  if (!m.readOnly) problems.push(`${where} is mounted writable`);
  if (m.selinux) problems.push(`${where} carries "${m.selinux}": it would relabel the host`);
  return problems;
}

/**
 * Host mounts, `pid: host`, root and `label=disable`: only for the services of HOST_ACCESS,
 * only what is listed there, only in the opt-in profile.
 */
export function checkHostAccess(c: ComposeFile): string[] {
  const problems: string[] = [];
  const mounts = bindMountsOf(c).filter((m) => m.source.startsWith('/'));
  for (const [name, svc] of Object.entries(c.services)) {
    const access = HOST_ACCESS[name];
    const mine = mounts.filter((m) => m.service === name);
    for (const m of mine) problems.push(...hostMountProblems(name, m, access));
    if (svc.pid === 'host' && !access?.pidHost)
      problems.push(`${name}: pid: host without a reason`);
    const opts = Array.isArray(svc.security_opt) ? svc.security_opt.map(String) : [];
    if (opts.includes('label=disable') && !access)
      problems.push(`${name}: label=disable without a reason`);
    if (!access) continue;
    const profiles = Array.isArray(svc.profiles) ? svc.profiles.map(String) : [];
    if (!profiles.includes(HOST_PROFILE)) problems.push(`${name}: not in profile ${HOST_PROFILE}`);
    const user = String(svc.user ?? '');
    if (/^(0|root)(:|$)/.test(user) && !access.root) problems.push(`${name}: runs as root`);
  }
  return problems;
}

/** Alertmanager's user, the owner of its volumes (USER nobody in prom/alertmanager). */
export const ALERTMANAGER_UID = 65534;

/**
 * Silences and the notification log on a named volume that Alertmanager can write (it runs as
 * the image user, who owns a fresh volume); its config and secrets copied to that user by a
 * one-shot it waits for.
 */
export function checkAlertmanagerFiles(c: ComposeFile): string[] {
  const am = c.services.alertmanager;
  if (!am) return ['no alertmanager service'];
  const problems: string[] = [];
  const storage = flagValue(commandArgs(am), '--storage.path') ?? '/alertmanager';
  problems.push(...checkVolumes(c, { alertmanager: storage }));
  const tmpfs = Array.isArray(am.tmpfs) ? am.tmpfs.map(String) : [];
  if (tmpfs.some((t) => t.split(':')[0] === storage)) {
    problems.push(`alertmanager: ${storage} is a tmpfs: a restart forgets every silence`);
  }
  if (am.user !== undefined) {
    problems.push(`alertmanager: runs as "${String(am.user)}", not the owner of a new volume`);
  }
  const init = c.services['alertmanager-config'];
  const deps = isObj(am.depends_on) ? am.depends_on : {};
  const wait = deps['alertmanager-config'];
  if (!init || !isObj(wait) || wait.condition !== 'service_completed_successfully') {
    problems.push('alertmanager: does not wait for alertmanager-config to finish');
  }
  const script = init ? [init.entrypoint, init.command].flat().map(String).join('\n') : '';
  if (!script.includes(`chown -R ${ALERTMANAGER_UID}:${ALERTMANAGER_UID}`)) {
    problems.push(`alertmanager-config: does not hand the files to uid ${ALERTMANAGER_UID}`);
  }
  return problems;
}

/** Seconds of a start the healthcheck tolerates: start_period, then `retries` failed probes. */
export function healthWindowS(svc: Obj): number {
  const h = isObj(svc.healthcheck) ? svc.healthcheck : {};
  const s = (v: Json | undefined, d: string) => parseDuration(String(v ?? d)) / 1000;
  return s(h.start_period, '0s') + s(h.interval, '30s') * Number(h.retries ?? 3);
}

/**
 * Grafana's start_period covers a first start (database migrations); `make up`'s
 * --wait-timeout outlasts every service's health window, so --wait reports the real failure.
 */
export function checkFirstStart(c: ComposeFile, waitTimeoutS: number, grafanaMinS: number) {
  const problems: string[] = [];
  const grafana = c.services.grafana;
  const h = grafana && isObj(grafana.healthcheck) ? grafana.healthcheck : {};
  const period = parseDuration(String(h.start_period ?? '0s')) / 1000;
  if (period < grafanaMinS) {
    problems.push(
      `grafana: start_period ${period} s is shorter than a first start (${grafanaMinS} s)`,
    );
  }
  for (const [name, svc] of Object.entries(c.services)) {
    if (!isObj(svc.healthcheck)) continue;
    const window = healthWindowS(svc);
    if (window >= waitTimeoutS) {
      problems.push(
        `${name}: health window ${window} s is not shorter than WAIT_TIMEOUT ${waitTimeoutS} s`,
      );
    }
  }
  return problems;
}

/** Grafana downloads nothing at run time: plugins in its image, pinned; no preinstall. */
export function checkGrafanaOffline(c: ComposeFile, dockerfile: string): string[] {
  const grafana = c.services.grafana;
  if (!grafana) return ['no grafana service'];
  const problems: string[] = [];
  const env = environment(grafana);
  const want: Record<string, string> = {
    GF_PLUGINS_PREINSTALL_DISABLED: 'true',
    GF_PLUGINS_PUBLIC_KEY_RETRIEVAL_DISABLED: 'true',
    GF_ANALYTICS_REPORTING_ENABLED: 'false',
    GF_ANALYTICS_CHECK_FOR_UPDATES: 'false',
    GF_ANALYTICS_CHECK_FOR_PLUGIN_UPDATES: 'false',
  };
  for (const [key, value] of Object.entries(want)) {
    if (env[key] !== value) problems.push(`grafana: ${key} is "${env[key] ?? ''}", not ${value}`);
  }
  if (grafana.build === undefined)
    problems.push('grafana: not built from grafana/image/Dockerfile');
  const from = /^ARG GRAFANA_IMAGE=grafana\/grafana:(\S+)$/m.exec(dockerfile)?.[1];
  const tag = typeof grafana.image === 'string' ? imageName(grafana.image).tag : '';
  if (!from || !EXACT_TAG.test(from) || from !== tag) {
    problems.push(
      `grafana: Dockerfile base grafana/grafana:${from ?? '?'} differs from tag "${tag}"`,
    );
  }
  const plugins = /^ARG GRAFANA_PLUGINS="([^"]*)"$/m.exec(dockerfile)?.[1] ?? '';
  for (const p of plugins.split(/\s+/).filter(Boolean)) {
    if (!/^[a-z0-9-]+@\d+\.\d+\.\d+$/.test(p))
      problems.push(`grafana: plugin "${p}" is not id@x.y.z`);
  }
  if (!plugins.trim()) problems.push('grafana: the Dockerfile installs no plugin');
  return problems;
}
