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
  ROOT_CONTEXT,
  SeverityNumber,
  trace,
  TraceFlags,
  type AttributeValue,
  type Attributes,
  type Logger,
} from '@opentelemetry/api';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { BatchLogRecordProcessor, type LogRecordProcessor } from '@opentelemetry/sdk-logs';
import TransportStream from 'winston-transport';
import type { Config } from '../config';
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
 * The span the line was written under, from the ids the logger's format put on it: winston
 * may call a transport after the caller's context is gone, the ids are still right.
 */
function recordContext(info: LogInfo) {
  if (typeof info.trace_id !== 'string' || typeof info.span_id !== 'string') return ROOT_CONTEXT;
  const active = trace.getActiveSpan()?.spanContext();
  const traceFlags = active?.traceId === info.trace_id ? active.traceFlags : TraceFlags.SAMPLED;
  return trace.setSpanContext(ROOT_CONTEXT, {
    traceId: info.trace_id,
    spanId: info.span_id,
    traceFlags,
  });
}

/** A flat attribute: nested values (errors, request details) as their JSON text. */
function attributeValue(value: unknown): AttributeValue {
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
    return value;
  }
  return JSON.stringify(value) ?? String(value);
}

/** Hands each winston line to the OpenTelemetry logs SDK. */
export class OtlpLogTransport extends TransportStream {
  /** `otelLogger`: from the SDK's LoggerProvider (the global one by default). */
  constructor(private readonly otelLogger: Logger) {
    super();
  }

  override log(info: LogInfo, callback: () => void): void {
    const attributes: Attributes = {};
    for (const [key, value] of Object.entries(info)) {
      if (!NOT_ATTRIBUTES.has(key) && value !== undefined) attributes[key] = attributeValue(value);
    }
    this.otelLogger.emit({
      severityNumber: SEVERITY[info.level] ?? SeverityNumber.UNSPECIFIED,
      severityText: info.level,
      body: typeof info.message === 'string' ? info.message : JSON.stringify(info.message),
      attributes,
      context: recordContext(info),
    });
    callback();
  }
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
