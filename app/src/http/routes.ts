// Every route of the service. Each is declared once with its `route` label, its methods and the
// status codes it answers, which also start its http_requests_total series at 0.
import type { NextFunction, Request, RequestHandler, Response, Router } from 'express';
import { z } from 'zod';
import { AGENTS, AGENT_NAMES, isAgentName, MODEL_NAMES, MODELS, PROVIDER } from '../agent/catalog';
import {
  CALLER_PATTERN,
  FAULT_NAMES,
  FAULT_VALUES,
  isFaultName,
  MAX_TARGETED_FAULTS,
  MAX_TTL_SECONDS,
  TARGETABLE_FAULTS,
  type ActiveFault,
  type Chaos,
  type FaultName,
} from '../agent/chaos';
import { CircuitOpenError } from '../agent/circuit-breaker';
import { ProviderError } from '../agent/provider';
import type { Admission, Ticket } from '../agent/admission';
import { RunCancelledError, RunFailedError, RunTimeoutError, type RunRecord } from '../agent/run';
import type { AgentRunner } from '../agent/runner';
import { DatabaseError, type RunStore } from '../agent/storage';
import type { HealthMonitor } from '../health';
import { metrics, metricsText } from '../telemetry/metrics';
import { SERVICE_VERSION } from '../version';
import { logger } from '../telemetry/logger';
import { requestContext, type RequestContext } from './context';
import { methodNotAllowed } from './errors';
import { ProblemError, RETRY_AFTER_SECONDS, shuttingDown } from './problem';
import { jsonBody, parseBody, type BodyLimits } from './validation';

type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

