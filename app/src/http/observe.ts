// The one middleware that observes every request: request id, the server span, the RED metrics
// and the access log line. It replaces HTTP/Express auto-instrumentation, which costs about half
// the throughput even for requests the sampler drops (measured: docs/bench/README.md): here an unsampled request costs
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
import { suppressTracing } from '@opentelemetry/core';
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
import { leaveUnexported, tracer } from '../telemetry/spans';
import type { RequestContext } from './context';

export const UNMATCHED_ROUTE = 'unmatched';

// Bounded method label: anything else (WebDAV verbs, garbage) is `_OTHER`, as in OTel semconv.
const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
// A client that gave up before the response was complete (nginx's convention).
const CLIENT_CLOSED_REQUEST = 499;
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
// Access log lines of requests anyone makes at will (refused by authentication, to unknown
// paths, health probes and scrapes): 20 a second per listener (about 8 KB/s), the rest counted
// in the next line's `suppressed` field and in log_lines_suppressed_total; the spans of the
// lines left out are not exported either (compose keeps 30 MB of a container's logs).
const UNVOUCHED_LOG_LINES_PER_SECOND = 20;

/** The access line's budget: not budgeted, granted (with what was left out before), refused. */
type Grant = { suppressed: number } | undefined;
const NOT_BUDGETED: Grant = { suppressed: 0 };

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

export interface ObserveOptions {
  telemetry: boolean;
  /** Paths of probes and scrapes (exact): their lines and traces come out of the budget. */
  quietPaths?: ReadonlySet<string>;
}

/** The RED metrics of a finished request, and its server span ended (unexported if `drop`). */
function recordRequest(
  req: Request,
  ctx: RequestContext,
  labels: { method: string; route: string; status: number },
  seconds: number,
  drop: boolean,
): { traceId?: string; spanId?: string } {
  const span = ctx.span;
  if (!span) return {};
  const { method, route, status } = labels;
  requestsInFlight.count--;
  const statusLabel = String(status);
  httpRequests(method, route, statusLabel).inc();
  const spanContext = span.spanContext();
  if (span.isRecording()) {
    observeWithExemplar(
      metrics.httpRequestDuration,
      { method, route, status_code: statusLabel },
      seconds,
      { trace_id: spanContext.traceId, span_id: spanContext.spanId },
    );
    if (drop) leaveUnexported(span);
    endServerSpan(span, req, method, ctx.route, status);
  } else {
    httpDurations(method, route, statusLabel).observe(seconds);
    span.end();
  }
  // Without a registered SDK the span is the all-zero no-op one: no ids to log.
  return spanContext.traceId === INVALID_TRACEID
    ? {}
    : { traceId: spanContext.traceId, spanId: spanContext.spanId };
}

const httpRequests = boundChildren(metrics.httpRequests);
const httpDurations = boundChildren(metrics.httpRequestDuration);

/** Takes a line from a budget of its own (one per listener), counting the lines left out. */
function lineBudget(): () => Grant {
  const budget = new LogBudget(UNVOUCHED_LOG_LINES_PER_SECOND, 1000);
  const suppressedLines = metrics.logLinesSuppressed.labels('request');
  return () => {
    const grant = budget.take();
    if (grant === undefined) suppressedLines.inc();
    return grant;
  };
}

export function observeRequests(options: ObserveOptions): RequestHandler {
  const take = lineBudget();

  function finish(req: Request, res: Response, ctx: RequestContext, quietGrant: Grant | null) {
    const seconds = (performance.now() - ctx.startedAt) / 1000;
    const route = ctx.route ?? UNMATCHED_ROUTE;
    // A probe's grant was taken when it started; a stranger's request is known at the end.
    const grant =
      quietGrant !== null
        ? quietGrant
        : ctx.authFailed || route === UNMATCHED_ROUTE
          ? take()
          : NOT_BUDGETED;
    const method = methodLabel(req.method);
    const status = res.writableFinished ? res.statusCode : CLIENT_CLOSED_REQUEST;
    const ids = recordRequest(req, ctx, { method, route, status }, seconds, grant === undefined);
    if (grant === undefined) return;
    const line = {
      method: req.method,
      route,
      status_code: status,
      duration_ms: Math.round(seconds * 1e4) / 10,
      request_id: ctx.requestId,
      trace_id: ids.traceId,
      span_id: ids.spanId,
      agent: ctx.agent,
      tier: ctx.tier,
      suppressed: grant.suppressed > 0 ? grant.suppressed : undefined,
    };
    // Under the request's span, whatever context the 'close' event runs in: the log export
    // reads the span's sampled flag from it (LOGS_EXPORT_UNSAMPLED).
    const span = ctx.span;
    if (span) context.with(trace.setSpan(ROOT_CONTEXT, span), () => logger.info('request', line));
    else logger.info('request', line);
  }

  return (req: Request, res: Response, next: NextFunction) => {
    const ctx: RequestContext = {
      requestId: requestIdOf(req),
      startedAt: performance.now(),
      route: undefined,
      span: undefined,
      tier: undefined,
      owner: undefined,
      agent: undefined,
    };
    res.locals.ctx = ctx;
    res.setHeader('X-Request-Id', ctx.requestId);
    const quietGrant = options.quietPaths?.has(req.path) ? take() : null;
    res.once('close', () => finish(req, res, ctx, quietGrant));
    if (!options.telemetry) {
      next();
      return;
    }
    requestsInFlight.count++;
    const extracted = propagation.extract(ROOT_CONTEXT, req.headers, headerGetter);
    // A probe over the budget is not traced at all (nor the database ping it makes).
    const parent = quietGrant === undefined ? suppressTracing(extracted) : extracted;
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
