// Builds the Express applications from their dependencies; listening is server.ts's job, so tests
// drive these directly. The API (/v1/*) is one application; /metrics, /health* and /admin/* are
// another, served on MANAGEMENT_PORT and never on the API port
// (docs/decisions/0016-ops-endpoints-on-their-own-port.md). With PROVIDER_PORT set, the
// simulated provider is also served as an OpenAI-compatible API (http/provider-api.ts).
import express, { Router, type Express } from 'express';
import { ResponseCache } from './agent/cache';
import { AGENT_NAMES, AGENTS, MODEL_NAMES, PROVIDER } from './agent/catalog';
import { Chaos } from './agent/chaos';
import { CIRCUIT_STATE_VALUE, CircuitBreaker } from './agent/circuit-breaker';
import { SimulatedProvider } from './agent/provider';
import { AgentRunner, type CachedAnswer } from './agent/runner';
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
  const circuitGauge = metrics.circuitBreakerState.labels('llm_provider');
  const breaker = new CircuitBreaker({
    dependency: 'llm_provider',
    failureThreshold: config.circuit.failureThreshold,
    resetTimeoutMs: config.circuit.resetTimeoutMs,
    onStateChange: (state, previous) => {
      circuitGauge.set(CIRCUIT_STATE_VALUE[state]);
      logger.warn('circuit breaker changed state', {
        dependency: 'llm_provider',
        state,
        previous,
      });
    },
  });
  const provider = new SimulatedProvider({
    latencyScale: config.llm.latencyScale,
    errorRate: config.llm.errorRate,
    chaos,
  });
  const cache = new ResponseCache<CachedAnswer>(
    config.cache.ttlSeconds * 1000,
    config.cache.maxEntries,
    config.cache.maxBytes,
  );
  const admission = new Admission(config.maxConcurrentRuns, config.runConcurrencyPerKey);
  metrics.agentRunsConcurrencyLimit.set(config.maxConcurrentRuns);
  const runner = new AgentRunner({
    provider,
    breaker,
    store,
    cache,
    runTimeoutMs: config.runTimeoutMs,
    chaos,
    capture: { enabled: config.llm.captureContent, maxChars: config.llm.captureMaxChars },
  });
  const lifecycle = new Lifecycle();
  const health = new HealthMonitor({
    store,
    breaker,
    lifecycle,
    dataDir: config.dataDir,
    thresholds: config.health,
  });
  // db_outage closes the database for real; its end (cleared or expired) opens it again.
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

export function createApps(services: Services): Apps {
  const { config, chaos, runner, store, health, admission } = services;
  const keys = new ApiKeys(config.apiKeys);
  const limiter = new RateLimiter(config.rateLimits);
  // One budget per address for keys and the admin token together: it is the same guesser.
  const failures = new FailureThrottle(config.authFailures);

  const body = {
    limitBytes: config.bodyLimitBytes,
    timeoutMs: config.http.bodyTimeoutMs,
    admission,
  };
  const apiRouter = Router();
  mountApiRoutes(apiRouter, {
    runner,
    store,
    chaos,
    admission,
    requireApiKey: requireApiKey(keys, failures),
    rateLimit: (onRejected) => rateLimit(limiter, onRejected),
    body,
  });
  const opsRouter = Router();
  mountOpsRoutes(opsRouter, health, { metricsCacheMs: config.metricsCacheMs });
  const routes: RouteSpec[] = [...Object.values(API_ROUTES), ...Object.values(OPS_ROUTES)];
  // No ADMIN_TOKEN: the admin routes do not exist, so /admin/* is an ordinary 404.
  if (config.adminToken !== undefined) {
    mountAdminRoutes(opsRouter, {
      chaos,
      requireAdminToken: requireAdminToken(config.adminToken, failures),
      body,
    });
    routes.push(...Object.values(ADMIN_ROUTES));
  }
  zeroHttpSeries([...routes, { route: 'unmatched', methods: ['GET'], statusCodes: [404] }]);

  const { apiKey } = config.provider;
  const provider =
    config.provider.port !== undefined && apiKey !== undefined
      ? createProviderApp({
          provider: services.provider,
          apiKey,
          body,
        })
      : undefined;
  const api = baseApp(config);
  api.use(apiRouter);
  // Probes and scrapes, every few seconds: their lines and traces come out of a budget.
  const management = baseApp(config, new Set(Object.values(OPS_ROUTES).map((r) => r.route)));
  management.use(opsRouter);
  return { api: finish(api, config), management: finish(management, config), provider };
}
