// The names a dashboard query may use, each derived from where it is defined rather than
// copied: the app's metric definitions, the prom-client the app runs, the recording rules,
// and (for the programs of the stack) the checked list in external-metrics.yml.
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { Rule, RuleFile } from '../../scripts/lib/helm/rules.ts';
import { REPO_ROOT } from '../../scripts/lib/repo.ts';
import { appModule } from './app-module.ts';

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary';

export interface MetricFamily {
  name: string;
  type: MetricType;
}

interface AppMetrics {
  metrics: { registry: { getMetricsAsJSON(): Promise<{ name: string; type: string }[]> } };
}

/**
 * The app's own metric families: its registry (app/src/telemetry/metrics.ts, loaded as the
 * service runs it) without prom-client's defaults. The whole-stack test sees the live /metrics.
 */
export const appFamilies = async (): Promise<MetricFamily[]> => {
  const { metrics } = appModule<AppMetrics>('telemetry/metrics.ts');
  const defaults = new Set((await defaultFamilies()).map((family) => family.name));
  const families = (await metrics.registry.getMetricsAsJSON())
    .filter(({ name }) => !defaults.has(name))
    .map(({ name, type }) => ({ name, type: type as MetricType }));
  if (families.length === 0) throw new Error('the app registers no metric of its own');
  return families;
};

interface PromClient {
  Registry: new () => { getMetricsAsJSON(): Promise<{ name: string; type: string }[]> };
  collectDefaultMetrics(options: { register: unknown }): void;
}

/**
 * prom-client's default process and Node.js metrics, as the app's own prom-client version
 * defines them (it is a dependency of app/, resolved from there), less the collectors the app
 * leaves out (telemetry/metrics.ts, PRIVATE_API_COLLECTORS).
 */
export const defaultFamilies = async (): Promise<MetricFamily[]> => {
  const client = createRequire(join(REPO_ROOT, 'app/package.json'))('prom-client') as PromClient;
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry });
  const { PRIVATE_API_COLLECTORS: leftOut } = appModule<{ PRIVATE_API_COLLECTORS: string[] }>(
    'telemetry/metrics.ts',
  );
  return (await registry.getMetricsAsJSON())
    .filter(({ name }) => !leftOut.includes(name))
    .map(({ name, type }) => ({ name, type: type as MetricType }));
};

/**
 * The series names Prometheus stores for a family scraped as OpenMetrics (the app always
 * serves OpenMetrics): counters end in _total, histograms become _bucket/_sum/_count.
 */
export const seriesNames = ({ name, type }: MetricFamily): string[] => {
  switch (type) {
    case 'counter':
      return [name.endsWith('_total') ? name : `${name}_total`];
    case 'histogram':
      return [`${name}_bucket`, `${name}_sum`, `${name}_count`];
    case 'summary':
      return [name, `${name}_sum`, `${name}_count`];
    case 'gauge':
      return [name];
  }
};

/** Every rule of every file in prometheus/rules/. */
export const rules = (): Rule[] => {
  const dir = join(REPO_ROOT, 'prometheus/rules');
  return readdirSync(dir)
    .filter((name) => name.endsWith('.yml') || name.endsWith('.yaml'))
    .flatMap((name) => {
      const file = parse(readFileSync(join(dir, name), 'utf8')) as RuleFile;
      return (file.groups ?? []).flatMap((group) => group.rules ?? []);
    });
};

/** Names the recording rules write. */
export const recordedNames = (): string[] =>
  rules().flatMap((rule) => (rule.record ? [rule.record] : []));

/** The checked names of the stack's programs, by program (external-metrics.yml). */
export const externalNames = (): Record<string, string[]> =>
  parse(readFileSync(join(REPO_ROOT, 'test/grafana/external-metrics.yml'), 'utf8')) as Record<
    string,
    string[]
  >;

/** Every name a dashboard may use, with where it comes from. */
export const knownMetrics = async (): Promise<Map<string, string>> => {
  const known = new Map<string, string>();
  const add = (names: string[], source: string) => {
    for (const name of names) if (!known.has(name)) known.set(name, source);
  };
  add((await appFamilies()).flatMap(seriesNames), 'app');
  add((await defaultFamilies()).flatMap(seriesNames), 'prom-client defaults');
  add(recordedNames(), 'recording rules');
  for (const [program, names] of Object.entries(externalNames())) add(names, program);
  return known;
};
