// The names a dashboard query may use, each derived from where it is defined rather than
// copied: the app's metric definitions, the prom-client the app runs, the recording rules,
// and (for the programs of the stack) the checked list in external-metrics.yml.
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { parse } from 'yaml';

const ROOT = new URL('../../', import.meta.url);

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary';

export interface MetricFamily {
  name: string;
  type: MetricType;
}

const CONSTRUCTORS: Record<string, MetricType> = {
  Counter: 'counter',
  Gauge: 'gauge',
  Histogram: 'histogram',
  Summary: 'summary',
};

/**
 * The app's own metric families, read from the file that defines them (every
 * `new Counter({ name: '…'`, Gauge, Histogram, Summary). Reading the source rather than a
 * running app keeps this a unit test; the whole-stack test sees the live /metrics.
 */
export const appFamilies = (
  source = readFileSync(new URL('app/src/telemetry/metrics.ts', ROOT), 'utf8'),
): MetricFamily[] => {
  const families = [
    ...source.matchAll(/new (Counter|Gauge|Histogram|Summary)\(\{\s*name:\s*'([a-zA-Z_:][\w:]*)'/g),
  ].map(([, constructor, name]) => ({
    name: name as string,
    type: CONSTRUCTORS[constructor as string] as MetricType,
  }));
  if (families.length === 0) {
    throw new Error('no metric definitions found in app/src/telemetry/metrics.ts');
  }
  // The GenAI conventions' histograms are named in the app's one GenAI names module.
  const genAi = readFileSync(new URL('app/src/telemetry/genai.ts', ROOT), 'utf8');
  for (const [, name] of genAi.matchAll(/\bname: '([a-z_]+)'/g)) {
    families.push({ name: name as string, type: 'histogram' });
  }
  return families;
};

interface PromClient {
  Registry: new () => { getMetricsAsJSON(): Promise<{ name: string; type: string }[]> };
  collectDefaultMetrics(options: { register: unknown }): void;
}

/**
 * prom-client's default process and Node.js metrics, as the app's own prom-client version
 * defines them (it is a dependency of app/, resolved from there).
 */
export const defaultFamilies = async (): Promise<MetricFamily[]> => {
  const client = createRequire(new URL('app/package.json', ROOT))('prom-client') as PromClient;
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry });
  return (await registry.getMetricsAsJSON()).map(({ name, type }) => ({
    name,
    type: type as MetricType,
  }));
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

interface RuleFile {
  groups?: {
    rules?: { record?: string; alert?: string; annotations?: Record<string, string> }[];
  }[];
}

/** Every rule of every file in prometheus/rules/. */
export const rules = (): NonNullable<NonNullable<RuleFile['groups']>[number]['rules']> => {
  const dir = new URL('prometheus/rules/', ROOT);
  return readdirSync(dir)
    .filter((name) => name.endsWith('.yml') || name.endsWith('.yaml'))
    .flatMap((name) => {
      const file = parse(readFileSync(new URL(name, dir), 'utf8')) as RuleFile;
      return (file.groups ?? []).flatMap((group) => group.rules ?? []);
    });
};

/** Names the recording rules write. */
export const recordedNames = (): string[] =>
  rules().flatMap((rule) => (rule.record ? [rule.record] : []));

/** The checked names of the stack's programs, by program (external-metrics.yml). */
export const externalNames = (): Record<string, string[]> =>
  parse(readFileSync(new URL('external-metrics.yml', import.meta.url), 'utf8')) as Record<
    string,
    string[]
  >;

/** Every name a dashboard may use, with where it comes from. */
export const knownMetrics = async (): Promise<Map<string, string>> => {
  const known = new Map<string, string>();
  const add = (names: string[], source: string) => {
    for (const name of names) if (!known.has(name)) known.set(name, source);
  };
  add(appFamilies().flatMap(seriesNames), 'app');
  add((await defaultFamilies()).flatMap(seriesNames), 'prom-client defaults');
  add(recordedNames(), 'recording rules');
  for (const [program, names] of Object.entries(externalNames())) add(names, program);
  return known;
};
