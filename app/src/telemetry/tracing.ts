// The OpenTelemetry SDK for traces: OTLP/HTTP export through a batch processor, no automatic
// instrumentation (the service makes its own spans, see http/observe.ts), no OTel metrics or
// logs (Prometheus metrics come from prom-client, logs from winston).
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { BatchSpanProcessor, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace';
import { ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import type { Config } from '../config';
import { logger } from './logger';
import { SERVICE_VERSION } from '../version';
import { metrics } from './metrics';
import { createSampler } from './sampling';

const FAILURE_LOG_INTERVAL_MS = 30_000;

/** Counts every failed export; the exporter itself only reports it to a callback nobody reads. */
export class CountingSpanExporter implements SpanExporter {
  private lastFailureLog = 0;

  constructor(
    private readonly inner: SpanExporter,
    private readonly onFailure: (error: Error | undefined, spans: number) => void,
  ) {}

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    this.inner.export(spans, (result) => {
      if (result.code !== ExportResultCode.SUCCESS) {
        this.onFailure(result.error, spans.length);
        const now = Date.now();
        // A dead endpoint fails every batch: one warning per interval is enough to notice.
        if (now - this.lastFailureLog >= FAILURE_LOG_INTERVAL_MS) {
          this.lastFailureLog = now;
          logger.warn('span export failed', {
            spans: spans.length,
            error: result.error?.message ?? 'unknown error',
          });
        }
      }
      resultCallback(result);
    });
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
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
  const exporter = new CountingSpanExporter(
    new OTLPTraceExporter({
      url: config.telemetry.otlpTracesUrl,
      timeoutMillis: config.telemetry.exportTimeoutMs,
    }),
    () => metrics.telemetryExportFailures.labels('traces').inc(),
  );
  const processor = new BatchSpanProcessor({ exporter, ...config.telemetry.batch });
  const sdk = new NodeSDK({
    serviceName: config.telemetry.serviceName,
    resource: defaultResource().merge(
      resourceFromAttributes({ [ATTR_SERVICE_VERSION]: SERVICE_VERSION }),
    ),
    // OTEL_TRACES_SAMPLER / _ARG, read by config.ts, plus TRACES_REMOTE_PARENT_SAMPLED.
    sampler: createSampler(config.telemetry.sampler),
    spanProcessors: [processor],
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: [],
  });
  sdk.start();
  active = {
    forceFlush: () => processor.forceFlush(),
    shutdown: () => sdk.shutdown(),
  };
  return active;
}

/** The tracing started by instrument.ts, if any (none when the service runs without it). */
export function activeTracing(): Tracing | undefined {
  return active;
}
