// The middleware the route tables (routes.ts) put in front of their handlers: credentials
// before anything else, injected faults, and path parameters read and checked.
import type { NextFunction, Request, RequestHandler, Router } from 'express';
import type { Admission } from '../agent/admission';
import type { Chaos } from '../agent/chaos';
import { requestContext } from './context';
import { ProblemError, shuttingDown } from './problem';
import type { RouteLabels } from './route-table';

/**
 * Credentials first, for everything under `prefix`: before any path is decoded or matched, so
 * that nothing about a route (that it exists, its methods, its parameters' encoding) answers a
 * stranger before the credentials are checked.
 */
export function authenticateFirst(
  router: Router,
  prefix: string,
  labels: RouteLabels,
  authenticate: RequestHandler,
): void {
  router.use(prefix, (req, res, next) => {
    requestContext(res).route = labels.of(`${req.baseUrl}${req.path}`);
    authenticate(req, res, next);
  });
}

/** A named path parameter; the routes here have no wildcards, so it is one string. */
export function pathParam(req: Request, name: string): string {
  const value = req.params[name];
  return typeof value === 'string' ? value : '';
}

/** A path parameter naming one of `known`; anything else is a 404 that lists them. */
export function knownPathParam<Name extends string>(
  req: Request,
  name: string,
  isKnown: (value: string) => value is Name,
  known: readonly Name[],
): Name {
  const value = pathParam(req, name);
  if (!isKnown(value)) {
    throw new ProblemError(
      'not_found',
      `There is no ${name} "${value.slice(0, 64)}"; the ${name}s are ${known.join(', ')}.`,
    );
  }
  return value;
}

/**
 * error_ratio and latency faults apply to API requests only: probes and scrapes keep working.
 * Synchronous unless a latency fault is active: this runs on every API request.
 */
export function faultInjector(chaos: Chaos, admission: Admission): RequestHandler {
  const failOnPurpose = (next: NextFunction) => {
    const errorRatio = chaos.value('error_ratio');
    if (errorRatio !== undefined && Math.random() < errorRatio) {
      next(
        new ProblemError('injected_fault', 'Failed on purpose: the error_ratio fault is active.'),
      );
    } else {
      next();
    }
  };
  return (_req, res, next) => {
    const latencyMs = chaos.value('latency');
    if (latencyMs === undefined || latencyMs <= 0) {
      failOnPurpose(next);
      return;
    }
    // Up to 60 s: a shutdown cancels the wait, so the request still gets its answer in time.
    const ticket = admission.watch();
    const onCancel = () => {
      clearTimeout(timer);
      ticket.release();
      next(shuttingDown('The service is shutting down.'));
    };
    const timer = setTimeout(() => {
      ticket.signal.removeEventListener('abort', onCancel);
      ticket.release();
      failOnPurpose(next);
    }, latencyMs);
    ticket.signal.addEventListener('abort', onCancel, { once: true });
    res.once('close', ticket.release);
  };
}
