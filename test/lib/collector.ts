// The Collector and Jaeger configs (both OpenTelemetry Collector shaped) as the config tests see
// them: several files merged the way the Collector merges `--config` files, and the rules the
// stack relies on (docs/architecture.md), each check returning problems as sentences.

import { isObj, type Json, type Obj } from './compose.ts';

export { parseYamlMapping } from '../../scripts/lib/yaml.ts';

/** confmap's merge: mappings merge key by key, anything else (lists too) is replaced. */
export function mergeConfigs(...docs: Obj[]): Obj {
  const merge = (a: Json, b: Json): Json => {
    if (isObj(a) && isObj(b)) {
      const out: Obj = { ...a };
      for (const [k, v] of Object.entries(b)) out[k] = k in out ? merge(out[k], v) : v;
      return out;
    }
    return b;
  };
  return docs.reduce<Obj>((acc, d) => merge(acc, d) as Obj, {});
}

function obj(v: Json | undefined): Obj {
  return isObj(v) ? v : {};
}

function list(v: Json | undefined): string[] {
  return Array.isArray(v) ? v.map(String) : [];
}

/** "otlp_grpc/jaeger" → "otlp_grpc" */
export function componentType(id: string): string {
  return id.split('/')[0];
}

export interface Pipeline {
  id: string;
  receivers: string[];
  processors: string[];
  exporters: string[];
}

export function pipelines(cfg: Obj): Pipeline[] {
  return Object.entries(obj(obj(cfg.service).pipelines)).map(([id, p]) => ({
    id,
    receivers: list(obj(p).receivers),
    processors: list(obj(p).processors),
    exporters: list(obj(p).exporters),
  }));
}

/**
 * The stack's order in every pipeline: memory_limiter first (it refuses data before anything
 * buffers it), batch last, memory_limiter checking every second. That each pipeline names
 * defined components is `otelcol validate`'s (otel-collector.test.ts) and Jaeger's start-up's
 * (jaeger.test.ts) to say.
 */
export function checkPipelinesWellFormed(cfg: Obj): string[] {
  const problems: string[] = [];
  const all = pipelines(cfg);
  if (all.length === 0) problems.push('no pipelines');
  for (const p of all) {
    if (componentType(p.processors[0] ?? '') !== 'memory_limiter') {
      problems.push(`${p.id}: memory_limiter is not the first processor`);
    }
    const batch = p.processors.findIndex((x) => componentType(x) === 'batch');
    if (batch !== -1 && batch !== p.processors.length - 1) {
      problems.push(`${p.id}: batch must come after every other processor (sampling included)`);
    }
  }
  for (const [id, ml] of Object.entries(obj(cfg.processors))) {
    if (componentType(id) === 'memory_limiter' && obj(ml).check_interval !== '1s') {
      problems.push(`${id}: check_interval should be 1s`);
    }
  }
  return problems;
}

/** The Collector's whole traces path: OTLP in, span metrics out to Prometheus, spans to Jaeger. */
export function checkCollectorTraces(cfg: Obj): string[] {
  const problems = checkPipelinesWellFormed(cfg);
  const all = pipelines(cfg);
  const traces = all.filter((p) => componentType(p.id) === 'traces');
  const otlpIn = traces.filter((p) => p.receivers.some((r) => componentType(r) === 'otlp'));
  if (otlpIn.length === 0) problems.push('no traces pipeline receives OTLP');

  const otlp = obj(obj(cfg.receivers).otlp);
  if (!isObj(obj(otlp.protocols).grpc) || !isObj(obj(otlp.protocols).http)) {
    problems.push('the otlp receiver must accept both gRPC and HTTP');
  }

  const jaegerExporters = Object.entries(obj(cfg.exporters)).filter(
    ([id, e]) =>
      componentType(id).startsWith('otlp') && /jaeger:4317$/.test(String(obj(e).endpoint)),
  );
  if (jaegerExporters.length === 0) problems.push('no OTLP exporter sends to jaeger:4317');
  for (const [id, e] of jaegerExporters) {
    if (obj(obj(e).sending_queue).enabled !== true) problems.push(`${id}: sending_queue is off`);
    if (obj(obj(e).retry_on_failure).enabled !== true)
      problems.push(`${id}: retry_on_failure is off`);
    if (!otlpIn.some((p) => p.exporters.includes(id))) {
      problems.push(`${id}: no OTLP traces pipeline exports to it`);
    }
  }

  const spanmetrics = Object.keys(obj(cfg.connectors)).filter((id) =>
    ['span_metrics', 'spanmetrics'].includes(componentType(id)),
  );
  if (spanmetrics.length !== 1) problems.push('expected exactly one span metrics connector');
  for (const id of spanmetrics) {
    const feeding = otlpIn.filter((p) => p.exporters.includes(id));
    if (feeding.length === 0) problems.push(`${id}: no OTLP traces pipeline feeds it`);
    for (const p of feeding) {
      if (p.processors.some((x) => componentType(x) === 'tail_sampling')) {
        problems.push(`${p.id}: tail sampling before span metrics would under-count every rate`);
      }
    }
    const out = all.filter((p) => p.receivers.includes(id) && componentType(p.id) === 'metrics');
    const toProm = out.some((p) => p.exporters.some((e) => componentType(e) === 'prometheus'));
    if (!toProm) problems.push(`${id}: its metrics reach no prometheus exporter`);
    const c = obj(obj(cfg.connectors)[id]);
    if (obj(c.exemplars).enabled !== true) problems.push(`${id}: exemplars are off`);
  }
  for (const [id, e] of Object.entries(obj(cfg.exporters))) {
    if (componentType(id) === 'prometheus' && obj(e).enable_open_metrics !== true) {
      problems.push(`${id}: enable_open_metrics is off, so exemplars are not exposed`);
    }
  }

  const hc = Object.entries(obj(cfg.extensions)).find(
    ([id]) => componentType(id) === 'health_check',
  );
  if (!hc) problems.push('no health_check extension');
  else {
    if (obj(hc[1]).endpoint !== '0.0.0.0:13133') problems.push(`${hc[0]}: not on 0.0.0.0:13133`);
    if (!list(obj(cfg.service).extensions).includes(hc[0])) {
      problems.push(`${hc[0]}: defined but not enabled in service.extensions`);
    }
  }
  problems.push(...checkOwnMetricsReader(cfg, 'the Collector'));
  return problems;
}

