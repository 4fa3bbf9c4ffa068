// Every environment variable the service reads, parsed and checked in one place. A bad value
// stops the start with one message that lists every problem, not just the first.
import { z } from 'zod';

export const TIERS = ['free', 'pro'] as const;
export type Tier = (typeof TIERS)[number];

export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface ApiKeyEntry {
  key: string;
  tier: Tier;
}

export interface Config {
  port: number;
  host: string;
  managementPort: number | undefined;
  dataDir: string;
  logLevel: LogLevel;
  apiKeys: ApiKeyEntry[];
  usingDemoKeys: boolean;
  adminToken: string | undefined;
  rateLimits: Record<Tier, { ratePerSecond: number; burst: number }>;
  bodyLimitBytes: number;
  runTimeoutMs: number;
  llm: { latencyScale: number; errorRate: number };
  cache: { ttlSeconds: number; maxEntries: number };
  circuit: { failureThreshold: number; resetTimeoutMs: number };
  health: {
    intervalMs: number;
    diskMinFreeRatio: number;
    heapMaxRatio: number;
    eventLoopMaxLagMs: number;
  };
  telemetry: {
    enabled: boolean;
    serviceName: string;
    otlpTracesUrl: string;
    exportTimeoutMs: number;
    shutdownTimeoutMs: number;
    batch: {
      scheduledDelayMillis?: number;
      maxQueueSize?: number;
      maxExportBatchSize?: number;
      exportTimeoutMillis?: number;
    };
  };
  sentry: {
    dsn: string | undefined;
    spotlight: boolean | string;
    environment: string;
    sampleRate: number;
  };
  shutdown: { graceMs: number; delayMs: number };
  gitCommit: string;
}

export const DEMO_API_KEYS = 'demo-free:free,demo-pro:pro';

const booleanFlag = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], {
    error: 'must be one of true, false, 1, 0, yes, no',
  })
  .transform((value) => value === 'true' || value === '1' || value === 'yes');

// 0 asks the system for a free port (tests do); the log line at start says which one.
const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().positive();
const nonNegativeInt = z.coerce.number().int().nonnegative();
const ratio = z.coerce.number().min(0).max(1);
const url = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' });

const apiKeyList = z
  .string()
  .trim()
  .min(1)
  .transform((value, ctx) => {
    const entries: ApiKeyEntry[] = [];
    const seen = new Set<string>();
    for (const item of value.split(',')) {
      const separator = item.lastIndexOf(':');
      const key = item.slice(0, separator).trim();
      const tier = item.slice(separator + 1).trim();
      if (separator <= 0 || key === '') {
        ctx.addIssue({ code: 'custom', message: `entry "${redact(item)}" is not key:tier` });
        continue;
      }
      if (!(TIERS as readonly string[]).includes(tier)) {
        ctx.addIssue({
          code: 'custom',
          message: `tier "${tier}" of entry "${redact(key)}" is not one of ${TIERS.join(', ')}`,
        });
        continue;
      }
      if (seen.has(key)) {
        ctx.addIssue({ code: 'custom', message: `key "${redact(key)}" is listed twice` });
        continue;
      }
      seen.add(key);
      entries.push({ key, tier: tier as Tier });
    }
    return entries;
  });

const spotlight = z
  .string()
  .trim()
  .transform((value, ctx) => {
    if (['', 'false', '0', 'no'].includes(value)) return false;
    if (['true', '1', 'yes'].includes(value)) return true;
    if (!URL.canParse(value)) {
      ctx.addIssue({ code: 'custom', message: 'must be true, false or the URL of a Spotlight' });
      return z.NEVER;
    }
    return value;
  });

