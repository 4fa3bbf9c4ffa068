// The service's tracer and the helpers every span site shares.
import { trace, SpanStatusCode, type Span } from '@opentelemetry/api';
import { ATTR_ERROR_TYPE } from '@opentelemetry/semantic-conventions';
import { SERVICE_VERSION } from '../version';
import { scrubber } from './scrub';

// A proxy until the SDK registers (instrument.ts); a no-op when tracing is off.
export const tracer = trace.getTracer('agent-service', SERVICE_VERSION);

export function recordSpanError(span: Span, error: unknown, errorType?: string): void {
  if (!span.isRecording()) return;
  const type = errorType ?? (error instanceof Error ? error.name : 'Error');
  span.setAttribute(ATTR_ERROR_TYPE, type);
  // Messages can quote client input (a tool's expression, a path): scrubbed like log lines.
  const message = scrubber.string(error instanceof Error ? error.message : String(error));
  span.setStatus({ code: SpanStatusCode.ERROR, message });
  if (error instanceof Error) {
    span.recordException({
      name: error.name,
      message,
      stack: error.stack && scrubber.string(error.stack),
    });
  }
}

const unexported = new WeakSet<object>();

/** The span is ended as usual but never exported (a log budget left its request's line out). */
export function leaveUnexported(span: Span): void {
  unexported.add(span);
}

export function isUnexported(span: object): boolean {
  return unexported.has(span);
}

/** The trace and span ids of a span, when it is sampled (exemplars point at these). */
export function sampledTraceContext(span: Span) {
  if (!span.isRecording()) return undefined;
  const { traceId, spanId } = span.spanContext();
  return { trace_id: traceId, span_id: spanId };
}
