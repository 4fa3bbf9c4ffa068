// Reads the repo's own configs, runs them through the rewrite (rewrite.ts) and writes the
// results where the native processes read them. Paths inside the configs are container paths
// under compose; the bind mounts in docker-compose.yml say which repo folder each one is.
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { composeEnvironment, composeMemoryLimitMiB, composeServices } from './compose-file.ts';
import {
  rewriteAlertmanagerConfig,
  rewritePrometheusConfig,
  rewriteRuleFile,
  rewriteServiceConfig,
  type AddressMap,
  type PrometheusCompat,
  type PrometheusResult,
  type TimeScaling,
} from './rewrite.ts';

/** Repo files each native program reads (relative to the repo root). */
export const SOURCES = {
  prometheus: 'prometheus/prometheus.yml',
  // The base file, not alertmanager/generated/: locally nothing but the receiver is kept
  // anyway (rewriteAlertmanagerConfig), so `make configure` need not have run.
  alertmanager: 'alertmanager/alertmanager.yml',
  jaeger: 'jaeger/config.yaml',
  blackbox: 'blackbox/blackbox.yml',
} as const;

/**
 * Where the blackbox exporter reads the probe's key (blackbox/blackbox.yml): a tmpfs file in
 * compose, the Secret's mount in the Helm chart, a file of the state folder natively.
 */
export const PROBE_KEY_PATH = '/run/secrets/probe_api_key';

/** The Collector's config files, in the order docker-compose.yml passes them. */
export function collectorSources(
  tailSampling = process.env.COLLECTOR_TAIL_SAMPLING || 'off',
): string[] {
  return [
    'otel-collector/config.yaml',
    `otel-collector/tail-sampling-${tailSampling}.yaml`,
    'otel-collector/config-extras.yaml',
  ];
}

/** [container path, repo path] of every bind mount in docker-compose.yml. */
export function bindMounts(repoDir: string): [string, string][] {
  const mounts: [string, string][] = [];
  for (const svc of Object.values(composeServices(repoDir))) {
    for (const v of svc.volumes ?? []) {
      if (typeof v !== 'string' || !v.startsWith('./')) continue;
      const [host, container] = v.split(':');
      mounts.push([container.replace(/\/+$/, ''), path.resolve(repoDir, host)]);
    }
  }
  // Longest container path first, so /etc/alertmanager/templates wins over /etc/alertmanager.
  return mounts.sort((a, b) => b[0].length - a[0].length);
}

/** A path from a config: container paths through the bind mounts, relative ones from `baseDir`. */
export function localPath(entry: string, baseDir: string, mounts: [string, string][]): string {
  if (path.isAbsolute(entry)) {
    for (const [container, host] of mounts) {
      if (entry === container || entry.startsWith(container + '/'))
        return host + entry.slice(container.length);
    }
    return entry;
  }
  return path.resolve(baseDir, entry);
}

/** The files a glob entry of rule_files names (`*` and `?` in the last segment only). */
function expandGlob(pattern: string): string[] {
  const dir = path.dirname(pattern);
  const base = path.basename(pattern);
  if (!/[*?]/.test(base)) return existsSync(pattern) ? [pattern] : [];
  if (!existsSync(dir)) return [];
  const re = new RegExp(
    '^' +
      base
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*/g, '.*')
        .replace(/\?/g, '.') +
      '$',
  );
  return readdirSync(dir)
    .filter((f) => re.test(f))
    .sort()
    .map((f) => path.join(dir, f));
}

/** A Prometheus config without its rule_files: the start-up copy of a time-scaled stack. */
export function withoutRules(text: string): string {
  const doc = YAML.parse(text) as Record<string, unknown>;
  delete doc.rule_files;
  return (
    '# Start-up copy without rule_files: rules are loaded after the first scrape.\n' +
    YAML.stringify(doc, { lineWidth: 0 })
  );
}

export interface RenderOptions {
  repoDir: string;
  outDir: string;
  /** Every compose `host:port` the harness allocated → local address. */
  addresses: AddressMap;
  /** Compose services that run locally; scrape targets on the others are dropped. */
  running: ReadonlySet<string>;
  scaling?: TimeScaling;
  prometheusCompat: PrometheusCompat;
  collector: boolean;
  jaeger: boolean;
  /** The synthetic probe's key, when the blackbox exporter runs. */
  probeKey?: string;
  /** Where the programs keep their data (Jaeger's Badger store goes under it). */
  dataDir?: string;
}

export interface Rendered {
  prometheus: {
    file: string;
    /** The same config without rule_files (see startStack: rules load after the first scrape). */
    bootText: string;
    fullText: string;
    ruleFiles: string[];
    /** Everything the rewrite changed beyond addresses, rules included: shown at start-up. */
    notes: string[];
  } & Pick<PrometheusResult, 'scrapeIntervalMs' | 'evaluationIntervalMs' | 'jobs'>;
  alertmanager: { file: string; notes: string[] };
  collector?: { files: string[] };
  jaeger?: { file: string };
  blackbox?: { file: string };
}

