// Every route of the service, as tables: each route's spec (its `route` label, methods and the
// status codes whose series start at 0), then, per listener, the chain of middleware and
// handler each method runs. The middleware is in middleware.ts, the handlers in agent-api.ts,
// ops-api.ts and chaos-api.ts.
import type { Request, RequestHandler, Response, Router } from 'express';
import type { Admission } from '../agent/admission';
import type { Chaos } from '../agent/chaos';
import type { AgentRunner } from '../agent/runner';
import type { RunStore } from '../agent/storage';
import type { HealthMonitor } from '../health';
import { countRejectedRun, knownAgent, listAgents, runHandler, storedRun } from './agent-api';
import { clearAllFaults, clearFault, knownFault, listFaults, setFault } from './chaos-api';
import { authenticateFirst, faultInjector } from './middleware';
import { healthReport, liveness, metricsPage, readiness } from './ops-api';
import { defineRoute, RouteLabels, type RouteSpec } from './route-table';
import { jsonBody, type BodyLimits } from './validation';

export type { RouteSpec } from './route-table';

export const API_ROUTES = {
  runs: {
    route: '/v1/agents/:agent/runs',
    methods: ['POST'],
    statusCodes: [201, 500, 502, 503, 504],
  },
  agents: { route: '/v1/agents', methods: ['GET'], statusCodes: [200, 500] },
  run: { route: '/v1/runs/:id', methods: ['GET'], statusCodes: [200, 404, 500, 503] },
} as const satisfies Record<string, RouteSpec>;

export const OPS_ROUTES = {
  live: { route: '/health/live', methods: ['GET'], statusCodes: [200] },
  ready: { route: '/health/ready', methods: ['GET'], statusCodes: [200, 503] },
  health: { route: '/health', methods: ['GET'], statusCodes: [200, 503] },
  metrics: { route: '/metrics', methods: ['GET'], statusCodes: [200] },
} as const satisfies Record<string, RouteSpec>;

export const ADMIN_ROUTES = {
  chaos: { route: '/admin/chaos', methods: ['GET', 'PUT', 'DELETE'], statusCodes: [200, 204, 401] },
} as const satisfies Record<string, RouteSpec>;

export interface ApiDeps {
  runner: AgentRunner;
  store: RunStore;
  chaos: Chaos;
  admission: Admission;
  requireApiKey: RequestHandler;
  rateLimit: (onRejected?: (req: Request, res: Response) => void) => RequestHandler;
  body: BodyLimits;
}

/** The agent API (/v1), every route behind an API key. */
export function mountApiRoutes(router: Router, deps: ApiDeps): void {
  const labels = new RouteLabels();
  authenticateFirst(router, '/v1', labels, deps.requireApiKey);
  // After authentication, so a fault or a rate limit says nothing to a stranger.
  const guard = (onRejected?: (req: Request, res: Response) => void) => [
    faultInjector(deps.chaos, deps.admission),
    deps.rateLimit(onRejected),
  ];
  const startRun = [
    knownAgent,
    ...guard(countRejectedRun(deps.runner)),
    ...jsonBody(deps.body),
    runHandler(deps),
  ];
  defineRoute(router, API_ROUTES.agents, { GET: [...guard(), listAgents] }, { labels });
  defineRoute(router, API_ROUTES.runs, { POST: startRun }, { labels });
  defineRoute(router, API_ROUTES.run, { GET: [...guard(), storedRun(deps.store)] }, { labels });
}

/** Probes and the scrape, on the management port, without credentials. */
export function mountOpsRoutes(
  router: Router,
  health: HealthMonitor,
  options: { metricsCacheMs: number },
): void {
  const page = metricsPage(options);
  defineRoute(router, OPS_ROUTES.live, { GET: [liveness] });
  defineRoute(router, OPS_ROUTES.ready, { GET: [readiness(health)] });
  defineRoute(router, OPS_ROUTES.health, { GET: [healthReport(health)] });
  defineRoute(router, OPS_ROUTES.metrics, { GET: [page] });
}

/** Fault injection (/admin/chaos), on the management port, behind the admin token. */
export function mountAdminRoutes(
  router: Router,
  deps: { chaos: Chaos; requireAdminToken: RequestHandler; body: BodyLimits },
): void {
  const { chaos } = deps;
  const labels = new RouteLabels();
  authenticateFirst(router, '/admin', labels, deps.requireAdminToken);
  const faults = { GET: [listFaults(chaos)], DELETE: [clearAllFaults(chaos)] };
  const fault = {
    PUT: [knownFault, ...jsonBody(deps.body), setFault(chaos)],
    DELETE: [knownFault, clearFault(chaos)],
  };
  defineRoute(router, ADMIN_ROUTES.chaos, faults, { labels });
  defineRoute(router, ADMIN_ROUTES.chaos, fault, { path: '/admin/chaos/:fault', labels });
}
