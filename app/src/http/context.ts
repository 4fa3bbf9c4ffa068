// What the middleware learns about a request, kept on res.locals for the ones that follow.
import type { Span } from '@opentelemetry/api';
import type { Response } from 'express';
import type { Tier } from '../config';

export interface RequestContext {
  requestId: string;
  /** performance.now() when the request reached the service. */
  startedAt: number;
  /** The route template (the `route` label); unset until a route matches. */
  route: string | undefined;
  /** The server span of this request, when tracing is on. */
  span: Span | undefined;
  tier: Tier | undefined;
  /** Stable, non-secret id of the API key (a digest prefix): runs belong to it. */
  owner: string | undefined;
  agent: string | undefined;
  /** Refused by authentication: its access log line comes out of a bounded budget. */
  authFailed?: boolean;
}

declare module 'express-serve-static-core' {
  interface Locals {
    ctx: RequestContext;
  }
}

export function requestContext(res: Response): RequestContext {
  return res.locals.ctx;
}
