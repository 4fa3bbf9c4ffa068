// The metric catalog of SPEC 4 on one OpenMetrics registry (prom-client attaches exemplars only
// there). Bucket boundaries include every alert and SLO threshold, and counters for every known
// label set start at 0 so that rates and ratios exist before the first event.
import {
  Counter,
  Gauge,
  Histogram,
  Registry,
  collectDefaultMetrics,
  type LabelValues,
  type OpenMetricsContentType,
} from 'prom-client';
import { TIERS } from '../config';
import { SERVICE_VERSION } from '../version';
import { renderOpenMetrics } from './exposition';
import { GEN_AI_METRICS, GEN_AI_OPERATION, GEN_AI_TOKEN_TYPES } from './genai';

export const RUN_STATUSES = ['success', 'error', 'timeout', 'cancelled', 'rejected'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];
export const LLM_STATUSES = ['success', 'error', 'circuit_open'] as const;
export type LlmStatus = (typeof LLM_STATUSES)[number];
export const TOOL_STATUSES = ['success', 'error'] as const;
export const DB_OPERATIONS = ['insert_run', 'get_run', 'delete_runs', 'ping'] as const;
export type DbOperation = (typeof DB_OPERATIONS)[number];
export const AUTH_FAILURE_REASONS = [
  'missing_key',
  'invalid_key',
  'invalid_admin_token',
  'throttled',
] as const;
export type AuthFailureReason = (typeof AUTH_FAILURE_REASONS)[number];
/**
 * Why a request was refused for how it was sent rather than what it asked: by the HTTP server
 * before routing (http/listener.ts), or because its body did not arrive in time (body_timeout).
 */
export const PROTOCOL_ERROR_REASONS = [
  'malformed',
  'headers_too_large',
  'timeout',
  'expectation_failed',
  'connection_reset',
  'body_timeout',
] as const;
export type ProtocolErrorReason = (typeof PROTOCOL_ERROR_REASONS)[number];
/** Connections closed as soon as they were accepted: past MAX_CONNECTIONS(_PER_ADDRESS). */
export const CONNECTION_REFUSAL_REASONS = ['per_address', 'max_connections'] as const;
export type ConnectionRefusalReason = (typeof CONNECTION_REFUSAL_REASONS)[number];
/** Log lines a budget left out: request lines nobody vouches for, protocol errors. */
export const LOG_BUDGET_SOURCES = ['request', 'protocol_error'] as const;
export type LogBudgetSource = (typeof LOG_BUDGET_SOURCES)[number];
export const RUN_REJECTION_REASONS = ['overloaded', 'shutting_down', 'key_limit'] as const;
export type RunRejectionReason = (typeof RUN_REJECTION_REASONS)[number];
export const HEALTH_CHECKS = ['database', 'llm_provider', 'disk', 'memory', 'event_loop'] as const;
export type HealthCheckName = (typeof HEALTH_CHECKS)[number];
export const TELEMETRY_SIGNALS = ['traces', 'logs', 'errors'] as const;
export type TelemetrySignal = (typeof TELEMETRY_SIGNALS)[number];

export const BUCKETS = {
  // 0.1, 0.25, 0.5, 1, 2 and 5 s are latency-alert thresholds; runs through this route are
  // slow by nature, hence the tail up to 30 s.
  http: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1, 2, 2.5, 5, 10, 15, 20, 30],
  agentRun: [0.1, 0.25, 0.5, 1, 2, 5, 10, 15, 20, 30, 45, 60, 90, 120],
  llm: [0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 20, 30, 60],
  // Tokens one run spends, all its calls together: a few hundred for a short input, up to
  // about 5,000 for a 4-step run over a long one (they grow with input length and steps).
  runTokens: [100, 250, 500, 1000, 2000, 4000, 8000, 16000, 32000, 64000, 128000],
  // LLM calls one run makes: a healthy plan makes 2-4; 8 is the runaway-run limit
  // (threshold:agent_run_llm_calls_p99).
  runLlmCalls: [1, 2, 3, 4, 6, 8, 12, 16, 32, 64],
  // The slow-query alert compares p95 with 0.5 s.
  db: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
};

