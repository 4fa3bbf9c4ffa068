// The service's tracer and a helper that ends a span and records its error in one place.
import {
  context,
  trace,
  SpanStatusCode,
  type Attributes,
  type Span,
  type SpanKind,
} from '@opentelemetry/api';
import { ATTR_ERROR_TYPE } from '@opentelemetry/semantic-conventions';
import { SERVICE_VERSION } from './metrics';

// A proxy until the SDK registers (instrument.ts); a no-op when tracing is off.
export const tracer = trace.getTracer('agent-service', SERVICE_VERSION);

export function recordSpanError(span: Span, error: unknown, errorType?: string): void {
  if (!span.isRecording()) return;
  const type = errorType ?? (error instanceof Error ? error.name : 'Error');
  span.setAttribute(ATTR_ERROR_TYPE, type);
  span.setStatus({
    code: SpanStatusCode.ERROR,
    message: error instanceof Error ? error.message : String(error),
  });
  if (error instanceof Error) span.recordException(error);
}

/** Runs `work` in a new active child span; the span ends when the promise settles. */
export async function withSpan<T>(
  name: string,
  kind: SpanKind,
  attributes: Attributes,
  work: (span: Span) => Promise<T>,
): Promise<T> {
  const span = tracer.startSpan(name, { kind, attributes });
  try {
    return await context.with(trace.setSpan(context.active(), span), () => work(span));
  } catch (error) {
    recordSpanError(span, error);
    throw error;
  } finally {
    span.end();
  }
}

/** The trace and span ids of the active span, when it is sampled (exemplars point at these). */
export function sampledTraceContext(span: Span | undefined = trace.getActiveSpan()) {
  if (!span?.isRecording()) return undefined;
  const { traceId, spanId } = span.spanContext();
  return { trace_id: traceId, span_id: spanId };
}
