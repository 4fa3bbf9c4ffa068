// The OpenMetrics text of the registry, byte for byte what prom-client's Registry.metrics()
// writes (test/metrics.test.ts compares the two), in a fraction of its time at a fork's scale
// (72 agents and 16 models: about 10,600 series; docs/bench). prom-client formats every label
// set of every series again on each scrape; here a label set is formatted once and kept for as
// long as its object lives (prom-client keeps one object per series), and a histogram's buckets
// reuse their series' formatted labels. The values themselves come from each metric's own
// get(), so collectors and aggregation stay prom-client's.
import type { Metric, OpenMetricsContentType, Registry } from 'prom-client';

interface Exemplar {
  labelSet: Record<string, string | number>;
  value: number;
  timestamp: number;
}

interface Value {
  labels: Record<string, string | number>;
  sharedLabels?: Record<string, string | number>;
  value: number;
  metricName?: string;
  exemplar?: Exemplar | null;
}

interface Snapshot {
  name: string;
  help: string;
  type: string;
  values?: Value[];
}

type Readable = Metric & {
  get(): Promise<Snapshot>;
  /** Histograms and summaries: buckets with the series' labels as a separate, kept object. */
  getForPromString?(): Promise<Snapshot>;
};

const escapeString = (text: string) => text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');

function escapeLabelValue(value: string | number): string {
  return typeof value === 'string' ? escapeString(value).replace(/"/g, '\\"') : String(value);
}

function valueText(value: number): string {
  if (Number.isNaN(value)) return 'Nan';
  if (!Number.isFinite(value)) return value < 0 ? '-Inf' : '+Inf';
  return `${value}`;
}

function formatLabels(labels: Record<string, string | number>, exclude?: object): string {
  let text = '';
  for (const name in labels) {
    if (exclude !== undefined && Object.hasOwn(exclude, name)) continue;
    text += `${text === '' ? '' : ','}${name}="${escapeLabelValue(labels[name]!)}"`;
  }
  return text;
}

const formatted = new WeakMap<object, string>();

/** A label set's text, formatted once per object. */
function cachedLabels(labels: Record<string, string | number>): string {
  let text = formatted.get(labels);
  if (text === undefined) {
    text = formatLabels(labels);
    formatted.set(labels, text);
  }
  return text;
}

/** A bucket's own labels (its `le`, nothing else but for custom collectors), not its series'. */
function bucketLabels(labels: Record<string, string | number>, shared: object): string {
  const keys = Object.keys(labels);
  if (keys.length === 1 && keys[0] === 'le') return `le="${escapeLabelValue(labels.le!)}"`;
  return formatLabels(labels, shared);
}

function sampleLine(name: string, counter: boolean, v: Value): string {
  const metricName = counter ? `${v.metricName ?? name}_total` : (v.metricName ?? name);
  const shared = v.sharedLabels;
  let labels: string;
  if (shared === undefined) labels = cachedLabels(v.labels);
  else {
    // A bucket: its own `le` first, then its series' labels, as prom-client orders them.
    const own = bucketLabels(v.labels, shared);
    const series = cachedLabels(shared);
    labels = own === '' ? series : series === '' ? own : `${own},${series}`;
  }
  let line = `${metricName}${labels === '' ? '' : `{${labels}}`} ${valueText(v.value)}`;
  if (v.exemplar) {
    const { labelSet, value, timestamp } = v.exemplar;
    line += ` # {${formatLabels(labelSet)}} ${valueText(value)} ${timestamp}`;
  }
  return line;
}

/** Appends a family's lines: its HELP and TYPE, then one line per sample. */
function writeFamily(snapshot: Snapshot, lines: string[]): void {
  const counter = snapshot.type === 'counter';
  // OpenMetrics names a counter's family without `_total` and its sample with it.
  const name = escapeString(counter ? snapshot.name.replace(/_total$/, '') : snapshot.name);
  lines.push(`# HELP ${name} ${escapeString(snapshot.help)}`, `# TYPE ${name} ${snapshot.type}`);
  for (const value of snapshot.values ?? []) lines.push(sampleLine(name, counter, value));
}

/** The registry as OpenMetrics text. */
export async function renderOpenMetrics(
  registry: Registry<OpenMetricsContentType>,
): Promise<string> {
  const metrics = registry.getMetricsAsArray() as unknown as Readable[];
  const snapshots = await Promise.all(
    metrics.map((metric) => (metric.getForPromString ?? metric.get).call(metric)),
  );
  const lines: string[] = [];
  for (const snapshot of snapshots) writeFamily(snapshot, lines);
  lines.push('# EOF\n');
  return lines.join('\n');
}
