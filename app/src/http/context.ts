// What the middleware learns about a request, kept on res.locals for the ones that follow.
import type { Span } from '@opentelemetry/api';
import type { Response } from 'express';
import type { Tier } from '../config';

export interface RequestContext {
  requestId: string;
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
  /** For an admitted run: aborted when a shutdown cancels it. */
  cancel?: AbortSignal;
}

declare module 'express-serve-static-core' {
  interface Locals {
    ctx: RequestContext;
  }
}

export function requestContext(res: Response): RequestContext {
  return res.locals.ctx;
}
