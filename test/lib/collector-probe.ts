// The Collector of the native stack as the trace and log tests see it: its merged config, the
// exporter that sends to Jaeger, OTLP/JSON requests to it, and a probe Collector that provokes
// the counters only a failure creates.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { waitUntil } from '../../scripts/lib/wait.ts';
import { freePorts } from '../../scripts/lib/ports.ts';
import type { Stack } from '../../scripts/lib/stack/stack.ts';
import { Supervisor } from '../../scripts/lib/supervisor.ts';
import { SPAN_KIND } from './jaeger-client.ts';
import { scrape } from './prometheus-text.ts';

export type Obj = Record<string, unknown>;
export const isObj = (v: unknown): v is Obj =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** The Collector's merge of layered config files: maps key by key, anything else replaced. */
function merge(a: unknown, b: unknown): unknown {
  if (!isObj(a) || !isObj(b)) return b === undefined ? a : b;
  const out: Obj = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = merge(a[k], v);
  return out;
}

export function collectorConfig(s: Stack): Obj {
  const files = s.rendered.collector?.files ?? [];
  return files.reduce<Obj>(
    (acc, f) => merge(acc, YAML.parse(readFileSync(f, 'utf8')) ?? {}) as Obj,
    {},
  );
}

/** The exporter that sends to Jaeger's OTLP port, as the rendered config names it. */
export function jaegerExporter(s: Stack): string {
  const jaegerOtlp = s.addresses['jaeger:4317']?.[0];
  const exporters = collectorConfig(s).exporters;
  const found = Object.entries(isObj(exporters) ? exporters : {}).find(
    ([, cfg]) => isObj(cfg) && cfg.endpoint === jaegerOtlp,
  );
  assert.ok(found, `no Collector exporter sends to Jaeger (${jaegerOtlp})`);
  return found[0];
}

export function logOf(s: Stack, name: string): string {
  const p = s.processes().find((m) => m.name === name);
  assert.ok(p, `${name} was not started`);
  return p.logFile;
}

export const count = (file: string, text: string) =>
  readFileSync(file, 'utf8').split(text).length - 1;

/** One OTLP/JSON request with one span; `attributes` as OTLP key-values. */
export function otlpSpan(service: string, name: string, attributes: Obj[] = []): string {
  const now = String(BigInt(Date.now()) * 1_000_000n);
  return JSON.stringify({
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
        scopeSpans: [
          {
            spans: [
              {
                traceId: randomUUID().replaceAll('-', ''),
                spanId: randomUUID().replaceAll('-', '').slice(0, 16),
                name,
                kind: SPAN_KIND.INTERNAL,
                startTimeUnixNano: now,
                endTimeUnixNano: now,
                attributes,
              },
            ],
          },
        ],
      },
    ],
  });
}

/** One OTLP/JSON request with one log record. */
export const otlpLogRecord = (text: string): string =>
  JSON.stringify({
    resourceLogs: [{ scopeLogs: [{ logRecords: [{ body: { stringValue: text } }] }] }],
  });

