// What the attack suite runs against. `make test-attack` (ATTACK_SETTINGS=default) starts the
// service at its default settings; `make test` (the default here) scales its slow-client
// timeouts down tenfold so that a slowloris ends within seconds. Everything else (connection
// caps, run caps, rate limits, LLM latency) is the service's default in both.
import { randomBytes } from 'node:crypto';
import { FREE_KEY, PRO_KEY } from '../support/keys';

export const AT_DEFAULTS = process.env.ATTACK_SETTINGS === 'default';

/** The service's defaults (app/src/config.ts): what the attacks are sized by. */
export const DEFAULTS = {
  maxConnections: 1024,
  maxConnectionsPerAddress: 256,
  maxConcurrentRuns: 64,
  headersTimeoutMs: 10_000,
  bodyTimeoutMs: 10_000,
} as const;

/** Timeouts as the suite runs them: the defaults, or a tenth of them. */
export const TIMEOUTS = AT_DEFAULTS
  ? { headersMs: DEFAULTS.headersTimeoutMs, bodyMs: DEFAULTS.bodyTimeoutMs, requestMs: 30_000 }
  : { headersMs: 1_000, bodyMs: 1_000, requestMs: 3_000 };

// Generated per run, 32 characters like `make configure`'s keys.
export const ATTACK_KEY = randomBytes(24).toString('base64url');
/** The legitimate client's key: a pro key (its 50 requests/s leave room for the probe). */
export const PROBE_KEY = PRO_KEY;

/** The attacker plays a second host: every loopback address is this machine. */
export const ATTACKER_ADDRESS = '127.0.0.2';
export const PROBE_ADDRESS = '127.0.0.1';

/** The service's environment for the suite, over test/support/app.ts's test defaults. */
export function serviceEnv(otlpUrl: string): Record<string, string> {
  return {
    API_KEYS: `${FREE_KEY}:free,${PRO_KEY}:pro,${ATTACK_KEY}:pro`,
    // The defaults that testEnv changes for the other tests, back to what a user runs.
    LLM_LATENCY_SCALE: '1',
    RATE_LIMIT_PRO_RPS: '50',
    RATE_LIMIT_PRO_BURST: '100',
    RATE_LIMIT_FREE_RPS: '5',
    RATE_LIMIT_FREE_BURST: '10',
    METRICS_CACHE_MS: '1000',
    // The heap compose and the Helm chart give the service (under their 512 MiB limit).
    NODE_OPTIONS: '--max-old-space-size=320',
    OTEL_EXPORTER_OTLP_ENDPOINT: otlpUrl,
    HTTP_HEADERS_TIMEOUT_MS: String(TIMEOUTS.headersMs),
    HTTP_BODY_TIMEOUT_MS: String(TIMEOUTS.bodyMs),
    HTTP_REQUEST_TIMEOUT_MS: String(TIMEOUTS.requestMs),
  };
}
