// Reads the repo's own configs, runs them through the rewrite (rewrite.ts) and writes the
// results where the native processes read them. Paths inside the configs are container paths
// under compose; the bind mounts in docker-compose.yml say which repo folder each one is.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { composeServices } from './compose-file.ts';
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
} as const;

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
  if (o.jaeger) {
    const text = io.read(SOURCES.jaeger);
    rendered.jaeger = {
      file: io.write(
        SOURCES.jaeger,
        rewriteServiceConfig(text, 'jaeger', o.addresses, SOURCES.jaeger),
      ),
    };
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
    .map((rel) =>
      write(rel, rewriteServiceConfig(read(rel), 'otel-collector', o.addresses, rel, o.scaling)),
    );
}