/** Own metrics on 0.0.0.0:8888 with the names of the default reader: since Collector v0.123 the
 * internal metrics listen on localhost:8888 unless a reader declares host 0.0.0.0. */
export function checkOwnMetricsReader(cfg: Obj, who: string): string[] {
  const readers = obj(obj(obj(cfg.service).telemetry).metrics).readers;
  const prom = (Array.isArray(readers) ? readers : [])
    .map((r) => obj(obj(obj(obj(r).pull).exporter).prometheus))
    .find((p) => p.port !== undefined);
  if (!prom) return [`${who}: no Prometheus pull reader for its own metrics`];
  const problems: string[] = [];
  if (prom.host !== '0.0.0.0' || prom.port !== 8888) {
    problems.push(
      `${who}: own metrics on ${String(prom.host)}:${String(prom.port)}, not 0.0.0.0:8888`,
    );
  }
  if (prom.without_type_suffix !== true || prom.without_units !== true) {
    problems.push(
      `${who}: without_type_suffix and without_units must be true (names as the alert rules use)`,
    );
  }
  return problems;
}

/** Tail sampling: defined, off in the base config, and (with the overlay) only before Jaeger. */
export function checkTailSampling(base: Obj, withOverlay: Obj): string[] {
  const problems: string[] = [];
  const ids = Object.keys(obj(base.processors)).filter(
    (id) => componentType(id) === 'tail_sampling',
  );
  if (ids.length === 0) return ['no tail_sampling processor is defined'];
  const used = (cfg: Obj) =>
    pipelines(cfg).filter((p) => p.processors.some((x) => ids.includes(x)));
  if (used(base).length > 0) problems.push('tail sampling is on in the base config (must be off)');
  const on = used(withOverlay);
  if (on.length === 0) problems.push('the tail-sampling overlay does not switch it on');
  for (const p of on) {
    if (!p.exporters.some((e) => /jaeger/.test(e))) {
      problems.push(`${p.id}: tail sampling in a pipeline that does not export to Jaeger`);
    }
    if (p.exporters.some((e) => ['span_metrics', 'spanmetrics'].includes(componentType(e)))) {
      problems.push(`${p.id}: tail sampling before span metrics`);
    }
  }
  problems.push(...checkPipelinesWellFormed(withOverlay));
  return problems;
}

/** Histogram bucket boundaries of the span metrics connector, in seconds. */
export function spanMetricsBucketsSeconds(cfg: Obj): number[] {
  const connector = Object.entries(obj(cfg.connectors)).find(([id]) =>
    ['span_metrics', 'spanmetrics'].includes(componentType(id)),
  );
  const buckets = list(obj(obj(obj(connector?.[1]).histogram).explicit).buckets);
  return buckets.map((b) => {
    const m = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(b);
    if (!m) throw new Error(`cannot read bucket "${b}"`);
    return Number(m[1]) * { ms: 0.001, s: 1, m: 60 }[m[2] as 'ms' | 's' | 'm'];
  });
}
