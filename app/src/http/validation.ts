// Request bodies: JSON only, UTF-8 only, parsed under the size limit (of the inflated body when it
// is compressed) and within HTTP_BODY_TIMEOUT_MS of the headers, then checked against a strict
// zod schema (unknown members are refused, not ignored). Every failure is a 4xx problem; a
// validation error names at most MAX_FIELD_ERRORS fields, so its answer stays short.
import { isUtf8 } from 'node:buffer';
import type { IncomingMessage } from 'node:http';
import express, {
  type NextFunction,
  type Request,
  type RequestHandler,
  type Response,
} from 'express';
import type { z } from 'zod';
import type { Admission } from '../agent/admission';
import { metrics } from '../telemetry/metrics';
import { ProblemError, shuttingDown, type FieldError } from './problem';

/** Fields a 422 names at most; `errors_omitted` counts the rest. */
export const MAX_FIELD_ERRORS = 20;

export interface BodyLimits {
  limitBytes: number;
  /** The body must have arrived this long after the handler started reading it. */
  timeoutMs: number;
  /** Bodies still arriving when a shutdown starts are answered 503 at once. */
  admission: Admission;
}

export function hasBody(req: IncomingMessage): boolean {
  return (
    req.headers['transfer-encoding'] !== undefined ||
    (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0')
  );
}

/**
 * Runs body-parser's `parse`, but answers (next(problem)) when the body has not arrived within
 * `timeoutMs` or a shutdown starts first. body-parser itself calls back only once the client
 * has sent the whole body, however slowly; the answer here goes out at once, and the connection
 * is closed after it (http/listener.ts, closeAfterUnreadBody).
 */
function withinDeadline(parse: RequestHandler, limits: BodyLimits): RequestHandler {
  const timeouts = metrics.httpProtocolErrors.labels('body_timeout');
  return (req, res, next) => {
    if (!hasBody(req) || req.complete) {
      parse(req, res, next);
      return;
    }
    const ticket = limits.admission.readBody();
    if (ticket === 'shutting_down') {
      next(shuttingDown('The service is shutting down; the request body was not read.'));
      return;
    }
    let settled = false;
    const settle = (error?: unknown) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      ticket.release();
      next(error);
    };
    const timer = setTimeout(() => {
      timeouts.inc();
      settle(
        new ProblemError(
          'request_timeout',
          `The request body was not received within ${limits.timeoutMs} ms.`,
        ),
      );
    }, limits.timeoutMs);
    ticket.signal.addEventListener(
      'abort',
      () => settle(shuttingDown('The service is shutting down; the request body was not read.')),
      { once: true },
    );
    parse(req, res, settle);
  };
}

/** Refuses bodies that are not JSON, then parses JSON bodies within the limits. */
export function jsonBody(limits: BodyLimits): RequestHandler[] {
  const requireJson: RequestHandler = (req: Request, _res: Response, next: NextFunction) => {
    if (hasBody(req) && !req.is('application/json')) {
      throw new ProblemError(
        'unsupported_media_type',
        'Send the request body as JSON with "Content-Type: application/json".',
      );
    }
    next();
  };
  // With `verify`, body-parser hands over the bytes before decoding them; a body with invalid
  // UTF-8 would otherwise be decoded with U+FFFD in place of each bad byte and accepted.
  const requireUtf8 = (_req: Request, _res: Response, body: Buffer, charset: string) => {
    if (charset.toLowerCase() !== 'utf-8' || !isUtf8(body)) {
      throw new ProblemError('unsupported_media_type', 'The request body is not valid UTF-8.');
    }
  };
  const parse = express.json({
    limit: limits.limitBytes,
    strict: true,
    type: 'application/json',
    verify: requireUtf8,
  });
  return [requireJson, withinDeadline(parse, limits)];
}

function pointer(path: readonly PropertyKey[]): string {
  return `/${path.map((part) => String(part).replaceAll('~', '~0').replaceAll('/', '~1')).join('/')}`;
}

export function fieldErrors(error: z.ZodError): FieldError[] {
  return error.issues.flatMap((issue): FieldError[] =>
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => ({
          pointer: pointer([...issue.path, key]),
          detail: 'unknown field',
        }))
      : [{ pointer: issue.path.length === 0 ? '' : pointer(issue.path), detail: issue.message }],
  );
}

export function parseBody<Schema extends z.ZodType>(
  schema: Schema,
  body: unknown,
): z.infer<Schema> {
  // A request without a body is an empty object to the schema, which then names what is missing.
  const parsed = schema.safeParse(body ?? {});
  if (!parsed.success) {
    const errors = fieldErrors(parsed.error);
    const omitted = errors.length - MAX_FIELD_ERRORS;
    throw new ProblemError('validation_error', 'The request body does not match the schema.', {
      errors: errors.slice(0, MAX_FIELD_ERRORS),
      members: omitted > 0 ? { errors_omitted: omitted } : undefined,
    });
  }
  return parsed.data;
}