/**
 * Requests being served, kept as a plain number (every request changes it twice) and copied into
 * http_requests_in_flight when the registry is read.
 */
export const requestsInFlight = { count: 0 };

/** What the database files take on disk, read when the registry is (the store sets `bytes`). */
export const databaseFiles = { bytes: (): number => 0 };

/**
 * prom-client's collectors that call process._getActiveHandles() and _getActiveRequests():
 * private APIs that abort the process (a failed C++ CHECK) when they meet a handle whose
 * JavaScript owner has just been garbage-collected. nodejs_active_resources{type} and
 * nodejs_active_resources_total, from the public process.getActiveResourcesInfo(), count the
 * same handles, requests and timers by name.
 */
export const PRIVATE_API_COLLECTORS = [
  'nodejs_active_handles',
  'nodejs_active_handles_total',
  'nodejs_active_requests',
  'nodejs_active_requests_total',
];

function runtimeRegistry(): Registry<OpenMetricsContentType> {
  const registry = new Registry<OpenMetricsContentType>();
  registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
  collectDefaultMetrics({ register: registry });
  for (const name of PRIVATE_API_COLLECTORS) registry.removeSingleMetric(name);
  return registry;
}

function createMetrics() {
  const registry = runtimeRegistry();
  const registers = [registry];

  const metrics = {
    registry,
    httpRequests: new Counter({
      name: 'http_requests_total',
      help: 'HTTP requests answered, by route template and status code.',
      labelNames: ['method', 'route', 'status_code'] as const,
      registers,
    }),
    httpRequestDuration: new Histogram({
      name: 'http_request_duration_seconds',
      help: 'Time from receiving an HTTP request to finishing its response.',
      labelNames: ['method', 'route', 'status_code'] as const,
      buckets: BUCKETS.http,
      enableExemplars: true,
      registers,
    }),
    httpRequestsInFlight: new Gauge({
      name: 'http_requests_in_flight',
      help: 'HTTP requests being served right now.',
      registers,
      collect() {
        this.set(requestsInFlight.count);
      },
    }),
    httpProtocolErrors: new Counter({
      name: 'http_protocol_errors_total',
      help: 'Requests refused for how they were sent: by the HTTP server before routing (bad framing or header names, headers too large, too slow, bogus Expect), connections reset mid-request, bodies not received within HTTP_BODY_TIMEOUT_MS (body_timeout).',
      labelNames: ['reason'] as const,
      registers,
    }),
    httpConnectionsRefused: new Counter({
      name: 'http_connections_refused_total',
      help: 'Connections closed as soon as they were accepted: one address past MAX_CONNECTIONS_PER_ADDRESS (per_address), the listener past MAX_CONNECTIONS (max_connections).',
      labelNames: ['reason'] as const,
      registers,
    }),
    logLinesSuppressed: new Counter({
      name: 'log_lines_suppressed_total',
      help: 'Log lines a budget left out (their spans too): request lines of unknown paths, probes and failed authentication (request), protocol errors (protocol_error).',
      labelNames: ['source'] as const,
      registers,
    }),
    dbSize: new Gauge({
      name: 'app_db_size_bytes',
      help: 'Bytes of the SQLite database on disk: the main file plus its write-ahead log.',
      registers,
      collect() {
        this.set(databaseFiles.bytes());
      },
    }),
    diskFree: new Gauge({
      name: 'app_data_disk_free_bytes',
      help: 'Free bytes on the file system of the data directory (available to the service).',
      registers,
    }),
    diskSize: new Gauge({
      name: 'app_data_disk_size_bytes',
      help: 'Size in bytes of the file system of the data directory.',
      registers,
    }),
    telemetryExportFailures: new Counter({
      name: 'telemetry_export_failures_total',
      help: 'Failed telemetry exports: span batches (traces) and log record batches (logs) the OTLP exporters could not deliver, events Sentry could not send (errors).',
      labelNames: ['signal'] as const,
      registers,
    }),
    agentRuns: new Counter({
      name: 'agent_runs_total',
      help: 'Agent runs by outcome; rejected runs were refused by the rate limiter, cancelled ones stopped by a shutdown.',
      labelNames: ['agent', 'tier', 'status'] as const,
      registers,
    }),
    agentRunDuration: new Histogram({
      name: 'agent_run_duration_seconds',
      help: 'Duration of an agent run from plan to stored result.',
      labelNames: ['agent', 'status'] as const,
      buckets: BUCKETS.agentRun,
      enableExemplars: true,
      registers,
    }),
    agentRunsInProgress: new Gauge({
      name: 'agent_runs_in_progress',
      help: 'Agent runs executing right now.',
      labelNames: ['agent'] as const,
      registers,
    }),
    agentRunsConcurrencyLimit: new Gauge({
      name: 'agent_runs_concurrency_limit',
      help: 'MAX_CONCURRENT_RUNS: runs past it are refused with 503 (compare agent_runs_in_progress).',
      registers,
    }),
    agentRunsRejected: new Counter({
      name: 'agent_runs_rejected_total',
      help: 'Runs refused or cancelled: overloaded (503, past MAX_CONCURRENT_RUNS), key_limit (429, the key past its tier share, RUN_CONCURRENCY_*), shutting_down (503, refused or cancelled by a shutdown).',
      labelNames: ['reason'] as const,
      registers,
    }),
    agentToolCalls: new Counter({
      name: 'agent_tool_calls_total',
      help: 'Tool calls made by agents, by outcome.',
      labelNames: ['agent', 'tool', 'status'] as const,
      registers,
    }),
    llmRequests: new Counter({
      name: 'llm_requests_total',
      help: 'Calls to the LLM provider; circuit_open calls were refused without reaching it.',
      labelNames: ['provider', 'model', 'status'] as const,
      registers,
    }),
    llmRequestDuration: new Histogram({
      name: 'llm_request_duration_seconds',
      help: 'Duration of calls to the LLM provider.',
      labelNames: ['provider', 'model'] as const,
      buckets: BUCKETS.llm,
      enableExemplars: true,
      registers,
    }),
    // The OpenTelemetry GenAI client metrics (telemetry/genai.ts), beside the llm_* names the
    // alerts and dashboards use; their advised buckets do not hold the alert thresholds.
    genAiTokenUsage: new Histogram({
      name: GEN_AI_METRICS.tokenUsage.name,
      help: 'Number of input and output tokens used (gen_ai.client.token.usage, {token}).',
      labelNames: GEN_AI_METRICS.tokenUsage.labels,
      buckets: [...GEN_AI_METRICS.tokenUsage.buckets],
      registers,
    }),
    genAiOperationDuration: new Histogram({
      name: GEN_AI_METRICS.operationDuration.name,
      help: 'GenAI operation duration (gen_ai.client.operation.duration); error_type on failures.',
      labelNames: GEN_AI_METRICS.operationDuration.labels,
      buckets: [...GEN_AI_METRICS.operationDuration.buckets],
      enableExemplars: true,
      registers,
    }),
    agentRunLlmCalls: new Histogram({
      name: 'agent_run_llm_calls',
      help: 'LLM calls one agent run made, failed ones included; cached runs make none and are not counted.',
      labelNames: ['agent'] as const,
      buckets: BUCKETS.runLlmCalls,
      enableExemplars: true,
      registers,
    }),
    agentRunTokens: new Histogram({
      name: 'agent_run_tokens',
      help: 'Tokens (input and output) one agent run spent over all its LLM calls; cached runs spend none and are not counted.',
      labelNames: ['agent'] as const,
      buckets: BUCKETS.runTokens,
      enableExemplars: true,
      registers,
    }),
    llmTokens: new Counter({
      name: 'llm_tokens_total',
      help: 'Tokens sent to (input) and received from (output) the LLM provider.',
      labelNames: ['provider', 'model', 'type'] as const,
      registers,
    }),
    llmCost: new Counter({
      name: 'llm_cost_usd_total',
      help: 'What LLM calls cost in US dollars, from the per-model price table, by the agent that made them.',
      labelNames: ['provider', 'model', 'tier', 'agent'] as const,
      registers,
    }),
    llmCacheSavedTokens: new Counter({
      name: 'llm_cache_saved_tokens_total',
      help: 'Tokens the response cache saved: what the cached run spent when it was made, counted at every hit.',
      labelNames: ['provider', 'model', 'type'] as const,
      registers,
    }),
    llmCacheSavedCost: new Counter({
      name: 'llm_cache_saved_cost_usd_total',
      help: 'US dollars the response cache saved: what the cached run cost when it was made, counted at every hit.',
      labelNames: ['provider', 'model', 'tier'] as const,
      registers,
    }),
    circuitBreakerState: new Gauge({
      name: 'circuit_breaker_state',
      help: 'Circuit breaker state: 0 closed, 1 half-open, 2 open.',
      labelNames: ['dependency'] as const,
      registers,
    }),
    cacheRequests: new Counter({
      name: 'cache_requests_total',
      help: 'Cache lookups by result.',
      labelNames: ['cache', 'result'] as const,
      registers,
    }),
    dbQueryDuration: new Histogram({
      name: 'db_query_duration_seconds',
      help: 'Duration of database queries, failed ones included.',
      labelNames: ['operation'] as const,
      buckets: BUCKETS.db,
      registers,
    }),
    dbErrors: new Counter({
      name: 'db_errors_total',
      help: 'Database queries that failed.',
      labelNames: ['operation'] as const,
      registers,
    }),
    rateLimitRejections: new Counter({
      name: 'rate_limit_rejections_total',
      help: 'Requests refused with 429 because the API key exceeded its tier rate.',
      labelNames: ['tier'] as const,
      registers,
    }),
    authFailures: new Counter({
      name: 'auth_failures_total',
      help: 'Requests refused by authentication, by reason: 401s, and 429s for addresses over the failed-attempt budget (throttled).',
      labelNames: ['reason'] as const,
      registers,
    }),
    healthCheckStatus: new Gauge({
      name: 'health_check_status',
      help: 'Result of the latest health check: 1 ok, 0 failing.',
      labelNames: ['check'] as const,
      registers,
    }),
    buildInfo: new Gauge({
      name: 'app_build_info',
      help: 'Always 1; the labels say which build is running.',
      labelNames: ['version', 'commit', 'node_version'] as const,
      registers,
    }),
  };

  for (const signal of TELEMETRY_SIGNALS) metrics.telemetryExportFailures.labels(signal).inc(0);
  metrics.circuitBreakerState.labels('llm_provider').set(0);
  for (const result of ['hit', 'miss']) metrics.cacheRequests.labels('response', result).inc(0);
  for (const operation of DB_OPERATIONS) metrics.dbErrors.labels(operation).inc(0);
  for (const tier of TIERS) metrics.rateLimitRejections.labels(tier).inc(0);
  for (const reason of AUTH_FAILURE_REASONS) metrics.authFailures.labels(reason).inc(0);
  for (const reason of PROTOCOL_ERROR_REASONS) metrics.httpProtocolErrors.labels(reason).inc(0);
  for (const reason of CONNECTION_REFUSAL_REASONS) {
    metrics.httpConnectionsRefused.labels(reason).inc(0);
  }
  for (const source of LOG_BUDGET_SOURCES) metrics.logLinesSuppressed.labels(source).inc(0);
  for (const reason of RUN_REJECTION_REASONS) metrics.agentRunsRejected.labels(reason).inc(0);
  return metrics;
}