export interface RouteSpec {
  route: string;
  methods: readonly Method[];
  /** Status codes whose counters start at 0: at least the success code and the 5xx the SLI counts. */
  statusCodes: readonly number[];
}

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
 * Credentials first, for everything under `prefix`: before any path is decoded or matched, so
 * that nothing about a route (that it exists, its methods, its parameters' encoding) answers a
 * stranger before the credentials are checked.
 */
function authenticateFirst(
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

/**
 * Registers the route of `spec` (or `path`, a sub-path counted under the same label): its
 * handlers per method, then 405 for any other method. Only the spec's methods can have
 * handlers, so its zeroed series are the ones served.
 */
function defineRoute<Spec extends RouteSpec>(
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

/** A named path parameter; the routes here have no wildcards, so it is one string. */
function pathParam(req: Request, name: string): string {
  const value = req.params[name];
  return typeof value === 'string' ? value : '';
}

/** A path parameter naming one of `known`; anything else is a 404 that lists them. */
function knownPathParam<Name extends string>(
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

const runBody = z.strictObject({
  input: z
    .string()
    .refine((input) => input.trim().length > 0, 'must not be empty or only whitespace'),
  model: z.enum(MODEL_NAMES).optional(),
  // gen_ai.conversation.id on the run's spans: an opaque id, short and printable.
  conversation_id: z
    .string()
    .regex(/^[A-Za-z0-9._:-]{1,128}$/, 'must be 1-128 letters, digits or . _ : -')
    .optional(),
});

const RUN_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function runProblem(error: RunFailedError): ProblemError {
  const { cause, run } = error;
  const members = { run_id: run.id, run_status: run.status };
  if (cause instanceof RunTimeoutError) {
    return new ProblemError('run_timeout', cause.message, { members, cause });
  }
  if (cause instanceof RunCancelledError && cause.reason === 'client_closed') {
    return new ProblemError('client_closed_request', cause.message, { members, cause });
  }
  if (cause instanceof RunCancelledError) {
    metrics.agentRunsRejected.labels('shutting_down').inc();
    return shuttingDown(
      'The service is shutting down; the run was cancelled and stored so.',
      members,
    );
  }
  if (cause instanceof CircuitOpenError) {
    const retryAfter = Math.max(1, Math.ceil(cause.retryAfterMs / 1000));
    return new ProblemError(
      'circuit_open',
      'The LLM provider failed repeatedly; calls are paused while it recovers.',
      { members, cause, headers: { 'Retry-After': String(retryAfter) } },
    );
  }
  if (cause instanceof ProviderError) {
    return new ProblemError('llm_provider_error', cause.message, { members, cause });
  }
  if (cause instanceof DatabaseError) {
    return new ProblemError('database_unavailable', 'The run could not be stored.', {
      members,
      cause,
    });
  }
  return new ProblemError('internal_error', 'The run failed unexpectedly.', { members, cause });
}

export interface ApiDeps {
  runner: AgentRunner;
  store: RunStore;
  chaos: Chaos;
  admission: Admission;
  requireApiKey: RequestHandler;
  rateLimit: (onRejected?: (req: Request, res: Response) => void) => RequestHandler;
  body: BodyLimits;
}

/** A run slot for the request's key, or the problem that refuses it. */
function admitRun(admission: Admission, ctx: RequestContext): Ticket {
  const tier = ctx.tier!;
  const ticket = admission.admitRun(ctx.owner!, tier);
  if (typeof ticket !== 'string') return ticket;
  metrics.agentRunsRejected.labels(ticket).inc();
  const retry = { headers: { 'Retry-After': String(RETRY_AFTER_SECONDS.overloaded) } };
  if (ticket === 'shutting_down') throw shuttingDown('The service is shutting down.');
  if (ticket === 'key_limit') {
    throw new ProblemError(
      'too_many_runs',
      `This key has ${admission.perKey[tier]} runs in progress, the most the ${tier} tier may run at once.`,
      retry,
    );
  }
  throw new ProblemError(
    'overloaded',
    `${admission.maxConcurrentRuns} runs are in progress, the most this instance takes.`,
    retry,
  );
}

/**
 * error_ratio and latency faults apply to API requests only: probes and scrapes keep working.
 * Synchronous unless a latency fault is active: this runs on every API request.
 */
function faultInjector(chaos: Chaos, admission: Admission): RequestHandler {
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

/**
 * POST /v1/agents/:agent/runs once its body is read and valid: a slot is taken only then, held
 * until the run has settled, and the run is cancelled if its client goes away first.
 */
function runHandler({ runner, admission }: ApiDeps): RequestHandler {
  return async (req, res) => {
    const ctx = requestContext(res);
    const agent = AGENTS[ctx.agent as keyof typeof AGENTS];
    const body = parseBody(runBody, req.body);
    if (req.socket.destroyed) {
      throw new ProblemError('client_closed_request', 'The client closed the connection.');
    }
    const ticket = admitRun(admission, ctx);
    res.once('close', () => {
      if (!res.writableFinished) ticket.cancel('client_closed');
    });
    let run: RunRecord;
    try {
      run = await runner.run({
        agent,
        model: body.model ?? agent.defaultModel,
        input: body.input,
        tier: ctx.tier!,
        owner: ctx.owner!,
        cancel: ticket.signal,
        conversationId: body.conversation_id,
      });
    } catch (error) {
      if (error instanceof RunFailedError) throw runProblem(error);
      throw error;
    } finally {
      ticket.release();
    }
    res.status(201).location(`/v1/runs/${run.id}`).json(run);
  };
}

const agentsBody = JSON.stringify({
  agents: AGENT_NAMES.map((name) => ({
    name,
    description: AGENTS[name].description,
    default_model: AGENTS[name].defaultModel,
    tools: AGENTS[name].tools,
  })),
  models: MODEL_NAMES.map((name) => ({
    name,
    provider: PROVIDER,
    input_usd_per_million_tokens: MODELS[name].inputUsdPerMillion,
    output_usd_per_million_tokens: MODELS[name].outputUsdPerMillion,
  })),
});

function storedRun(store: RunStore): RequestHandler {
  return (req, res) => {
    const id = pathParam(req, 'id');
    const missing = new ProblemError('not_found', `There is no run "${id.slice(0, 64)}".`);
    if (!RUN_ID.test(id)) throw missing;
    let run: RunRecord | undefined;
    try {
      run = store.getRun(id, requestContext(res).owner!);
    } catch (error) {
      throw new ProblemError('database_unavailable', 'The run could not be read.', {
        cause: error,
      });
    }
    if (run === undefined) throw missing;
    res.json(run);
  };
}

export function mountApiRoutes(router: Router, deps: ApiDeps): void {
  const labels = new RouteLabels();
  authenticateFirst(router, '/v1', labels, deps.requireApiKey);
  // After authentication, so a fault or a rate limit says nothing to a stranger.
  const guard = (onRejected?: (req: Request, res: Response) => void) => [
    faultInjector(deps.chaos, deps.admission),
    deps.rateLimit(onRejected),
  ];
  const listAgents: RequestHandler = (_req, res) => {
    res.type('application/json').send(agentsBody);
  };
  defineRoute(router, API_ROUTES.agents, { GET: [...guard(), listAgents] }, { labels });

  const knownAgent: RequestHandler = (req, res, next) => {
    requestContext(res).agent = knownPathParam(req, 'agent', isAgentName, AGENT_NAMES);
    next();
  };
  const countRejected = (_req: Request, res: Response) => {
    const ctx = requestContext(res);
    deps.runner.recordRejected(AGENTS[ctx.agent as keyof typeof AGENTS], ctx.tier!);
  };
  defineRoute(
    router,
    API_ROUTES.runs,
    { POST: [knownAgent, ...guard(countRejected), ...jsonBody(deps.body), runHandler(deps)] },
    { labels },
  );
  defineRoute(router, API_ROUTES.run, { GET: [...guard(), storedRun(deps.store)] }, { labels });
}

/**
 * /metrics rendered at most once per `ttlMs`: Prometheus scrapes every 15 s, and anyone else
 * asking more often gets the same text instead of a render each (a render of a fork's registry
 * takes milliseconds of the one event loop; docs/bench).
 */
function cachedMetrics(ttlMs: number): () => Promise<Buffer> {
  let rendered: { at: number; body: Promise<Buffer> } | undefined;
  return () => {
    const now = performance.now();
    if (rendered === undefined || now - rendered.at >= ttlMs) {
      // Encoded once: a Buffer is sent as it is, a string would be encoded for every scrape.
      rendered = { at: now, body: metricsText().then((text) => Buffer.from(text)) };
    }
    return rendered.body;
  };
}

export function mountOpsRoutes(
  router: Router,
  health: HealthMonitor,
  { metricsCacheMs }: { metricsCacheMs: number },
): void {
  const metricsPage = cachedMetrics(metricsCacheMs);
  defineRoute(router, OPS_ROUTES.live, {
    GET: [(_req, res) => void res.json({ status: 'ok' })],
  });
  defineRoute(router, OPS_ROUTES.ready, {
    GET: [
      (_req, res) => {
        const { ready, checks } = health.readiness();
        res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not_ready', checks });
      },
    ],
  });
  defineRoute(router, OPS_ROUTES.health, {
    GET: [
      async (_req, res) => {
        const report = await health.check();
        res.status(report.status === 'unhealthy' ? 503 : 200).json({
          ...report,
          version: SERVICE_VERSION,
          uptime_seconds: Math.round(process.uptime()),
        });
      },
    ],
  });
  defineRoute(router, OPS_ROUTES.metrics, {
    GET: [
      async (_req, res) => {
        res.type(metrics.registry.contentType).send(await metricsPage());
      },
    ],
  });
}

const chaosBody = z.strictObject({
  value: z.number().optional(),
  ttl_seconds: z.number().positive().max(MAX_TTL_SECONDS),
  // Only this caller of the provider listener (its OpenAI-Project header) gets the fault.
  caller: z.string().regex(CALLER_PATTERN, 'must be 1-64 letters, digits or . _ : -').optional(),
});

function describeFault(fault: ActiveFault, now: number) {
  return {
    fault: fault.fault,
    value: fault.value ?? null,
    caller: fault.caller ?? null,
    expires_at: new Date(fault.expiresAt).toISOString(),
    expires_in_seconds: Math.max(0, Math.round((fault.expiresAt - now) / 100) / 10),
  };
}

/** A fault's `value`: none for faults that take none, else within the fault's bounds. */
function checkValue(fault: FaultName, value: number | undefined): void {
  const bounds = FAULT_VALUES[fault];
  if (bounds === undefined && value !== undefined) {
    throw new ProblemError('validation_error', `The ${fault} fault takes no value.`, {
      errors: [{ pointer: '/value', detail: `${fault} takes no value` }],
    });
  }
  if (bounds !== undefined && (value === undefined || value < bounds.min || value > bounds.max)) {
    throw new ProblemError(
      'validation_error',
      `The ${fault} fault needs a value from ${bounds.min} to ${bounds.max} (${bounds.unit}).`,
      {
        errors: [
          { pointer: '/value', detail: `must be a number from ${bounds.min} to ${bounds.max}` },
        ],
      },
    );
  }
}

/** A fault's `caller`: only for the provider's faults, and within the table's bound. */
function checkCaller(chaos: Chaos, fault: FaultName, caller: string | undefined): void {
  if (caller === undefined) return;
  if (!TARGETABLE_FAULTS.includes(fault)) {
    throw new ProblemError(
      'validation_error',
      `The ${fault} fault cannot target a caller; only ${TARGETABLE_FAULTS.join(' and ')} can.`,
      { errors: [{ pointer: '/caller', detail: `${fault} takes no caller` }] },
    );
  }
  if (!chaos.hasRoomFor(fault, caller)) {
    throw new ProblemError(
      'validation_error',
      `${MAX_TARGETED_FAULTS} targeted faults are set, the most there can be; clear some first.`,
      { errors: [{ pointer: '/caller', detail: 'too many targeted faults' }] },
    );
  }
}

/** PUT /admin/chaos/:fault: sets a fault for `ttl_seconds`, with a value within its bounds and,
 * for the provider's faults, optionally aimed at one caller. */
function setFault(chaos: Chaos): RequestHandler {
  return (req, res) => {
    const fault = pathParam(req, 'fault') as (typeof FAULT_NAMES)[number];
    const body = parseBody(chaosBody, req.body);
    checkValue(fault, body.value);
    checkCaller(chaos, fault, body.caller);
    const active = chaos.set(fault, body.value, body.ttl_seconds, body.caller);
    logger.warn('chaos: fault set', {
      fault,
      value: body.value,
      ttl_seconds: body.ttl_seconds,
      caller: body.caller,
    });
    res.json(describeFault(active, Date.now()));
  };
}

export function mountAdminRoutes(
  router: Router,
  deps: { chaos: Chaos; requireAdminToken: RequestHandler; body: BodyLimits },
): void {
  const { chaos } = deps;
  const labels = new RouteLabels();
  authenticateFirst(router, '/admin', labels, deps.requireAdminToken);
  const faultParam: RequestHandler = (req, _res, next) => {
    knownPathParam(req, 'fault', isFaultName, FAULT_NAMES);
    next();
  };
  const listFaults: RequestHandler = (_req, res) => {
    const now = Date.now();
    res.json({ faults: chaos.list().map((fault) => describeFault(fault, now)) });
  };
  const clearAll: RequestHandler = (_req, res) => {
    chaos.clearAll();
    logger.warn('chaos: every fault cleared');
    res.status(204).end();
  };
  const clearOne: RequestHandler = (req, res) => {
    const fault = pathParam(req, 'fault') as (typeof FAULT_NAMES)[number];
    if (chaos.clear(fault)) logger.warn('chaos: fault cleared', { fault });
    res.status(204).end();
  };
  defineRoute(router, ADMIN_ROUTES.chaos, { GET: [listFaults], DELETE: [clearAll] }, { labels });
  defineRoute(
    router,
    ADMIN_ROUTES.chaos,
    {
      PUT: [faultParam, ...jsonBody(deps.body), setFault(chaos)],
      DELETE: [faultParam, clearOne],
    },
    { path: '/admin/chaos/:fault', labels },
  );
}
