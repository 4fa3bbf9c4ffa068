// The one middleware that observes every request: request id, the server span, the RED metrics
// and the access log line. It replaces HTTP/Express auto-instrumentation, which costs about half
// the throughput even for requests the sampler drops (SPEC 9): here an unsampled request costs
// one non-recording span and a few bound-counter increments.
import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import {
  context,
  INVALID_TRACEID,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Span,
  type TextMapGetter,
} from '@opentelemetry/api';
import {
  ATTR_CLIENT_ADDRESS,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_NETWORK_PROTOCOL_VERSION,
  ATTR_URL_PATH,
  ATTR_URL_SCHEME,
  ATTR_USER_AGENT_ORIGINAL,
} from '@opentelemetry/semantic-conventions';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { LogBudget } from '../telemetry/log-budget';
import { logger, withRequestId } from '../telemetry/logger';
import {
  boundChildren,
  metrics,
  observeWithExemplar,
  requestsInFlight,
} from '../telemetry/metrics';
import { scrubber } from '../telemetry/scrub';
import { tracer } from '../telemetry/spans';
import type { RequestContext } from './context';

export const UNMATCHED_ROUTE = 'unmatched';

// Bounded method label: anything else (WebDAV verbs, garbage) is `_OTHER`, as in OTel semconv.
const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
// A client that gave up before the response was complete (nginx's convention).
const CLIENT_CLOSED_REQUEST = 499;
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
// Access log lines of requests refused by authentication, which a guesser makes at will: 20 a
// second (about 8 KB/s), the rest counted in the next line's `suppressed` field.
const AUTH_FAILURE_LOG_LINES_PER_SECOND = 20;

const headerGetter: TextMapGetter<IncomingHttpHeaders> = {
  keys: (headers) => Object.keys(headers),
  get: (headers, key) => headers[key],
};

function requestIdOf(req: Request): string {
  const incoming = req.headers['x-request-id'];
  return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
}

export function methodLabel(method: string): string {
  return KNOWN_METHODS.has(method) ? method : '_OTHER';
}

export function observeRequests(options: { telemetry: boolean }): RequestHandler {
  const requests = boundChildren(metrics.httpRequests);
  const durations = boundChildren(metrics.httpRequestDuration);
  const authFailureLogs = new LogBudget(AUTH_FAILURE_LOG_LINES_PER_SECOND, 1000);

  function finish(req: Request, res: Response, ctx: RequestContext, started: number): void {
    const seconds = (performance.now() - started) / 1000;
    const route = ctx.route ?? UNMATCHED_ROUTE;
    const method = methodLabel(req.method);
    const status = res.writableFinished ? res.statusCode : CLIENT_CLOSED_REQUEST;
    const span = ctx.span;
    let traceId: string | undefined;
    let spanId: string | undefined;
    if (span) {
      requestsInFlight.count--;
      const statusLabel = String(status);
      requests(method, route, statusLabel).inc();
      const spanContext = span.spanContext();
      // Without a registered SDK the span is the all-zero no-op one: no ids to log.
      if (spanContext.traceId !== INVALID_TRACEID) {
        traceId = spanContext.traceId;
        spanId = spanContext.spanId;
      }
      if (span.isRecording()) {
        observeWithExemplar(
          metrics.httpRequestDuration,
          { method, route, status_code: statusLabel },
          seconds,
          { trace_id: spanContext.traceId, span_id: spanContext.spanId },
        );
        endServerSpan(span, req, method, ctx.route, status);
      } else {
        durations(method, route, statusLabel).observe(seconds);
        span.end();
      }
    }
    const budget = ctx.authFailed ? authFailureLogs.take() : { suppressed: 0 };
    if (budget === undefined) return;
    const line = {
      method: req.method,
      route,
      status_code: status,
      duration_ms: Math.round(seconds * 1e4) / 10,
      request_id: ctx.requestId,
      trace_id: traceId,
      span_id: spanId,
      agent: ctx.agent,
      tier: ctx.tier,
      suppressed: budget.suppressed > 0 ? budget.suppressed : undefined,
    };
    // Under the request's span, whatever context the 'close' event runs in: the log export
    // reads the span's sampled flag from it (LOGS_EXPORT_UNSAMPLED).
    if (span) context.with(trace.setSpan(ROOT_CONTEXT, span), () => logger.info('request', line));
    else logger.info('request', line);
  }

  return (req: Request, res: Response, next: NextFunction) => {
    const started = performance.now();
    const ctx: RequestContext = {
      requestId: requestIdOf(req),
      route: undefined,
      span: undefined,
      tier: undefined,
      owner: undefined,
      agent: undefined,
    };
    res.locals.ctx = ctx;
    res.setHeader('X-Request-Id', ctx.requestId);
    res.once('close', () => finish(req, res, ctx, started));
    if (!options.telemetry) {
      next();
      return;
    }
    requestsInFlight.count++;
    const parent = propagation.extract(ROOT_CONTEXT, req.headers, headerGetter);
    // Named by method until the route is known (semconv: `{method} {route}` once it is).
    ctx.span = tracer.startSpan(req.method, { kind: SpanKind.SERVER }, parent);
    context.with(withRequestId(trace.setSpan(parent, ctx.span), ctx.requestId), next);
  };
}

function endServerSpan(
  span: Span,
  req: Request,
  method: string,
  route: string | undefined,
  status: number,
): void {
  if (route !== undefined) span.updateName(`${method} ${route}`);
  span.setAttributes({
    [ATTR_HTTP_REQUEST_METHOD]: method,
    [ATTR_URL_PATH]: scrubber.string(req.path),
    // The socket, not req.protocol: no proxy headers are trusted, and it is cheaper.
    [ATTR_URL_SCHEME]: (req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http',
    [ATTR_HTTP_RESPONSE_STATUS_CODE]: status,
    [ATTR_NETWORK_PROTOCOL_VERSION]: req.httpVersion,
  });
  if (route !== undefined) span.setAttribute(ATTR_HTTP_ROUTE, route);
  const userAgent = req.headers['user-agent'];
  // Client-supplied: it goes through the one scrubber, like the path, the logs and Sentry events.
  if (userAgent !== undefined) {
    span.setAttribute(ATTR_USER_AGENT_ORIGINAL, scrubber.string(userAgent));
  }
  const clientAddress = req.socket.remoteAddress;
  if (clientAddress !== undefined) span.setAttribute(ATTR_CLIENT_ADDRESS, clientAddress);
  // Server spans: only 5xx is an error (a 4xx is the client's mistake, semconv says leave UNSET).
  if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
  span.end();
}
