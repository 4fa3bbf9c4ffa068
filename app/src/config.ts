// Every environment variable the service reads, parsed and checked in one place. A bad value
// stops the start with one message that lists every problem, not just the first.
import { isIP } from 'node:net';
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
  /** /metrics, /health* and /admin/* listen here, never on the API port. */
  managementPort: number;
  managementHost: string;
  /** The simulated provider's OpenAI-compatible listener (off unless PROVIDER_PORT is set). */
  provider: { port: number | undefined; apiKey: string | undefined };
  dataDir: string;
  logLevel: LogLevel;
  apiKeys: ApiKeyEntry[];
  /** DEMO_MODE: the documented demo keys are accepted (and a warning says so). */
  usingDemoKeys: boolean;
  /** Failed key or token attempts per client address: a token bucket. */
  authFailures: { ratePerSecond: number; burst: number };
  adminToken: string | undefined;
  rateLimits: Record<Tier, { ratePerSecond: number; burst: number }>;
  bodyLimitBytes: number;
  runTimeoutMs: number;
  maxConcurrentRuns: number;
  /** Runs in progress one API key may hold, by its tier. */
  runConcurrencyPerKey: Record<Tier, number>;
  /** How long a rendered /metrics is served again; 0 renders every scrape. */
  metricsCacheMs: number;
  http: {
    headersTimeoutMs: number;
    requestTimeoutMs: number;
    /** A request body must have arrived this long after its headers. */
    bodyTimeoutMs: number;
    keepAliveTimeoutMs: number;
    maxConnections: number;
    /** Connections one client address may hold open on a listener. */
    maxConnectionsPerAddress: number;
    /** Proxies (addresses, CIDRs) whose X-Forwarded-For names the client; exempt from the cap. */
    trustedProxies: string[];
  };
  retention: { maxAgeHours: number; maxBytes: number; intervalMs: number };
  llm: {
    latencyScale: number;
    errorRate: number;
    /** Opt-in: prompts and completions on chat spans (gen_ai.input/output.messages), scrubbed. */
    captureContent: boolean;
    /** Characters kept of each captured message; the rest is cut. */
    captureMaxChars: number;
  };
  cache: { ttlSeconds: number; maxEntries: number; maxBytes: number };
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
    sampler: { name: SamplerName; ratio: number; remoteParentSampled: RemoteParentPolicy };
    batch: {
      scheduledDelayMillis?: number;
      maxQueueSize?: number;
      maxExportBatchSize?: number;
      exportTimeoutMillis?: number;
    };
    /** OTLP log export (OTEL_LOGS_EXPORTER=otlp, the default, or none). */
    logs: {
      enabled: boolean;
      /** LOGS_EXPORT_UNSAMPLED: the lines of unsampled traces exported, all or WARN and up. */
      unsampled: LogsExportUnsampled;
      otlpLogsUrl: string;
      batch: {
        scheduledDelayMillis?: number;
        maxQueueSize?: number;
        maxExportBatchSize?: number;
        exportTimeoutMillis?: number;
      };
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

// What makes a secret guessable, checked at start-up: API keys and the admin token must not be
// of little entropy, and the admin token (which switches faults on for everyone) must be long
// and not a placeholder copied from an example. (Here, not in a module of its own: the Helm
// chart's test loads this file alone.)
/** API keys shorter than this can be guessed; `make configure` generates 32 characters. */
export const MIN_API_KEY_LENGTH = 16;
/** The admin token: 32 characters, what `make configure` and `make native` generate. */
export const MIN_ADMIN_TOKEN_LENGTH = 32;
/**
 * Entropy a secret must carry at least, estimated from its own characters (length × the
 * Shannon entropy of their frequencies): 16 random base64url characters give about 60 bits;
 * `aaaaaaaaaaaaaaaa` gives 0, `abababababababab` 16, `abcdabcdabcdabcd` 32.
 */
export const MIN_SECRET_BITS = 48;

// Words of the placeholders people copy from examples ("change-me-please", "my-admin-token",
// "secret123…"): a random token holds one of them by chance with odds under one in a million.
const PLACEHOLDER_WORDS = [
  'changeme',
  'password',
  'passwd',
  'secret',
  'admin',
  'token',
  'example',
  'default',
  'letmein',
  'qwerty',
  'placeholder',
  '123456',
];

export function estimatedBits(secret: string): number {
  const counts = new Map<string, number>();
  for (const char of secret) counts.set(char, (counts.get(char) ?? 0) + 1);
  const length = [...secret].length;
  let bitsPerChar = 0;
  for (const count of counts.values()) {
    const p = count / length;
    bitsPerChar -= p * Math.log2(p);
  }
  return length * bitsPerChar;
}

/** Why `secret` is too easy to guess, or undefined. */
export function secretWeakness(secret: string): string | undefined {
  if (estimatedBits(secret) < MIN_SECRET_BITS) {
    return `has too little entropy (under ${MIN_SECRET_BITS} bits: repeated characters or a short pattern)`;
  }
  return undefined;
}

/** Why `token` will not do as ADMIN_TOKEN, or undefined. */
export function adminTokenWeakness(token: string): string | undefined {
  if (token.length < MIN_ADMIN_TOKEN_LENGTH) {
    return `must be at least ${MIN_ADMIN_TOKEN_LENGTH} characters (make configure generates one; or unset it to disable /admin)`;
  }
  const letters = token.toLowerCase().replace(/[^a-z0-9]/g, '');
  const word = PLACEHOLDER_WORDS.find((placeholder) => letters.includes(placeholder));
  if (word !== undefined) {
    return `looks like a placeholder (it contains "${word}"): generate one, e.g. openssl rand -hex 24`;
  }
  return secretWeakness(token);
}

export const SAMPLER_NAMES = [
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
] as const;
export type SamplerName = (typeof SAMPLER_NAMES)[number];
/** The log records of traces the head sampler dropped: `all` exported, or `warn` and up. */
export const LOGS_EXPORT_UNSAMPLED = ['all', 'warn'] as const;
export type LogsExportUnsampled = (typeof LOGS_EXPORT_UNSAMPLED)[number];

/** What a remote parent's "sampled" flag decides: `ratio` (the service's own ratio) or `follow`. */
export const REMOTE_PARENT_POLICIES = ['ratio', 'follow'] as const;
export type RemoteParentPolicy = (typeof REMOTE_PARENT_POLICIES)[number];

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

/** Addresses and CIDR ranges, comma-separated: `10.0.0.0/8, 192.168.1.4, fd00::/8`. */
const addressList = z
  .string()
  .trim()
  .transform((value, ctx) => {
    const entries = value === '' ? [] : value.split(',').map((entry) => entry.trim());
    for (const entry of entries) {
      const [address = '', prefix] = entry.split('/');
      const family = isIP(address);
      const bits = family === 6 ? 128 : 32;
      const validPrefix =
        prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= bits);
      if (family === 0 || !validPrefix) {
        ctx.addIssue({ code: 'custom', message: `"${entry}" is not an IP address or CIDR range` });
      }
    }
    return entries;
  });

