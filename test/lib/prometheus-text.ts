// Reading Prometheus the way the trace tests need it: a /metrics page in the text format, and
// the exemplars Prometheus stores for a query.
import assert from 'node:assert/strict';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const SAMPLE_RE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL_RE = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** The samples of a /metrics page in the Prometheus text format (`#` lines never match). */
export async function scrape(url: string): Promise<Sample[]> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  assert.ok(res.ok, `GET ${url}: ${res.status}`);
  return (await res.text()).split('\n').flatMap((line) => {
    const m = SAMPLE_RE.exec(line);
    if (!m) return [];
    const labels = Object.fromEntries(
      [...(m[2] ?? '').matchAll(LABEL_RE)].map((l) => [l[1], l[2]]),
    );
    return [{ name: m[1], labels, value: Number(m[3]) }];
  });
}

/** Sum of the samples of `name` whose labels include `match`; undefined when there is none. */
export function total(samples: Sample[], name: string, match: Record<string, string> = {}) {
  const found = samples.filter(
    (s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v),
  );
  return found.length ? found.reduce((n, s) => n + s.value, 0) : undefined;
}

export interface Exemplar {
  series: Record<string, string>;
  traceId: string;
  spanId: string;
}

export async function exemplars(
  promUrl: string,
  query: string,
  sinceMs: number,
): Promise<Exemplar[]> {
  const params = new URLSearchParams({
    query,
    start: String(sinceMs / 1000),
    end: String(Date.now() / 1000 + 60),
  });
  const res = await fetch(`${promUrl}/api/v1/query_exemplars?${params}`, {
    signal: AbortSignal.timeout(5_000),
  });
  if (!res.ok) assert.fail(`query_exemplars ${query}: ${res.status} ${await res.text()}`);
  const body = (await res.json()) as {
    data: {
      seriesLabels: Record<string, string>;
      exemplars: { labels: Record<string, string> }[];
    }[];
  };
  return body.data.flatMap((s) =>
    s.exemplars.map((e) => ({
      series: s.seriesLabels,
      traceId: e.labels.trace_id,
      spanId: e.labels.span_id,
    })),
  );
}
