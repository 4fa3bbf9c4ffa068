// Structured logs: one JSON object per line on stdout (and, through log-export.ts, as OTLP log
// records), carrying the request, trace and span of the work that wrote them, scrubbed of
// secrets and personal data.
import type { Writable } from 'node:stream';
import {
  context,
  createContextKey,
  isSpanContextValid,
  trace,
  type Context,
} from '@opentelemetry/api';
import winston from 'winston';
import type { LogLevel } from '../config';
import { scrubber } from './scrub';

const REQUEST_ID = createContextKey('agent-service request id');

/** `ctx` carrying the request id: every line logged under it gets that request_id. */
export function withRequestId(ctx: Context, requestId: string): Context {
  return ctx.setValue(REQUEST_ID, requestId);
}

const traceContext = winston.format((info) => {
  if (info.request_id === undefined) {
    const requestId = context.active().getValue(REQUEST_ID);
    if (typeof requestId === 'string') info.request_id = requestId;
  }
  if (info.trace_id === undefined) {
    const span = trace.getActiveSpan();
    if (span) {
      const spanContext = span.spanContext();
      if (isSpanContextValid(spanContext)) {
        info.trace_id = spanContext.traceId;
        info.span_id = spanContext.spanId;
      }
    }
  }
  return info;
});

function serialiseError(error: Error): Record<string, unknown> {
  return { type: error.name, message: error.message, stack: error.stack };
}

const scrub = winston.format((info) => {
  // winston keeps its level and message under symbols too; only the visible fields are scrubbed.
  for (const key of Object.keys(info)) {
    const value = info[key];
    if (value instanceof Error) info[key] = scrubber.deep(serialiseError(value));
    else if (typeof value === 'string') info[key] = scrubber.string(value);
    else if (value !== null && typeof value === 'object') info[key] = scrubber.deep(value);
  }
  return info;
});

function createTransport(stream: Writable) {
  return new winston.transports.Stream({ stream });
}

export const logger = winston.createLogger({
  level: 'info',
  format: winston.format.combine(
    traceContext(),
    scrub(),
    winston.format.timestamp(),
    winston.format.json(),
  ),
  transports: [createTransport(process.stdout)],
});

// Transports besides the output stream (the OTLP log export): they outlive configureLogger.
const extraTransports = new Set<winston.transport>();

export function configureLogger(options: { level: LogLevel; stream?: Writable }): void {
  logger.level = options.level;
  if (options.stream) {
    logger.clear();
    logger.add(createTransport(options.stream));
    for (const transport of extraTransports) logger.add(transport);
  }
}

/** Also hand every line to `transport` (after the format: trace context added, scrubbed). */
export function addTransport(transport: winston.transport): void {
  extraTransports.add(transport);
  logger.add(transport);
}

export function removeTransport(transport: winston.transport): void {
  extraTransports.delete(transport);
  logger.remove(transport);
}