export const postOtlp = (url: string, body: string, signal: 'traces' | 'logs' = 'traces') =>
  fetch(`${url}/v1/${signal}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
    signal: AbortSignal.timeout(10_000),
  });

interface ProbePorts {
  receiverPort: number;
  closedPort: number;
  metricsPort: number;
}

/** What a probe Collector provokes: its exporters to a closed port, and how it makes them fail. */
interface ProbeSpec {
  pipeline: 'traces' | 'logs';
  /** Processors of the pipeline, in order (none by default). */
  processors?: Obj;
  exporters: (closedPort: number) => Obj;
  /** Requests to the receiver until the metrics page has the failure; the names it serves. */
  provoke: (receiverUrl: string, metricsUrl: string) => Promise<Set<string>>;
}

/**
 * A second Collector of the stack's build, with the telemetry section of the stack's rendered
 * config (the reader decides the names: suffixes, units) and the spec's exporters, run until
 * the spec has provoked its failure counters. Returns the metric names it then serves.
 */
async function runProbe(s: Stack, stateDir: string, spec: ProbeSpec): Promise<Set<string>> {
  const binary = s.binaries['otel-collector'];
  assert.ok(binary, 'the Collector binary');
  const [receiverPort, closedPort, metricsPort] = await freePorts(3);
  const dir = path.join(stateDir, 'probe-collector');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'config.yaml');
  const ports = { receiverPort, closedPort, metricsPort };
  writeFileSync(file, YAML.stringify(probeConfig(s, spec, ports)));
  const metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
  const supervisor = new Supervisor();
  try {
    await supervisor.start({
      name: 'probe-collector',
      command: binary.path,
      args: [`--config=${file}`],
      logFile: path.join(dir, 'otelcol.log'),
      ports: [receiverPort, metricsPort],
      ready: async () => (await fetch(metricsUrl, { signal: AbortSignal.timeout(2000) })).ok,
      readyTimeoutMs: 30_000,
    });
    return await spec.provoke(`http://127.0.0.1:${receiverPort}`, metricsUrl);
  } finally {
    await supervisor.stopAll();
  }
}

const metricNamesAt = async (metricsUrl: string) =>
  new Set((await scrape(metricsUrl)).map((x) => x.name));

/**
 * The Collector's counter of refused enqueues: an exporter with a one-request queue to a
 * closed port, and spans until one is refused. Returns the metric names it then serves.
 */
export function probeEnqueueFailure(s: Stack, stateDir: string): Promise<Set<string>> {
  return runProbe(s, stateDir, {
    pipeline: 'traces',
    exporters: (closedPort) => ({
      'otlp_grpc/closed': {
        endpoint: `127.0.0.1:${closedPort}`,
        tls: { insecure: true },
        sending_queue: { enabled: true, num_consumers: 1, queue_size: 1 },
        // Long enough that the one consumer holds the first request for the whole probe.
        retry_on_failure: { enabled: true, initial_interval: '30s' },
      },
    }),
    provoke: async (receiverUrl, metricsUrl) => {
      await fillTheQueue(receiverUrl);
      return waitUntil('the probe Collector to count the refused enqueue', 10_000, async () => {
        const names = await metricNamesAt(metricsUrl);
        return [...names].some((n) => n.startsWith('otelcol_exporter_enqueue_failed')) && names;
      });
    },
  });
}

/**
 * The counters of a logs pipeline created only at a first failure (exporterhelper counts send
 * and enqueue failures only when they happen): one exporter to a closed port without retries
 * (fails at once) and one with a one-request queue waiting on retries (refuses the third
 * request). Returns the metric names it then serves.
 */
export function probeLogExportFailures(s: Stack, stateDir: string): Promise<Set<string>> {
  const closed = (closedPort: number) => ({
    endpoint: `http://127.0.0.1:${closedPort}`,
    sending_queue: { enabled: true, num_consumers: 1, queue_size: 1 },
  });
  return runProbe(s, stateDir, {
    pipeline: 'logs',
    exporters: (closedPort) => ({
      'otlp_http/fails': { ...closed(closedPort), retry_on_failure: { enabled: false } },
      'otlp_http/full': {
        ...closed(closedPort),
        retry_on_failure: { enabled: true, initial_interval: '30s' },
      },
    }),
    provoke: (receiverUrl, metricsUrl) =>
      waitUntil(
        'the failure counters of the logs exporters',
        20_000,
        async () => {
          await (await postOtlp(receiverUrl, otlpLogRecord('probe'), 'logs')).arrayBuffer();
          const names = await metricNamesAt(metricsUrl);
          const both = ['send_failed', 'enqueue_failed'].every((k) =>
            [...names].some((n) => n.startsWith(`otelcol_exporter_${k}_log_records`)),
          );
          return both ? names : undefined;
        },
        200,
      ),
  });
}

