// Request bodies: JSON only, UTF-8 only, parsed under the size limit (of the inflated body when it
// is compressed), then checked against a strict zod schema (unknown members are refused, not
// ignored). Every failure is a 4xx problem.
import { isUtf8 } from 'node:buffer';
import express, {
  type NextFunction,
  type Request,
  type RequestHandler,
  type Response,
} from 'express';
import type { z } from 'zod';
import { ProblemError, type FieldError } from './problem';

function hasBody(req: Request): boolean {
  return (
    req.headers['transfer-encoding'] !== undefined ||
    (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0')
  );
}

/** Refuses bodies that are not JSON, then parses JSON bodies within `limitBytes`. */
export function jsonBody(limitBytes: number): RequestHandler[] {
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
  return [
    requireJson,
    express.json({
      limit: limitBytes,
      strict: true,
      type: 'application/json',
      verify: requireUtf8,
    }),
  ];
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
    throw new ProblemError('validation_error', 'The request body does not match the schema.', {
      errors: fieldErrors(parsed.error),
    });
  }
  return parsed.data;
}
