// How one row of a route table is registered: a route is declared once with its `route`
// label, its methods and the status codes it answers, which also start its
// http_requests_total series at 0.
import type { RequestHandler, Router } from 'express';
import { requestContext } from './context';
import { methodNotAllowed } from './errors';

export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

export interface RouteSpec {
  route: string;
  methods: readonly Method[];
  /** Status codes whose counters start at 0: at least the success code and the 5xx the SLI counts. */
  statusCodes: readonly number[];
}

/**
 * The route label of a path, found without decoding it: requests refused before routing (by
 * authentication) are counted under the route they asked for, as the routed ones are.
 */
export class RouteLabels {
  private readonly patterns: { pattern: RegExp; route: string }[] = [];

  add(path: string, route: string): void {
    const source = path
      .split('/')
      .map((part) => (part.startsWith(':') ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
      .join('/');
    // As Express matches: case-insensitive, with or without a trailing slash.
    this.patterns.push({ pattern: new RegExp(`^${source}/?$`, 'i'), route });
  }

  of(path: string): string | undefined {
    return this.patterns.find(({ pattern }) => pattern.test(path))?.route;
  }
}

/**
 * Registers the route of `spec` (or `path`, a sub-path counted under the same label): its
 * handlers per method, then 405 for any other method. Only the spec's methods can have
 * handlers, so its zeroed series are the ones served.
 */
export function defineRoute<Spec extends RouteSpec>(
  router: Router,
  spec: Spec,
  handlers: Partial<Record<Spec['methods'][number], RequestHandler[]>>,
  { path = spec.route, labels }: { path?: string; labels?: RouteLabels } = {},
): void {
  labels?.add(path, spec.route);
  const route = router.route(path);
  route.all((_req, res, next) => {
    requestContext(res).route = spec.route;
    next();
  });
  for (const [method, chain] of Object.entries(handlers) as [Method, RequestHandler[]][]) {
    route[method.toLowerCase() as Lowercase<Method>](...chain);
  }
  route.all(methodNotAllowed(Object.keys(handlers)));
}