/** Reads the repo's configs and writes the rendered ones: the same for every component. */
interface ConfigIO {
  o: RenderOptions;
  mounts: [string, string][];
  read(rel: string): string;
  /** Writes `text` at `rel` under the output folder; returns the file's path. */
  write(rel: string, text: string): string;
  /** The addresses of the compose services that run locally. */
  runningAddresses: AddressMap;
}

export function renderConfigs(o: RenderOptions): Rendered {
  const io = configIO(o);
  const rendered: Rendered = {
    // Prometheus first: its scaled intervals set the floors of the rules.
    prometheus: renderPrometheus(io),
    alertmanager: renderAlertmanager(io),
  };
  if (o.collector) rendered.collector = { files: renderCollector(io) };
  if (o.probeKey !== undefined) rendered.blackbox = { file: renderBlackbox(io, o.probeKey) };
  if (o.jaeger) {
    const source = SOURCES.jaeger;
    let text = rewriteServiceConfig(io.read(source), 'jaeger', o.addresses, source);
    text = memoryLimitOf(o.repoDir, 'jaeger', text, source);
    if (o.dataDir) text = localBadgerDirectories(text, path.join(o.dataDir, 'jaeger'));
    rendered.jaeger = { file: io.write(source, text) };
  }
  return rendered;
}

function configIO(o: RenderOptions): ConfigIO {
  return {
    o,
    mounts: bindMounts(o.repoDir),
    read: (rel) => {
      const file = path.join(o.repoDir, rel);
      if (!existsSync(file))
        throw new Error(`${rel} is missing: the native stack needs the repo's own config`);
      return readFileSync(file, 'utf8');
    },
    write: (rel, text) => {
      const file = path.join(o.outDir, rel);
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, text);
      return file;
    },
    runningAddresses: Object.fromEntries(
      Object.entries(o.addresses).filter(([key]) =>
        o.running.has(key.slice(0, key.lastIndexOf(':'))),
      ),
    ),
  };
}

/** prometheus.yml and every rule file it names, rewritten (and scaled) together. */
function renderPrometheus({
  o,
  mounts,
  read,
  write,
  runningAddresses,
}: ConfigIO): Rendered['prometheus'] {
  const promDir = path.join(o.repoDir, path.dirname(SOURCES.prometheus));
  const rulePairs: { from: string; to: string }[] = [];
  const prom = rewritePrometheusConfig(read(SOURCES.prometheus), {
    addresses: runningAddresses,
    scaling: o.scaling,
    compat: o.prometheusCompat,
    source: SOURCES.prometheus,
    ruleFiles: (entry) =>
      expandGlob(localPath(entry, promDir, mounts)).map((from) => {
        const to = path.join(o.outDir, 'prometheus/rules', path.basename(from));
        rulePairs.push({ from, to });
        return to;
      }),
    readScrapeConfigFile: (entry) => readFileSync(localPath(entry, promDir, mounts), 'utf8'),
    readFileSdFiles: (entry) =>
      expandGlob(localPath(entry, promDir, mounts)).map((file) => readFileSync(file, 'utf8')),
  });
  const notes = [...prom.notes];
  const file = write('prometheus/prometheus.yml', prom.text);
  for (const { from, to } of rulePairs) {
    const r = rewriteRuleFile(readFileSync(from, 'utf8'), {
      scaling: o.scaling,
      scrapeIntervalMs: prom.scrapeIntervalMs,
      evaluationIntervalMs: prom.evaluationIntervalMs,
      compat: o.prometheusCompat,
      source: path.relative(o.repoDir, from),
    });
    notes.push(...r.notes);
    write(path.relative(o.outDir, to), r.text);
  }
  return {
    file,
    bootText: withoutRules(prom.text),
    fullText: prom.text,
    ruleFiles: rulePairs.map((p) => p.to),
    scrapeIntervalMs: prom.scrapeIntervalMs,
    evaluationIntervalMs: prom.evaluationIntervalMs,
    jobs: prom.jobs,
    notes,
  };
}

function renderAlertmanager({ o, mounts, read, write, runningAddresses }: ConfigIO) {
  const amDir = path.join(o.repoDir, path.dirname(SOURCES.alertmanager));
  const am = rewriteAlertmanagerConfig(read(SOURCES.alertmanager), {
    addresses: runningAddresses,
    scaling: o.scaling,
    source: SOURCES.alertmanager,
    resolvePath: (entry) => localPath(entry, amDir, mounts),
  });
  return { file: write('alertmanager/alertmanager.yml', am.text), notes: am.notes };
}

