// The service's log lines as OTLP log records, next to the JSON lines on stdout: a winston
// transport hands every line (already given its trace context and scrubbed by the logger's
// format) to the OpenTelemetry logs SDK, which batches them to the Collector's /v1/logs.
//
// Not @opentelemetry/winston-transport: its newest release (0.34) emits through the separate
// @opentelemetry/api-logs 0.223 line, whose global is not the one sdk-node 0.301 registers its
// LoggerProvider in (@opentelemetry/api 1.10 carries the logs API now), so every record went to
// a no-op logger (checked; docs/decisions/0011-log-store.md). This transport does the same
// mapping through @opentelemetry/api.
import {
  context,
  ROOT_CONTEXT,
  SeverityNumber,
  trace,
  TraceFlags,
  type AttributeValue,
  type Attributes,
  type Context,
  type Logger,
} from '@opentelemetry/api';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { BatchLogRecordProcessor, type LogRecordProcessor } from '@opentelemetry/sdk-logs';
import TransportStream from 'winston-transport';
import type { Config, LogsExportUnsampled } from '../config';
import { CountingExporter } from './counting-exporter';
import { metrics } from './metrics';

const SEVERITY: Record<string, SeverityNumber> = {
  error: SeverityNumber.ERROR,
  warn: SeverityNumber.WARN,
  info: SeverityNumber.INFO,
  http: SeverityNumber.DEBUG3,
  verbose: SeverityNumber.DEBUG2,
  debug: SeverityNumber.DEBUG,
  silly: SeverityNumber.TRACE,
};

// Carried by the record itself (body, severity, trace and span ids, time).
const NOT_ATTRIBUTES = new Set(['level', 'message', 'trace_id', 'span_id', 'timestamp']);

interface LogInfo {
  level: string;
  message: unknown;
  trace_id?: unknown;
  span_id?: unknown;
  [field: string]: unknown;
}

/**
 * The span the line was written under, from the ids the logger's format put on it: the active
 * span's context when it is that span (its sampled flag included), else those ids. Winston may
 * call a transport after the caller's context is gone; the ids are still right, and a line whose
 * flag is unknown counts as sampled.
 */
function recordContext(info: LogInfo): Context {
  if (typeof info.trace_id !== 'string' || typeof info.span_id !== 'string') return ROOT_CONTEXT;
  const active = context.active();
  const current = trace.getSpanContext(active);
  if (current?.spanId === info.span_id && current.traceId === info.trace_id) return active;
  return trace.setSpanContext(ROOT_CONTEXT, {
    traceId: info.trace_id,
    spanId: info.span_id,
    traceFlags: TraceFlags.SAMPLED,
  });
}

function inUnsampledTrace(ctx: Context): boolean {
  const spanContext = trace.getSpanContext(ctx);
  return spanContext !== undefined && (spanContext.traceFlags & TraceFlags.SAMPLED) === 0;
}

/** A flat attribute: nested values (errors, request details) as their JSON text. */
function attributeValue(value: unknown): AttributeValue {
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
    return value;
  }
  return JSON.stringify(value) ?? String(value);
}

export interface LogExportOptions {
  /** The lines of a trace the head sampler dropped that are exported: all, or WARN and up. */
  unsampled?: LogsExportUnsampled;
}

/** Hands each winston line to the OpenTelemetry logs SDK. */
export class OtlpLogTransport extends TransportStream {
  private readonly unsampledMinimum: SeverityNumber;

  /** `otelLogger`: from the SDK's LoggerProvider (the global one by default). */
  constructor(
    private readonly otelLogger: Logger,
    options: LogExportOptions = {},
  ) {
    super();
    this.unsampledMinimum =
      options.unsampled === 'warn' ? SeverityNumber.WARN : SeverityNumber.UNSPECIFIED;
  }

  override log(info: LogInfo, callback: () => void): void {
    const severityNumber = SEVERITY[info.level] ?? SeverityNumber.UNSPECIFIED;
    const recordCtx = recordContext(info);
    // Sampled out: the line stays on stdout, its record is not built at all (the saving).
    if (severityNumber < this.unsampledMinimum && inUnsampledTrace(recordCtx)) {
      callback();
      return;
    }
    const attributes: Attributes = {};
    for (const [key, value] of Object.entries(info)) {
      if (!NOT_ATTRIBUTES.has(key) && value !== undefined) attributes[key] = attributeValue(value);
    }
    this.otelLogger.emit({
      severityNumber,
      severityText: info.level,
      body: typeof info.message === 'string' ? info.message : JSON.stringify(info.message),
      attributes,
      context: recordCtx,
    });
    callback();
  }
}

/** The transport for the service's logger, as the configuration says (LOGS_EXPORT_UNSAMPLED). */
export function createLogTransport(config: Config, otelLogger: Logger): OtlpLogTransport {
  return new OtlpLogTransport(otelLogger, { unsampled: config.telemetry.logs.unsampled });
}

/** The batch processor for the SDK, or undefined when OTEL_LOGS_EXPORTER=none. */
export function createLogProcessor(config: Config): LogRecordProcessor | undefined {
  const { logs: settings, exportTimeoutMs } = config.telemetry;
  if (!settings.enabled) return undefined;
  const exporter = new CountingExporter(
    new OTLPLogExporter({ url: settings.otlpLogsUrl, timeoutMillis: exportTimeoutMs }),
    'log record',
    () => metrics.telemetryExportFailures.labels('logs').inc(),
  );
  return new BatchLogRecordProcessor({ exporter, ...settings.batch });
}