/** Addresses only this machine reaches: where the public demo keys may listen. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  return (
    bare === 'localhost' ||
    bare === '::1' ||
    /^(::ffff:)?127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(bare)
  );
}

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
  // Loopback unless told otherwise; the image sets HOST=0.0.0.0 (a container's port is
  // published by the runtime), compose and the chart also MANAGEMENT_HOST.
  HOST: z.string().trim().min(1).default('127.0.0.1'),
  MANAGEMENT_PORT: port.default(9464),
  MANAGEMENT_HOST: z.string().trim().min(1).default('127.0.0.1'),
  // The simulated provider as an OpenAI-compatible API on its own port (http/provider-api.ts),
  // for agent services in other processes; its requests never count in this service's metrics.
  PROVIDER_PORT: port.optional(),
  PROVIDER_API_KEY: z.string().trim().min(MIN_API_KEY_LENGTH).optional(),
  DATA_DIR: z.string().trim().min(1).default('./data'),
  LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
  API_KEYS: apiKeyList.optional(),
  DEMO_MODE: booleanFlag.default(false),
  DEMO_MODE_ALLOW_PUBLIC: booleanFlag.default(false),
  AUTH_FAILURE_RPS: z.coerce.number().positive().default(0.5),
  AUTH_FAILURE_BURST: positiveInt.default(20),
  ADMIN_TOKEN: z
    .string()
    .superRefine((token, ctx) => {
      const weakness = adminTokenWeakness(token);
      if (weakness) ctx.addIssue({ code: 'custom', message: weakness });
    })
    .optional(),
  RATE_LIMIT_FREE_RPS: z.coerce.number().positive().default(5),
  RATE_LIMIT_FREE_BURST: positiveInt.default(10),
  RATE_LIMIT_PRO_RPS: z.coerce.number().positive().default(50),
  RATE_LIMIT_PRO_BURST: positiveInt.default(100),
  BODY_LIMIT_BYTES: positiveInt.max(16 * 1024 * 1024).default(64 * 1024),
  RUN_TIMEOUT_MS: positiveInt.default(30_000),
  MAX_CONCURRENT_RUNS: positiveInt.default(64),
  // One key holds at most half (pro) or a quarter (free) of MAX_CONCURRENT_RUNS.
  RUN_CONCURRENCY_FREE: positiveInt.default(16),
  RUN_CONCURRENCY_PRO: positiveInt.default(32),
  METRICS_CACHE_MS: nonNegativeInt.max(60_000).default(1_000),
  HTTP_HEADERS_TIMEOUT_MS: positiveInt.default(10_000),
  HTTP_REQUEST_TIMEOUT_MS: positiveInt.default(30_000),
  HTTP_BODY_TIMEOUT_MS: positiveInt.default(10_000),
  HTTP_KEEP_ALIVE_TIMEOUT_MS: positiveInt.default(5_000),
  MAX_CONNECTIONS: positiveInt.default(1024),
  // A quarter of MAX_CONNECTIONS: one address (one host, or everyone behind one NAT) cannot
  // fill the listener.
  MAX_CONNECTIONS_PER_ADDRESS: positiveInt.default(256),
  TRUSTED_PROXIES: addressList.default([]),
  RETENTION_MAX_AGE_HOURS: z.coerce.number().positive().default(168),
  RETENTION_MAX_BYTES: positiveInt.min(1024 * 1024).default(512 * 1024 * 1024),
  RETENTION_INTERVAL_MS: positiveInt.default(60_000),
  LLM_LATENCY_SCALE: z.coerce.number().min(0).max(100).default(1),
  LLM_ERROR_RATE: ratio.default(0.001),
  // The name OpenTelemetry's GenAI instrumentations use for the same switch; off by default.
  OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: booleanFlag.default(false),
  // 2,048 characters: a prompt's gist, far under the scrubber's 8,192 and the Collector's limits.
  GENAI_CAPTURE_MAX_CHARS: positiveInt.max(8192).default(2048),
  CACHE_TTL_SECONDS: nonNegativeInt.default(300),
  CACHE_MAX_ENTRIES: nonNegativeInt.default(1000),
  CACHE_MAX_BYTES: nonNegativeInt.default(16 * 1024 * 1024),
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
  OTEL_TRACES_SAMPLER: z.enum(SAMPLER_NAMES).default('parentbased_always_on'),
  OTEL_TRACES_SAMPLER_ARG: ratio.default(1),
  TRACES_REMOTE_PARENT_SAMPLED: z.enum(REMOTE_PARENT_POLICIES).default('ratio'),
  // The batch span processor's standard knobs; unset means the SDK's defaults.
  OTEL_BSP_SCHEDULE_DELAY: nonNegativeInt.optional(),
  OTEL_BSP_MAX_QUEUE_SIZE: positiveInt.optional(),
  OTEL_BSP_MAX_EXPORT_BATCH_SIZE: positiveInt.optional(),
  OTEL_BSP_EXPORT_TIMEOUT: positiveInt.optional(),
  // Logs: `none` keeps them on stdout only. The batch log record processor's standard knobs;
  // unset means the SDK's defaults (queue 2048 records, batches of 512, every 1 s, 30 s).
  OTEL_LOGS_EXPORTER: z.enum(['otlp', 'none']).default('otlp'),
  // Which lines of a trace the head sampler dropped are exported: every one, or WARN and up
  // (the rest stay on stdout). Lines outside any trace are always exported.
  LOGS_EXPORT_UNSAMPLED: z.enum(LOGS_EXPORT_UNSAMPLED).default('all'),
  OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: url.optional(),
  OTEL_BLRP_SCHEDULE_DELAY: nonNegativeInt.optional(),
  OTEL_BLRP_MAX_QUEUE_SIZE: positiveInt.optional(),
  OTEL_BLRP_MAX_EXPORT_BATCH_SIZE: positiveInt.optional(),
  OTEL_BLRP_EXPORT_TIMEOUT: positiveInt.optional(),
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

type Env = z.output<typeof envSchema>;

/** Ports, timeouts and connection limits that only make sense together; the demo keys' host. */
function listenerProblems(e: Env): string[] {
  const problems: string[] = [];
  if (e.MANAGEMENT_PORT !== 0 && e.MANAGEMENT_PORT === e.PORT) {
    problems.push('MANAGEMENT_PORT: must differ from PORT');
  }
  if (e.PROVIDER_PORT !== undefined && e.PROVIDER_API_KEY === undefined) {
    problems.push('PROVIDER_API_KEY: must be set when PROVIDER_PORT is (its callers send it)');
  }
  if (e.PROVIDER_PORT && [e.PORT, e.MANAGEMENT_PORT].includes(e.PROVIDER_PORT)) {
    problems.push('PROVIDER_PORT: must differ from PORT and MANAGEMENT_PORT');
  }
  for (const name of ['HTTP_HEADERS_TIMEOUT_MS', 'HTTP_BODY_TIMEOUT_MS'] as const) {
    if (e[name] > e.HTTP_REQUEST_TIMEOUT_MS) {
      problems.push(`${name}: must not be longer than HTTP_REQUEST_TIMEOUT_MS`);
    }
  }
  if (e.MAX_CONNECTIONS_PER_ADDRESS > e.MAX_CONNECTIONS) {
    problems.push('MAX_CONNECTIONS_PER_ADDRESS: must not be more than MAX_CONNECTIONS');
  }
  if (e.DEMO_MODE && !isLoopbackHost(e.HOST) && !e.DEMO_MODE_ALLOW_PUBLIC) {
    problems.push(
      `DEMO_MODE: the public demo keys would be accepted on ${e.HOST}, reachable from other machines; listen on 127.0.0.1, or set DEMO_MODE_ALLOW_PUBLIC=true where only this host reaches the port (compose publishes it on 127.0.0.1)`,
    );
  }
  return problems;
}

