// RFC 9457 problem details: every error response is application/problem+json with a type, a
// title, the status and a detail a person can act on. Types are tag URIs (RFC 9457 section 4
// suggests them for types that are not meant to be dereferenced); the README lists them.
import type { Response } from 'express';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8';
const TYPE_PREFIX = 'tag:agent-service.local,2026:problem:';

export const PROBLEM_TYPES = {
  malformed_json: { status: 400, title: 'Malformed JSON' },
  bad_request: { status: 400, title: 'Bad request' },
  unauthorized: { status: 401, title: 'Unauthorized' },
  not_found: { status: 404, title: 'Not found' },
  method_not_allowed: { status: 405, title: 'Method not allowed' },
  request_timeout: { status: 408, title: 'Request timeout' },
  payload_too_large: { status: 413, title: 'Payload too large' },
  unsupported_media_type: { status: 415, title: 'Unsupported media type' },
  expectation_failed: { status: 417, title: 'Expectation failed' },
  validation_error: { status: 422, title: 'Validation failed' },
  rate_limited: { status: 429, title: 'Too many requests' },
  too_many_runs: { status: 429, title: 'Too many runs in progress for this key' },
  headers_too_large: { status: 431, title: 'Request header fields too large' },
  // nginx's code for a client that went away before its answer: never seen by that client.
  client_closed_request: { status: 499, title: 'Client closed request' },
  internal_error: { status: 500, title: 'Internal server error' },
  injected_fault: { status: 500, title: 'Injected fault' },
  llm_provider_error: { status: 502, title: 'LLM provider error' },
  // The simulated provider's own answers on its listener (http/provider-api.ts).
  model_error: { status: 500, title: 'Model server error' },
  model_unavailable: { status: 503, title: 'Model unavailable' },
  circuit_open: { status: 503, title: 'LLM provider circuit open' },
  overloaded: { status: 503, title: 'Too many runs in progress' },
  shutting_down: { status: 503, title: 'Shutting down' },
  database_unavailable: { status: 503, title: 'Database unavailable' },
  run_timeout: { status: 504, title: 'Run timed out' },
} as const;

export type ProblemKind = keyof typeof PROBLEM_TYPES;

// When to try again after a 503 of the admission (runs take about 1–6 s) or of a shutdown (a
// replacement instance is usually up within seconds).
export const RETRY_AFTER_SECONDS = { overloaded: 2, shutting_down: 5 } as const;

export interface FieldError {
  /** JSON Pointer (RFC 6901) to the offending member of the request body. */
  pointer: string;
  detail: string;
}

export class ProblemError extends Error {
  override name = 'ProblemError';
  readonly status: number;

  constructor(
    readonly kind: ProblemKind,
    readonly detail: string,
    readonly extras: {
      errors?: FieldError[];
      headers?: Record<string, string>;
      members?: Record<string, unknown>;
      cause?: unknown;
    } = {},
  ) {
    super(detail, { cause: extras.cause });
    this.status = PROBLEM_TYPES[kind].status;
  }
}

export function shuttingDown(detail: string, members?: Record<string, unknown>): ProblemError {
  return new ProblemError('shutting_down', detail, {
    members,
    headers: { 'Retry-After': String(RETRY_AFTER_SECONDS.shutting_down) },
  });
}

/** The JSON text of a problem response. */
export function problemBody(
  problem: ProblemError,
  context: { instance: string | undefined; requestId: string; traceId: string | undefined },
): string {
  const { status, title } = PROBLEM_TYPES[problem.kind];
  return JSON.stringify({
    type: `${TYPE_PREFIX}${problem.kind.replaceAll('_', '-')}`,
    title,
    status,
    detail: problem.detail,
    instance: context.instance,
    ...problem.extras.members,
    ...(problem.extras.errors ? { errors: problem.extras.errors } : {}),
    request_id: context.requestId,
    ...(context.traceId ? { trace_id: context.traceId } : {}),
  });
}

export function sendProblem(
  res: Response,
  problem: ProblemError,
  context: { instance: string; requestId: string; traceId: string | undefined },
): void {
  for (const [name, value] of Object.entries(problem.extras.headers ?? {})) {
    res.setHeader(name, value);
  }
  res.status(problem.status).type(PROBLEM_CONTENT_TYPE).send(problemBody(problem, context));
}
