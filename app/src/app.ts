// Builds the Express applications from their dependencies; listening is server.ts's job, so tests
// drive these directly. The API (/v1/*) is one application; /metrics, /health* and /admin/* are
// another, served on MANAGEMENT_PORT and never on the API port
// (docs/decisions/0016-ops-endpoints-on-their-own-port.md). With PROVIDER_PORT set, the
// simulated provider is also served as an OpenAI-compatible API (http/provider-api.ts).
import express, { Router, type Express, type RequestHandler } from 'express';
import { ResponseCache } from './agent/cache';
import { AGENT_NAMES, AGENTS, MODEL_NAMES, PROVIDER } from './agent/catalog';
import { Chaos } from './agent/chaos';
import { CIRCUIT_STATE_VALUE, CircuitBreaker } from './agent/circuit-breaker';
import { SimulatedProvider } from './agent/provider';
import { AgentRunner, type CachedAnswer, type RunnerDeps } from './agent/runner';
import { Admission } from './agent/admission';
import { Retention } from './agent/retention';
import { RunStore } from './agent/storage';
import type { Config } from './config';
import { HealthMonitor, Lifecycle } from './health';
import { ApiKeys, FailureThrottle, requireAdminToken, requireApiKey } from './http/auth';
import { errorHandler, notFound } from './http/errors';
import { closeAfterUnreadBody } from './http/listener';
import { observeRequests } from './http/observe';
import { createProviderApp } from './http/provider-api';
import { RateLimiter, rateLimit } from './http/rate-limit';
import type { BodyLimits } from './http/validation';
import {
  ADMIN_ROUTES,
  API_ROUTES,
  mountAdminRoutes,
  mountApiRoutes,
  mountOpsRoutes,
  OPS_ROUTES,
  type RouteSpec,
} from './http/routes';
import { logger } from './telemetry/logger';
import {
  databaseFiles,
  metrics,
  recordBuildInfo,
  zeroCatalogSeries,
  zeroHttpSeries,
} from './telemetry/metrics';

export interface Services {
  config: Config;
  chaos: Chaos;
  store: RunStore;
  breaker: CircuitBreaker;
  provider: SimulatedProvider;
  runner: AgentRunner;
  health: HealthMonitor;
  lifecycle: Lifecycle;
  admission: Admission;
  retention: Retention;
}

/** The LLM provider's circuit breaker, its state on a gauge and in the log. */
function llmCircuitBreaker(circuit: Config['circuit']): CircuitBreaker {
  const circuitGauge = metrics.circuitBreakerState.labels('llm_provider');
  return new CircuitBreaker({
    dependency: 'llm_provider',
    failureThreshold: circuit.failureThreshold,
    resetTimeoutMs: circuit.resetTimeoutMs,
    onStateChange: (state, previous) => {
      circuitGauge.set(CIRCUIT_STATE_VALUE[state]);
      logger.warn('circuit breaker changed state', {
        dependency: 'llm_provider',
        state,
        previous,
      });
    },
  });
}

/** db_outage closes the database for real; its end (cleared or expired) opens it again. */
function closeDatabaseDuringOutages(chaos: Chaos, store: RunStore): void {
  chaos.onChange((fault, active) => {
    if (fault !== 'db_outage') return;
    if (active) {
      store.close();
    } else {
      try {
        store.open();
      } catch (error) {
        logger.error('database did not reopen after db_outage', { error: error as Error });
      }
    }
  });
}

/** The runner, with its response cache and prompt capture as configured. */
function agentRunner(
  config: Config,
  deps: Pick<RunnerDeps, 'provider' | 'breaker' | 'store' | 'chaos'>,
): AgentRunner {
  const cache = new ResponseCache<CachedAnswer>(
    config.cache.ttlSeconds * 1000,
    config.cache.maxEntries,
    config.cache.maxBytes,
  );
  return new AgentRunner({
    ...deps,
    cache,
    runTimeoutMs: config.runTimeoutMs,
    capture: { enabled: config.llm.captureContent, maxChars: config.llm.captureMaxChars },
  });
}

