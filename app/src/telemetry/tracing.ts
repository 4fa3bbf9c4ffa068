// The OpenTelemetry SDK for traces and logs: OTLP/HTTP export through batch processors, no
// automatic instrumentation (the service makes its own spans, see http/observe.ts), no OTel
// metrics (Prometheus metrics come from prom-client). Logs are winston's lines, also sent as
// OTLP log records with the same resource (log-export.ts).
import { logs } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import { NodeSDK } from '@opentelemetry/sdk-node';
import {
  BatchSpanProcessor,
  type ReadableSpan,
  type Span,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace';
import type { Context } from '@opentelemetry/api';
import { ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import type { Config } from '../config';
import { SERVICE_VERSION } from '../version';
import { CountingExporter } from './counting-exporter';
import { createLogProcessor, createLogTransport } from './log-export';
import { addTransport, removeTransport } from './logger';
import { metrics } from './metrics';
import { createSampler } from './sampling';
import { isUnexported } from './spans';

/** Hands every ended span to `inner`, except those left unexported (spans.ts: a log budget). */
class ExportedSpans implements SpanProcessor {
  constructor(private readonly inner: SpanProcessor) {}

  onStart(span: Span, parentContext: Context): void {
    this.inner.onStart(span, parentContext);
  }

  onEnd(span: ReadableSpan): void {
    if (!isUnexported(span)) this.inner.onEnd(span);
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
}

export interface Tracing {
  /** Export every finished span now; used by tests and before exit. */
  forceFlush(): Promise<void>;
  shutdown(): Promise<void>;
}

let active: Tracing | undefined;

export function startTracing(config: Config): Tracing {
  if (active) return active;
  const exporter = new CountingExporter<ReadableSpan>(
    new OTLPTraceExporter({
      url: config.telemetry.otlpTracesUrl,
      timeoutMillis: config.telemetry.exportTimeoutMs,
    }),
    'span',
    () => metrics.telemetryExportFailures.labels('traces').inc(),
  );
  const logProcessor = createLogProcessor(config);
  const processor = new BatchSpanProcessor({ exporter, ...config.telemetry.batch });
  const sdk = new NodeSDK({
    serviceName: config.telemetry.serviceName,
    resource: defaultResource().merge(
      resourceFromAttributes({ [ATTR_SERVICE_VERSION]: SERVICE_VERSION }),
    ),
    // OTEL_TRACES_SAMPLER / _ARG, read by config.ts, plus TRACES_REMOTE_PARENT_SAMPLED.
    sampler: createSampler(config.telemetry.sampler),
    spanProcessors: [new ExportedSpans(processor)],
    metricReaders: [],
    logRecordProcessors: logProcessor ? [logProcessor] : [],
    instrumentations: [],
  });
  sdk.start();
  const logTransport = logProcessor
    ? createLogTransport(config, logs.getLogger(config.telemetry.serviceName))
    : undefined;
  if (logTransport) addTransport(logTransport);
  active = {
    forceFlush: async () => {
      await processor.forceFlush();
      await logProcessor?.forceFlush();
    },
    shutdown: async () => {
      if (logTransport) removeTransport(logTransport);
      await sdk.shutdown();
    },
  };
  return active;
}

/** The tracing started by instrument.ts, if any (none when the service runs without it). */
export function activeTracing(): Tracing | undefined {
  return active;
}