/** The Collector's files, in the order it merges them. */
function renderCollector({ o, read, write }: ConfigIO): string[] {
  return collectorSources()
    .filter((rel) => existsSync(path.join(o.repoDir, rel)))
    .map((rel) => {
      const text = rewriteServiceConfig(read(rel), 'otel-collector', o.addresses, rel, o.scaling);
      return write(rel, memoryLimitOf(o.repoDir, 'otel-collector', text, rel));
    });
}

/**
 * A Collector-shaped config (the Collector, Jaeger) with memory_limiter's percentages turned
 * into MiB of the compose service's memory limit. In a container they are shares of its cgroup
 * limit; a native process has none, so a percentage would be of the host's RAM (80 % of a
 * 32 GiB laptop). GOMEMLIMIT comes from the same compose service (nativeMemoryEnv).
 */
export function absoluteMemoryLimiter(text: string, limitMiB: number, source: string): string {
  const [header] = text.split('\n', 1);
  const doc = YAML.parse(text) as { processors?: Record<string, Record<string, unknown> | null> };
  let changed = false;
  for (const [name, cfg] of Object.entries(doc.processors ?? {})) {
    if (!name.split('/')[0].endsWith('memory_limiter') || !cfg) continue;
    for (const [pct, mib] of [
      ['limit_percentage', 'limit_mib'],
      ['spike_limit_percentage', 'spike_limit_mib'],
    ]) {
      if (typeof cfg[pct] !== 'number') continue;
      cfg[mib] = Math.floor((limitMiB * cfg[pct]) / 100);
      delete cfg[pct];
      changed = true;
    }
  }
  if (!changed) return text;
  const body = YAML.stringify(doc, { lineWidth: 0 });
  return header.startsWith('#') ? `${header}\n${body}` : `# ${source}\n${body}`;
}

function memoryLimitOf(repoDir: string, service: string, text: string, source: string): string {
  const limit = composeMemoryLimitMiB(repoDir, service);
  if (limit === undefined) return text;
  return absoluteMemoryLimiter(text, limit, source);
}

/** GOMEMLIMIT of a compose service, for its native process (Go's GC works harder before it). */
export function nativeMemoryEnv(repoDir: string, service: string): Record<string, string> {
  const limit = composeEnvironment(repoDir, service, 'GOMEMLIMIT');
  return limit ? { GOMEMLIMIT: limit } : {};
}

/**
 * The blackbox exporter's config with the probe key's file (PROBE_KEY_PATH in every module's
 * headers) pointed at `keyFile`.
 */
export function localBlackboxConfig(text: string, keyFile: string, source: string): string {
  const doc = YAML.parse(text) as {
    modules?: Record<string, { http?: { http_headers?: Record<string, { files?: string[] }> } }>;
  };
  let found = 0;
  for (const module of Object.values(doc.modules ?? {})) {
    for (const header of Object.values(module.http?.http_headers ?? {})) {
      header.files = header.files?.map((f) => (f === PROBE_KEY_PATH ? (found++, keyFile) : f));
    }
  }
  if (found === 0)
    throw new Error(`${source}: no module reads the probe key from ${PROBE_KEY_PATH}`);
  return (
    `# Generated by scripts/lib/stack/configs.ts from ${source} for local processes; do not edit.\n` +
    YAML.stringify(doc, { lineWidth: 0 })
  );
}

/** The probe's key in a file only this user can read, and the config that reads it. */
function renderBlackbox({ o, read, write }: ConfigIO, probeKey: string): string {
  const keyFile = path.join(o.outDir, 'blackbox/probe_api_key');
  mkdirSync(path.dirname(keyFile), { recursive: true });
  writeFileSync(keyFile, probeKey, { mode: 0o600 });
  chmodSync(keyFile, 0o600);
  return write(
    SOURCES.blackbox,
    localBlackboxConfig(read(SOURCES.blackbox), keyFile, SOURCES.blackbox),
  );
}

/**
 * Jaeger's config with every Badger store's directories moved under `dir` (compose keeps them
 * on the jaeger-data volume at /tmp/jaeger/...): the data of one `make native` in its state
 * folder, like the other programs'.
 */
export function localBadgerDirectories(text: string, dir: string): string {
  const [header] = text.split('\n', 1);
  const doc = YAML.parse(text) as {
    extensions?: { jaeger_storage?: { backends?: Record<string, Record<string, unknown>> } };
  };
  let moved = false;
  for (const [name, backend] of Object.entries(doc.extensions?.jaeger_storage?.backends ?? {})) {
    const badger = backend.badger as { directories?: Record<string, string> } | undefined;
    if (!badger?.directories) continue;
    for (const kind of Object.keys(badger.directories))
      badger.directories[kind] = path.join(dir, name, kind);
    moved = true;
  }
  if (!moved) return text;
  return `${header}\n${YAML.stringify(doc, { lineWidth: 0 })}`;
}