// Names are the environment variables themselves, so error messages can quote them directly.
const envSchema = z.object({
  PORT: port.default(8000),
  HOST: z.string().trim().min(1).default('0.0.0.0'),
  MANAGEMENT_PORT: port.optional(),
  DATA_DIR: z.string().trim().min(1).default('./data'),
  LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
  API_KEYS: apiKeyList.optional(),
  ADMIN_TOKEN: z
    .string()
    .min(8, 'must be at least 8 characters (or unset to disable /admin)')
    .optional(),
  RATE_LIMIT_FREE_RPS: z.coerce.number().positive().default(5),
  RATE_LIMIT_FREE_BURST: positiveInt.default(10),
  RATE_LIMIT_PRO_RPS: z.coerce.number().positive().default(50),
  RATE_LIMIT_PRO_BURST: positiveInt.default(100),
  BODY_LIMIT_BYTES: positiveInt.max(16 * 1024 * 1024).default(64 * 1024),
  RUN_TIMEOUT_MS: positiveInt.default(30_000),
  LLM_LATENCY_SCALE: z.coerce.number().min(0).max(100).default(1),
  LLM_ERROR_RATE: ratio.default(0.001),
  CACHE_TTL_SECONDS: nonNegativeInt.default(300),
  CACHE_MAX_ENTRIES: nonNegativeInt.default(1000),
  CIRCUIT_FAILURE_THRESHOLD: positiveInt.default(5),
  CIRCUIT_RESET_TIMEOUT_MS: positiveInt.default(10_000),
  HEALTH_CHECK_INTERVAL_MS: positiveInt.default(5_000),
  HEALTH_DISK_MIN_FREE_RATIO: ratio.default(0.1),
  HEALTH_HEAP_MAX_RATIO: ratio.default(0.9),
  HEALTH_EVENT_LOOP_MAX_LAG_MS: z.coerce.number().positive().default(200),
  TELEMETRY_ENABLED: booleanFlag.default(true),
  OTEL_SERVICE_NAME: z.string().trim().min(1).default('agent-service'),
  OTEL_EXPORTER_OTLP_ENDPOINT: url.default('http://localhost:4318'),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: url.optional(),
  OTEL_EXPORTER_OTLP_TIMEOUT: positiveInt.default(5_000),
  // The batch span processor's standard knobs; unset means the SDK's defaults.
  OTEL_BSP_SCHEDULE_DELAY: nonNegativeInt.optional(),
  OTEL_BSP_MAX_QUEUE_SIZE: positiveInt.optional(),
  OTEL_BSP_MAX_EXPORT_BATCH_SIZE: positiveInt.optional(),
  OTEL_BSP_EXPORT_TIMEOUT: positiveInt.optional(),
  TELEMETRY_SHUTDOWN_TIMEOUT_MS: positiveInt.default(2_000),
  SENTRY_DSN: url.optional(),
  SENTRY_SPOTLIGHT: spotlight.default(false),
  SENTRY_ENVIRONMENT: z.string().trim().min(1).optional(),
  SENTRY_SAMPLE_RATE: ratio.default(1),
  NODE_ENV: z.string().trim().min(1).default('development'),
  SHUTDOWN_GRACE_MS: positiveInt.default(10_000),
  SHUTDOWN_DELAY_MS: nonNegativeInt.default(0),
  GIT_COMMIT: z.string().trim().min(1).default('unknown'),
});

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