/** The labels of a chat call on the GenAI metrics; error_type only when it failed. */
export function genAiLabels(
  provider: string,
  model: string,
  tokenType?: string,
  errorType?: string,
) {
  return {
    gen_ai_operation_name: GEN_AI_OPERATION.chat,
    gen_ai_provider_name: provider,
    gen_ai_request_model: model,
    ...(tokenType === undefined ? {} : { gen_ai_token_type: tokenType }),
    ...(errorType === undefined ? {} : { error_type: errorType }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

// One registry per process: instrument.ts (loaded first) and the app share this module instance.
export const metrics: Metrics = createMetrics();

/** The registry as the OpenMetrics text /metrics serves (exposition.ts). */
export function metricsText(): Promise<string> {
  return renderOpenMetrics(metrics.registry);
}

export function recordBuildInfo(commit: string): void {
  metrics.buildInfo.reset();
  metrics.buildInfo.labels(SERVICE_VERSION, commit, process.version).set(1);
}

/** What the service runs, for the counters of each agent, tool and model to start at 0. */
export interface CatalogSeries {
  provider: string;
  agents: readonly { name: string; tools: readonly string[] }[];
  models: readonly string[];
}

/**
 * Start the agent, tool and LLM series of every agent and model the service runs at 0; the
 * caller (where the services are built) passes its catalog, so this module needs none.
 */
export function zeroCatalogSeries({ provider, agents, models }: CatalogSeries): void {
  for (const { name: agent, tools } of agents) {
    metrics.agentRunsInProgress.labels(agent).set(0);
    metrics.agentRunTokens.zero({ agent });
    metrics.agentRunLlmCalls.zero({ agent });
    for (const tier of TIERS) {
      for (const status of RUN_STATUSES) metrics.agentRuns.labels(agent, tier, status).inc(0);
      for (const model of models) metrics.llmCost.labels(provider, model, tier, agent).inc(0);
    }
    // Only the agent's own tools: a series for a tool it never calls would only ever read 0.
    for (const tool of tools) {
      for (const status of TOOL_STATUSES) metrics.agentToolCalls.labels(agent, tool, status).inc(0);
    }
  }
  for (const model of models) {
    for (const status of LLM_STATUSES) metrics.llmRequests.labels(provider, model, status).inc(0);
    for (const type of GEN_AI_TOKEN_TYPES) {
      metrics.llmTokens.labels(provider, model, type).inc(0);
      metrics.llmCacheSavedTokens.labels(provider, model, type).inc(0);
      metrics.genAiTokenUsage.zero(genAiLabels(provider, model, type));
    }
    for (const tier of TIERS) metrics.llmCacheSavedCost.labels(provider, model, tier).inc(0);
    metrics.genAiOperationDuration.zero(genAiLabels(provider, model));
  }
}

/** Start the HTTP request counters of each (route, method) at 0 for the status codes that matter. */
export function zeroHttpSeries(
  routes: readonly { route: string; methods: readonly string[]; statusCodes: readonly number[] }[],
): void {
  for (const { route, methods, statusCodes } of routes) {
    for (const method of methods) {
      for (const status of statusCodes) {
        metrics.httpRequests.labels(method, route, String(status)).inc(0);
      }
    }
  }
}

/**
 * Children of a labelled metric, bound once per label-value combination: prom-client's
 * `labels()` hashes its arguments on every call, a hot path should not.
 */
export function boundChildren<Child>(metric: {
  labels(...values: string[]): Child;
}): (...values: string[]) => Child {
  const children = new Map<string, Child>();
  return (...values) => {
    const key = values.join('\u0001');
    let child = children.get(key);
    if (child === undefined) {
      child = metric.labels(...values);
      children.set(key, child);
    }
    return child;
  };
}

export interface Exemplar {
  trace_id: string;
  span_id: string;
}

/** Observes a value and links its bucket to the trace that produced it. */
export function observeWithExemplar<Label extends string>(
  histogram: Histogram<Label>,
  labels: LabelValues<Label>,
  value: number,
  exemplar: Exemplar,
): void {
  // prom-client types exemplar labels with the metric's own label names; any names are valid.
  histogram.observe({ labels, value, exemplarLabels: exemplar as unknown as LabelValues<Label> });
}
