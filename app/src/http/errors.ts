// The one place errors become responses. Client mistakes get their 4xx problem; anything else is
// logged with its stack, reported to Sentry and answered with a 500 that reveals nothing inside.
import { isSpanContextValid } from '@opentelemetry/api';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { logger } from '../telemetry/logger';
import { captureError } from '../telemetry/sentry';
import { recordSpanError } from '../telemetry/spans';
import { requestContext } from './context';
import { bodyUnread } from './listener';
import { ProblemError, sendProblem, type ProblemKind } from './problem';

/** Errors body-parser raises for bad bodies, by their `type`. */
const BODY_ERRORS: Record<string, { kind: ProblemKind; detail: string }> = {
  'entity.parse.failed': {
    kind: 'malformed_json',
    detail: 'The request body is not valid JSON.',
  },
  'entity.too.large': {
    kind: 'payload_too_large',
    detail: 'The request body is larger than the limit.',
  },
  'entity.verify.failed': { kind: 'bad_request', detail: 'The request body was refused.' },
  'request.aborted': { kind: 'bad_request', detail: 'The request body was not received whole.' },
  'request.size.invalid': {
    kind: 'bad_request',
    detail: 'The request body does not match its Content-Length.',
  },
  'charset.unsupported': {
    kind: 'unsupported_media_type',
    detail: 'The request body charset is not supported; send UTF-8.',
  },
  'encoding.unsupported': {
    kind: 'unsupported_media_type',
    detail: 'The request body Content-Encoding is not supported.',
  },
};

function toProblem(error: unknown, bodyLimitBytes: number): ProblemError | undefined {
  if (error instanceof ProblemError) return error;
  if (typeof error !== 'object' || error === null) return undefined;
  const { type, status } = error as { type?: unknown; status?: unknown };
  const known = typeof type === 'string' ? BODY_ERRORS[type] : undefined;
  if (known) {
    const detail =
      known.kind === 'payload_too_large'
        ? `The request body is larger than the limit of ${bodyLimitBytes} bytes.`
        : known.detail;
    return new ProblemError(known.kind, detail, { cause: error });
  }
  // Express itself raises 400 for paths that are not valid percent-encoding.
  if (status === 400 && error instanceof URIError) {
    return new ProblemError('bad_request', 'The request path is not valid percent-encoding.');
  }
  // zlib (gzip, deflate), brotli and zstd stream failures, which body-parser passes on with
  // status 400 and no `type`; their codes differ by library, all carry a numeric errno.
  const { errno } = error as { errno?: unknown };
  if (status === 400 && typeof errno === 'number') {
    return new ProblemError(
      'bad_request',
      'The request body could not be decompressed as its Content-Encoding says.',
      { cause: error },
    );
  }
  return undefined;
}

export function errorHandler(options: { bodyLimitBytes: number }) {
  return (error: unknown, req: Request, res: Response, next: NextFunction): void => {
    if (res.headersSent) {
      // Too late for a problem response: let Express end the connection.
      next(error);
      return;
    }
    const ctx = requestContext(res);
    const spanContext = ctx.span?.spanContext();
    const traceId =
      spanContext && isSpanContextValid(spanContext) ? spanContext.traceId : undefined;
    let problem = toProblem(error, options.bodyLimitBytes);
    // Refusals by design (overload, shutdown) are counted in agent_runs_rejected_total: no bug
    // to log with a stack or report to Sentry.
    const byDesign = ['overloaded', 'shutting_down'].includes(problem?.kind ?? '');
    if (problem === undefined || (problem.status >= 500 && !byDesign)) {
      const reported = problem?.extras.cause ?? error;
      if (ctx.span) recordSpanError(ctx.span, reported);
      logger.error(problem === undefined ? 'unhandled error' : 'request failed', {
        error: reported instanceof Error ? reported : String(reported),
        route: ctx.route,
        request_id: ctx.requestId,
      });
      captureError(reported, { route: ctx.route, request_id: ctx.requestId });
      problem ??= new ProblemError(
        'internal_error',
        'The service failed to handle this request; the request_id identifies it in the logs.',
      );
    }
    // Answered before its body arrived whole: the connection ends with this answer
    // (http/listener.ts, closeAfterUnreadBody) rather than wait for the rest of the body.
    if (bodyUnread(req)) res.setHeader('Connection', 'close');
    sendProblem(res, problem, { instance: req.path, requestId: ctx.requestId, traceId });
  };
}

/** Last in the chain: no route matched the path. */
export const notFound: RequestHandler = (req) => {
  throw new ProblemError('not_found', `No route matches ${req.method} ${req.path}.`);
};

/** After a route's method handlers: the path exists, the method does not. */
export function methodNotAllowed(allowed: readonly string[]): RequestHandler {
  const methods = allowed.includes('GET') ? [...allowed, 'HEAD'] : [...allowed];
  const allow = [...methods, 'OPTIONS'].join(', ');
  return (req, res) => {
    res.setHeader('Allow', allow);
    if (req.method === 'OPTIONS') {
      res.status(204).end();
      return;
    }
    throw new ProblemError(
      'method_not_allowed',
      `${req.method} is not allowed here; use ${methods.join(' or ')}.`,
    );
  };
}