/**
 * The tail sampler's counters, which exist only where it runs (COLLECTOR_TAIL_SAMPLING=on): its
 * processor as the repo configures it (otel-collector/config.yaml), fed spans until its counter
 * of traces dropped before their decision is on the metrics page (it adds to it at every
 * decision tick). Returns the metric names it then serves.
 */
export function probeTailSampling(s: Stack, stateDir: string): Promise<Set<string>> {
  const processors = collectorConfig(s).processors;
  const tailSampling = isObj(processors) ? processors.tail_sampling : undefined;
  assert.ok(isObj(tailSampling), 'otel-collector/config.yaml configures tail_sampling');
  return runProbe(s, stateDir, {
    pipeline: 'traces',
    processors: { tail_sampling: tailSampling },
    exporters: (closedPort) => ({
      'otlp_grpc/closed': {
        endpoint: `127.0.0.1:${closedPort}`,
        tls: { insecure: true },
        retry_on_failure: { enabled: false },
      },
    }),
    provoke: (receiverUrl, metricsUrl) =>
      waitUntil(
        "the tail sampler's counters",
        20_000,
        async () => {
          await (await postOtlp(receiverUrl, otlpSpan('e2e-probe', 'tail-sampled'))).arrayBuffer();
          const names = await metricNamesAt(metricsUrl);
          return [...names].some((n) =>
            n.includes('tail_sampling_sampling_trace_dropped_too_early'),
          )
            ? names
            : undefined;
        },
        500,
      ),
  });
}

/** Spans posted one by one until the one-request queue refuses one (at most five). */
async function fillTheQueue(receiverUrl: string): Promise<void> {
  const statuses: number[] = [];
  for (let i = 0; i < 5 && !statuses.some((x) => x >= 400); i++) {
    const res = await postOtlp(receiverUrl, otlpSpan('e2e-probe', `probe ${i}`));
    await res.arrayBuffer();
    statuses.push(res.status);
  }
  assert.ok(
    statuses.some((x) => x >= 400),
    `a full queue refuses a request (statuses ${statuses.join(', ')})`,
  );
}

/** The probe's config: an OTLP receiver, the spec's exporters in its pipeline, the stack's telemetry. */
function probeConfig(s: Stack, spec: ProbeSpec, ports: ProbePorts): Obj {
  const exporters = spec.exporters(ports.closedPort);
  const processors = spec.processors ?? {};
  return {
    receivers: { otlp: { protocols: { http: { endpoint: `127.0.0.1:${ports.receiverPort}` } } } },
    ...(spec.processors ? { processors } : {}),
    exporters,
    service: {
      pipelines: {
        [spec.pipeline]: {
          receivers: ['otlp'],
          ...(spec.processors ? { processors: Object.keys(processors) } : {}),
          exporters: Object.keys(exporters),
        },
      },
      telemetry: telemetryOnPort(s, ports.metricsPort),
    },
  };
}

/** The telemetry section of the stack's Collector, its Prometheus readers moved to `port`. */
function telemetryOnPort(s: Stack, port: number): Obj {
  const service = collectorConfig(s).service;
  const telemetry = isObj(service) && isObj(service.telemetry) ? service.telemetry : {};
  const metrics = isObj(telemetry.metrics) ? telemetry.metrics : {};
  let readers = 0;
  const moved = (Array.isArray(metrics.readers) ? metrics.readers : []).map((r: unknown) => {
    const prometheus =
      isObj(r) && isObj(r.pull) && isObj(r.pull.exporter) ? r.pull.exporter.prometheus : undefined;
    if (!isObj(prometheus)) return r;
    readers++;
    return { pull: { exporter: { prometheus: { ...prometheus, host: '127.0.0.1', port } } } };
  });
  assert.ok(
    readers > 0,
    "the stack's Collector config has a Prometheus reader for its own metrics",
  );
  return { ...telemetry, metrics: { ...metrics, readers: moved } };
}
