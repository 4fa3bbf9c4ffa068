// Where the stack is: the URLs and admin token that `make load` and `make alert-*` use.
// Order: command-line flags, then environment variables, then a running `make native` (its
// `.native/env`), then the compose stack: 127.0.0.1 with the host ports of the repo's `.env`
// (APP_PORT, PROMETHEUS_PORT, …), else the defaults of docs/architecture.md. The admin token
// falls back to ADMIN_TOKEN in `.env`, which `make up`'s configure step writes. API keys (one per
// tier) come the same way: LOAD_FREE_KEY / LOAD_PRO_KEY, else the API_KEYS of the running
// `make native` (it generates its own), else the API_KEYS `make configure` wrote into `.env`.
// Inside the tools container (scripts/host/tools.sh sets STACK_HOSTS=compose) the compose stack
// is reached on its own network, by service name and container port, and no `make native` of
// the host is visible.
import path from 'node:path';
import { readEnvFile } from '../env-file.ts';

export const REPO_DIR = path.resolve(import.meta.dirname, '../../..');

export interface Endpoints {
  app: string;
  prometheus: string;
  alertmanager: string;
  receiver: string;
  jaeger: string;
  /** The log store's query API (LogsQL under /select/logsql/). */
  victorialogs: string;
  /** Compose only: `make native` has no Grafana. */
  grafana: string;
  adminToken?: string;
  /** Grafana's admin login (compose: GRAFANA_ADMIN_USER/PASSWORD of `.env`), for `make smoke`. */
  grafanaAuth?: { user: string; password: string };
  /** A key of each tier, where one is known; the app refuses requests without one. */
  apiKeys: Partial<ApiKeysByTier>;
  /** Set when a `make native` is running: its pid and control URL (stop/start the app). */
  native?: { pid: number; controlUrl?: string };
  /** Where the URLs came from, for the first line a script prints. */
  origin: string;
  /** The same URLs as a person opens them on the host (differs inside the tools container). */
  shown: Record<Service, string>;
}

export const DEFAULT_URLS = {
  app: 'http://127.0.0.1:8000',
  prometheus: 'http://127.0.0.1:9090',
  alertmanager: 'http://127.0.0.1:9093',
  receiver: 'http://127.0.0.1:9095',
  jaeger: 'http://127.0.0.1:16686',
  victorialogs: 'http://127.0.0.1:9428',
  grafana: 'http://127.0.0.1:3001',
} as const;

// The compose file publishes each service on the host port named here (.env.example).
const COMPOSE_PORT_VARS = {
  app: 'APP_PORT',
  prometheus: 'PROMETHEUS_PORT',
  alertmanager: 'ALERTMANAGER_PORT',
  receiver: 'ALERT_RECEIVER_PORT',
  jaeger: 'JAEGER_PORT',
  victorialogs: 'VICTORIALOGS_PORT',
  grafana: 'GRAFANA_PORT',
} as const;

const ENV_NAMES = {
  app: 'APP_URL',
  prometheus: 'PROMETHEUS_URL',
  alertmanager: 'ALERTMANAGER_URL',
  receiver: 'RECEIVER_URL',
  jaeger: 'JAEGER_URL',
  victorialogs: 'VICTORIALOGS_URL',
  grafana: 'GRAFANA_URL',
} as const;

/** The compose services on their network (docker-compose.yml's service names and ports). */
export const COMPOSE_NETWORK_URLS = {
  app: 'http://app:8000',
  prometheus: 'http://prometheus:9090',
  alertmanager: 'http://alertmanager:9093',
  receiver: 'http://alert-receiver:9095',
  jaeger: 'http://jaeger:16686',
  victorialogs: 'http://victorialogs:9428',
  grafana: 'http://grafana:3000',
} as const;

type Service = keyof typeof DEFAULT_URLS;

/** Whether the scripts run on the compose network (the tools container), not on the host. */
export function onComposeNetwork(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.STACK_HOSTS === 'compose';
}

export interface ApiKeysByTier {
  free: string;
  pro: string;
}

/** The first key of each tier in an API_KEYS value (`key:tier,key:tier`, the app's format). */
export function keysByTier(apiKeys: string | undefined): Partial<ApiKeysByTier> {
  const keys: Partial<ApiKeysByTier> = {};
  for (const entry of (apiKeys ?? '').split(',')) {
    const separator = entry.lastIndexOf(':');
    const key = entry.slice(0, separator).trim();
    const tier = entry.slice(separator + 1).trim();
    if (separator > 0 && key !== '' && (tier === 'free' || tier === 'pro')) keys[tier] ??= key;
  }
  return keys;
}