function redact(secret: string): string {
  return secret.length <= 4 ? '****' : `${secret.slice(0, 2)}…${secret.slice(-1)}`;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // An empty variable means "not set": `FOO=` in a .env file must not turn into a bad value.
  const present = Object.fromEntries(
    Object.entries(env).filter(([name, value]) => name in envSchema.shape && value !== ''),
  );
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`),
    );
  }
  const e = parsed.data;
  const problems: string[] = [];
  if (e.MANAGEMENT_PORT !== undefined && e.MANAGEMENT_PORT !== 0 && e.MANAGEMENT_PORT === e.PORT) {
    problems.push('MANAGEMENT_PORT: must differ from PORT (or be unset to serve both on PORT)');
  }
  if (e.TELEMETRY_SHUTDOWN_TIMEOUT_MS >= e.SHUTDOWN_GRACE_MS) {
    problems.push('TELEMETRY_SHUTDOWN_TIMEOUT_MS: must be shorter than SHUTDOWN_GRACE_MS');
  }
  if (e.SHUTDOWN_DELAY_MS + e.TELEMETRY_SHUTDOWN_TIMEOUT_MS >= e.SHUTDOWN_GRACE_MS) {
    problems.push(
      'SHUTDOWN_DELAY_MS: with TELEMETRY_SHUTDOWN_TIMEOUT_MS it must leave time within SHUTDOWN_GRACE_MS',
    );
  }
  const apiKeys = e.API_KEYS ?? apiKeyList.parse(DEMO_API_KEYS);
  if (e.ADMIN_TOKEN !== undefined && apiKeys.some(({ key }) => key === e.ADMIN_TOKEN)) {
    problems.push('ADMIN_TOKEN: must not be one of the API_KEYS');
  }
  if (problems.length > 0) throw new ConfigError(problems);

  return {
    port: e.PORT,
    host: e.HOST,
    managementPort: e.MANAGEMENT_PORT,
    dataDir: e.DATA_DIR,
    logLevel: e.LOG_LEVEL,
    apiKeys,
    usingDemoKeys: e.API_KEYS === undefined,
    adminToken: e.ADMIN_TOKEN,
    rateLimits: {
      free: { ratePerSecond: e.RATE_LIMIT_FREE_RPS, burst: e.RATE_LIMIT_FREE_BURST },
      pro: { ratePerSecond: e.RATE_LIMIT_PRO_RPS, burst: e.RATE_LIMIT_PRO_BURST },
    },
    bodyLimitBytes: e.BODY_LIMIT_BYTES,
    runTimeoutMs: e.RUN_TIMEOUT_MS,
    llm: { latencyScale: e.LLM_LATENCY_SCALE, errorRate: e.LLM_ERROR_RATE },
    cache: { ttlSeconds: e.CACHE_TTL_SECONDS, maxEntries: e.CACHE_MAX_ENTRIES },
    circuit: {
      failureThreshold: e.CIRCUIT_FAILURE_THRESHOLD,
      resetTimeoutMs: e.CIRCUIT_RESET_TIMEOUT_MS,
    },
    health: {
      intervalMs: e.HEALTH_CHECK_INTERVAL_MS,
      diskMinFreeRatio: e.HEALTH_DISK_MIN_FREE_RATIO,
      heapMaxRatio: e.HEALTH_HEAP_MAX_RATIO,
      eventLoopMaxLagMs: e.HEALTH_EVENT_LOOP_MAX_LAG_MS,
    },
    telemetry: {
      enabled: e.TELEMETRY_ENABLED,
      serviceName: e.OTEL_SERVICE_NAME,
      // The same rule as the OTLP exporter's own: the signal-specific URL is used as is.
      otlpTracesUrl:
        e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ??
        `${e.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, '')}/v1/traces`,
      exportTimeoutMs: e.OTEL_EXPORTER_OTLP_TIMEOUT,
      shutdownTimeoutMs: e.TELEMETRY_SHUTDOWN_TIMEOUT_MS,
      batch: {
        scheduledDelayMillis: e.OTEL_BSP_SCHEDULE_DELAY,
        maxQueueSize: e.OTEL_BSP_MAX_QUEUE_SIZE,
        maxExportBatchSize: e.OTEL_BSP_MAX_EXPORT_BATCH_SIZE,
        exportTimeoutMillis: e.OTEL_BSP_EXPORT_TIMEOUT,
      },
    },
    sentry: {
      dsn: e.SENTRY_DSN,
      spotlight: e.SENTRY_SPOTLIGHT,
      environment: e.SENTRY_ENVIRONMENT ?? e.NODE_ENV,
      sampleRate: e.SENTRY_SAMPLE_RATE,
    },
    shutdown: { graceMs: e.SHUTDOWN_GRACE_MS, delayMs: e.SHUTDOWN_DELAY_MS },
    gitCommit: e.GIT_COMMIT,
  };
}