/** The domain objects, wired together; `open` has not been called on the store yet. */
export function createServices(config: Config): Services {
  recordBuildInfo(config.gitCommit);
  zeroCatalogSeries({
    provider: PROVIDER,
    agents: AGENT_NAMES.map((name) => AGENTS[name]),
    models: MODEL_NAMES,
  });
  const chaos = new Chaos();
  const store = new RunStore(config.dataDir);
  databaseFiles.bytes = () => store.sizeBytes();
  const retention = new Retention(store, config.retention);
  const breaker = llmCircuitBreaker(config.circuit);
  const { latencyScale, errorRate } = config.llm;
  const provider = new SimulatedProvider({ latencyScale, errorRate, chaos });
  const admission = new Admission(config.maxConcurrentRuns, config.runConcurrencyPerKey);
  metrics.agentRunsConcurrencyLimit.set(config.maxConcurrentRuns);
  const runner = agentRunner(config, { provider, breaker, store, chaos });
  const lifecycle = new Lifecycle();
  const { dataDir, health: thresholds } = config;
  const health = new HealthMonitor({ store, breaker, lifecycle, dataDir, thresholds });
  closeDatabaseDuringOutages(chaos, store);
  return {
    config,
    chaos,
    store,
    breaker,
    provider,
    runner,
    health,
    lifecycle,
    admission,
    retention,
  };
}

export interface Apps {
  /** /v1/*: the public port. */
  api: Express;
  /** /metrics, /health* and /admin/*: the management port. */
  management: Express;
  /** Set when PROVIDER_PORT is: the simulated provider's OpenAI-compatible API. */
  provider: Express | undefined;
}

function baseApp(config: Config, quietPaths?: ReadonlySet<string>): Express {
  const app = express();
  app.disable('x-powered-by');
  // API responses are computed per request: no ETag work, no 304s.
  app.set('etag', false);
  // req.ip: the client a trusted proxy names in X-Forwarded-For, else the peer (auth.ts).
  app.set(
    'trust proxy',
    config.http.trustedProxies.length > 0 ? config.http.trustedProxies : false,
  );
  app.use(closeAfterUnreadBody);
  app.use(observeRequests({ telemetry: config.telemetry.enabled, quietPaths }));
  return app;
}

function finish(app: Express, config: Config): Express {
  app.use(notFound);
  app.use(errorHandler({ bodyLimitBytes: config.bodyLimitBytes }));
  return app;
}

/** The agent API's routes, behind the API keys and the tiers' rate limits. */
function apiRouter(services: Services, requireKey: RequestHandler, body: BodyLimits): Router {
  const limiter = new RateLimiter(services.config.rateLimits);
  const router = Router();
  mountApiRoutes(router, {
    runner: services.runner,
    store: services.store,
    chaos: services.chaos,
    admission: services.admission,
    requireApiKey: requireKey,
    rateLimit: (onRejected) => rateLimit(limiter, onRejected),
    body,
  });
  return router;
}

/**
 * The probes and the scrape, and /admin/* when ADMIN_TOKEN is set (without it the admin
 * routes do not exist, so /admin/* is an ordinary 404); with the routes it serves.
 */
function managementRouter(
  services: Services,
  failures: FailureThrottle,
  body: BodyLimits,
): { router: Router; routes: RouteSpec[] } {
  const { config, health, chaos } = services;
  const router = Router();
  mountOpsRoutes(router, health, { metricsCacheMs: config.metricsCacheMs });
  const routes: RouteSpec[] = Object.values(OPS_ROUTES);
  if (config.adminToken !== undefined) {
    const requireAdmin = requireAdminToken(config.adminToken, failures);
    mountAdminRoutes(router, { chaos, requireAdminToken: requireAdmin, body });
    routes.push(...Object.values(ADMIN_ROUTES));
  }
  return { router, routes };
}

/** The simulated provider's OpenAI-compatible API, when PROVIDER_PORT is set. */
function providerApp(services: Services, body: BodyLimits): Express | undefined {
  const { port, apiKey } = services.config.provider;
  if (port === undefined || apiKey === undefined) return undefined;
  return createProviderApp({ provider: services.provider, apiKey, body });
}

export function createApps(services: Services): Apps {
  const { config } = services;
  const keys = new ApiKeys(config.apiKeys);
  // One budget per address for keys and the admin token together: it is the same guesser.
  const failures = new FailureThrottle(config.authFailures);
  const body = {
    limitBytes: config.bodyLimitBytes,
    timeoutMs: config.http.bodyTimeoutMs,
    admission: services.admission,
  };
  const apiRoutes = apiRouter(services, requireApiKey(keys, failures), body);
  const ops = managementRouter(services, failures, body);
  const unmatched: RouteSpec = { route: 'unmatched', methods: ['GET'], statusCodes: [404] };
  zeroHttpSeries([...Object.values(API_ROUTES), ...ops.routes, unmatched]);

  const provider = providerApp(services, body);
  const api = baseApp(config);
  api.use(apiRoutes);
  // Probes and scrapes, every few seconds: their lines and traces come out of a budget.
  const management = baseApp(config, new Set(Object.values(OPS_ROUTES).map((r) => r.route)));
  management.use(ops.router);
  return { api: finish(api, config), management: finish(management, config), provider };
}