/** Keys that can be guessed, an admin token that is also a key. */
function credentialProblems(e: Env, apiKeys: readonly ApiKeyEntry[]): string[] {
  const problems: string[] = [];
  if (e.API_KEYS === undefined && !e.DEMO_MODE) {
    problems.push(
      'API_KEYS: not set; `make configure` generates keys into .env (or set DEMO_MODE=true for the demo keys)',
    );
  }
  for (const { key } of e.API_KEYS ?? []) {
    const weakness =
      key.length < MIN_API_KEY_LENGTH
        ? `is shorter than ${MIN_API_KEY_LENGTH} characters`
        : secretWeakness(key);
    if (weakness) problems.push(`API_KEYS: key "${redact(key)}" ${weakness}`);
  }
  if (e.ADMIN_TOKEN !== undefined && apiKeys.some(({ key }) => key === e.ADMIN_TOKEN)) {
    problems.push('ADMIN_TOKEN: must not be one of the API_KEYS');
  }
  return problems;
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
  const demoKeys = e.DEMO_MODE ? apiKeyList.parse(DEMO_API_KEYS) : [];
  const apiKeys = [...(e.API_KEYS ?? []), ...demoKeys];
  const problems = [...listenerProblems(e), ...credentialProblems(e, apiKeys)];
  if (e.TELEMETRY_SHUTDOWN_TIMEOUT_MS >= e.SHUTDOWN_GRACE_MS) {
    problems.push('TELEMETRY_SHUTDOWN_TIMEOUT_MS: must be shorter than SHUTDOWN_GRACE_MS');
  }
  // The drain window (server.ts): at least 2 s, so that cancelled work has 1 s to answer.
  if (e.SHUTDOWN_DELAY_MS + e.TELEMETRY_SHUTDOWN_TIMEOUT_MS + 2_250 > e.SHUTDOWN_GRACE_MS) {
    problems.push(
      'SHUTDOWN_DELAY_MS: with TELEMETRY_SHUTDOWN_TIMEOUT_MS it must leave a drain window of at least 2 s (plus 250 ms) within SHUTDOWN_GRACE_MS',
    );
  }
  if (problems.length > 0) throw new ConfigError(problems);

  return {
    port: e.PORT,
    host: e.HOST,
    managementPort: e.MANAGEMENT_PORT,
    provider: { port: e.PROVIDER_PORT, apiKey: e.PROVIDER_API_KEY },
    managementHost: e.MANAGEMENT_HOST,
    dataDir: e.DATA_DIR,
    logLevel: e.LOG_LEVEL,
    apiKeys,
    usingDemoKeys: e.DEMO_MODE,
    authFailures: { ratePerSecond: e.AUTH_FAILURE_RPS, burst: e.AUTH_FAILURE_BURST },
    adminToken: e.ADMIN_TOKEN,
    rateLimits: {
      free: { ratePerSecond: e.RATE_LIMIT_FREE_RPS, burst: e.RATE_LIMIT_FREE_BURST },
      pro: { ratePerSecond: e.RATE_LIMIT_PRO_RPS, burst: e.RATE_LIMIT_PRO_BURST },
    },
    bodyLimitBytes: e.BODY_LIMIT_BYTES,
    runTimeoutMs: e.RUN_TIMEOUT_MS,
    maxConcurrentRuns: e.MAX_CONCURRENT_RUNS,
    runConcurrencyPerKey: { free: e.RUN_CONCURRENCY_FREE, pro: e.RUN_CONCURRENCY_PRO },
    metricsCacheMs: e.METRICS_CACHE_MS,
    http: {
      headersTimeoutMs: e.HTTP_HEADERS_TIMEOUT_MS,
      requestTimeoutMs: e.HTTP_REQUEST_TIMEOUT_MS,
      bodyTimeoutMs: e.HTTP_BODY_TIMEOUT_MS,
      keepAliveTimeoutMs: e.HTTP_KEEP_ALIVE_TIMEOUT_MS,
      maxConnections: e.MAX_CONNECTIONS,
      maxConnectionsPerAddress: e.MAX_CONNECTIONS_PER_ADDRESS,
      trustedProxies: e.TRUSTED_PROXIES,
    },
    retention: {
      maxAgeHours: e.RETENTION_MAX_AGE_HOURS,
      maxBytes: e.RETENTION_MAX_BYTES,
      intervalMs: e.RETENTION_INTERVAL_MS,
    },
    llm: {
      latencyScale: e.LLM_LATENCY_SCALE,
      errorRate: e.LLM_ERROR_RATE,
      captureContent: e.OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT,
      captureMaxChars: e.GENAI_CAPTURE_MAX_CHARS,
    },
    cache: {
      ttlSeconds: e.CACHE_TTL_SECONDS,
      maxEntries: e.CACHE_MAX_ENTRIES,
      maxBytes: e.CACHE_MAX_BYTES,
    },
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
      sampler: {
        name: e.OTEL_TRACES_SAMPLER,
        ratio: e.OTEL_TRACES_SAMPLER_ARG,
        remoteParentSampled: e.TRACES_REMOTE_PARENT_SAMPLED,
      },
      batch: {
        scheduledDelayMillis: e.OTEL_BSP_SCHEDULE_DELAY,
        maxQueueSize: e.OTEL_BSP_MAX_QUEUE_SIZE,
        maxExportBatchSize: e.OTEL_BSP_MAX_EXPORT_BATCH_SIZE,
        exportTimeoutMillis: e.OTEL_BSP_EXPORT_TIMEOUT,
      },
      logs: {
        enabled: e.OTEL_LOGS_EXPORTER === 'otlp',
        unsampled: e.LOGS_EXPORT_UNSAMPLED,
        otlpLogsUrl:
          e.OTEL_EXPORTER_OTLP_LOGS_ENDPOINT ??
          `${e.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, '')}/v1/logs`,
        batch: {
          scheduledDelayMillis: e.OTEL_BLRP_SCHEDULE_DELAY,
          maxQueueSize: e.OTEL_BLRP_MAX_QUEUE_SIZE,
          maxExportBatchSize: e.OTEL_BLRP_MAX_EXPORT_BATCH_SIZE,
          exportTimeoutMillis: e.OTEL_BLRP_EXPORT_TIMEOUT,
        },
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