function readEnv(file: string): Record<string, string> {
  return Object.fromEntries(readEnvFile(file));
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function nativeStateDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(env.NATIVE_STATE_DIR || path.join(REPO_DIR, '.native'));
}

/** The `env` file of a `make native` whose process is still alive, if any. */
export function runningNative(
  env: NodeJS.ProcessEnv = process.env,
): Record<string, string> | undefined {
  const vars = readEnv(path.join(nativeStateDir(env), 'env'));
  const pid = Number(vars.NATIVE_PID);
  return pid > 0 && isAlive(pid) ? vars : undefined;
}

export type EndpointFlags = Partial<Record<`${Service}-url` | 'admin-token', string>>;

export function resolveEndpoints(
  flags: EndpointFlags = {},
  env: NodeJS.ProcessEnv = process.env,
  repoDir = REPO_DIR,
): Endpoints {
  const inNetwork = onComposeNetwork(env);
  const native = inNetwork ? undefined : runningNative(env);
  const dotenv = readEnv(path.join(repoDir, '.env'));
  const urls = {} as Record<Service, string>;
  const shown = {} as Record<Service, string>;
  for (const s of Object.keys(DEFAULT_URLS) as Service[]) {
    const composePort = dotenv[COMPOSE_PORT_VARS[s]];
    const onHost = composePort ? `http://127.0.0.1:${composePort}` : DEFAULT_URLS[s];
    const compose = inNetwork ? COMPOSE_NETWORK_URLS[s] : onHost;
    const v = flags[`${s}-url`] || env[ENV_NAMES[s]] || native?.[ENV_NAMES[s]] || compose;
    urls[s] = v.replace(/\/+$/, '');
    shown[s] = urls[s] === COMPOSE_NETWORK_URLS[s] ? onHost : urls[s];
  }
  const adminToken =
    flags['admin-token'] ||
    env.ADMIN_TOKEN ||
    native?.ADMIN_TOKEN ||
    dotenv.ADMIN_TOKEN ||
    undefined;
  const grafanaPassword = env.GRAFANA_ADMIN_PASSWORD || dotenv.GRAFANA_ADMIN_PASSWORD;
  const grafanaAuth = grafanaPassword
    ? {
        user: env.GRAFANA_ADMIN_USER || dotenv.GRAFANA_ADMIN_USER || 'admin',
        password: grafanaPassword,
      }
    : undefined;
  const nativeKeys = keysByTier(native?.API_KEYS);
  const composeKeys = keysByTier(dotenv.API_KEYS);
  const apiKeys: Partial<ApiKeysByTier> = {};
  for (const tier of ['free', 'pro'] as const) {
    const fromEnv = tier === 'free' ? env.LOAD_FREE_KEY : env.LOAD_PRO_KEY;
    const key = fromEnv || (native ? nativeKeys[tier] : composeKeys[tier]);
    if (key) apiKeys[tier] = key;
  }
  const custom =
    Object.keys(flags).some((k) => k.endsWith('-url')) ||
    Object.values(ENV_NAMES).some((n) => env[n]);
  const origin = native
    ? `make native (pid ${native.NATIVE_PID})`
    : custom
      ? 'the URLs given by flags/environment'
      : inNetwork
        ? 'the compose stack (make up), on its network'
        : 'the compose stack (make up)';
  return {
    ...urls,
    adminToken,
    grafanaAuth,
    apiKeys,
    native: native
      ? { pid: Number(native.NATIVE_PID), controlUrl: native.NATIVE_CONTROL_URL }
      : undefined,
    origin,
    shown,
  };
}

/** The flags every script accepts for the endpoints, in node:util parseArgs form. */
export const ENDPOINT_OPTIONS = {
  'app-url': { type: 'string' },
  'prometheus-url': { type: 'string' },
  'alertmanager-url': { type: 'string' },
  'receiver-url': { type: 'string' },
  'jaeger-url': { type: 'string' },
  'admin-token': { type: 'string' },
} as const;

export const ENDPOINT_HELP = `Endpoints (flag, else environment variable, else a running make native, else compose's):
  --app-url URL           APP_URL            default ${DEFAULT_URLS.app}
  --prometheus-url URL    PROMETHEUS_URL     default ${DEFAULT_URLS.prometheus}
  --alertmanager-url URL  ALERTMANAGER_URL   default ${DEFAULT_URLS.alertmanager}
  --receiver-url URL      RECEIVER_URL       default ${DEFAULT_URLS.receiver}
  --admin-token TOKEN     ADMIN_TOKEN        default: make native's token, else ADMIN_TOKEN in .env
API keys: LOAD_FREE_KEY / LOAD_PRO_KEY, else make native's, else API_KEYS in .env (make configure)`;
