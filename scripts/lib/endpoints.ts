// Where the stack is: the one resolver every script asks (make open, load, alerts, smoke,
// alert-*, the time-scaled make up's last step). Nothing else reads `.native/env`, the ports of
// `.env` or the *_URL variables. Order: command-line flags, then environment variables, then a
// running `make native` (its `.native/env`), then the compose stack: 127.0.0.1 with the host
// ports of the repo's `.env` (APP_PORT, PROMETHEUS_PORT, …), else the defaults of
// docs/architecture.md. The admin token falls back to ADMIN_TOKEN in `.env`, which `make up`'s
// configure step writes. API keys (one per tier) come the same way: LOAD_FREE_KEY /
// LOAD_PRO_KEY, else the API_KEYS of the running `make native` (it generates its own), else the
// API_KEYS `make configure` wrote into `.env`. The time scale: --time-scale, TIME_SCALE, the
// running `make native`'s, else the one `make configure TIME_SCALE=…` rendered for compose (its
// state file, TIME_SCALE_STATE). The folder the host's app control answers in (APP_CONTROL_DIR,
// set by scripts/host/app-control.sh for the tools container).
// Inside the tools container (scripts/host/tools.sh sets STACK_HOSTS=compose) the compose stack
// is reached on its own network, by service name and container port, and no `make native` of
// the host is visible.
//
// The services it knows are the endpoints of the components table (scripts/lib/components.ts).
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import {
  ENDPOINT_NAMES,
  ENDPOINTS,
  NOT_ALWAYS_NATIVE,
  type Endpoint,
  type EndpointFlag,
} from './components.ts';
import { readEnvFile } from './env-file.ts';
import { REPO_ROOT } from './repo.ts';
import {
  parseTimeScale,
  REAL_TIME,
  TIME_SCALE_STATE,
  timeScaleFromState,
  type TimeScale,
} from './time-scale.ts';

/**
 * Each service a script reaches (scripts/lib/components.ts, the table of the stack's
 * components): its default host port, the `.env` variable compose publishes it on, the variable
 * that overrides its URL (also the key in `make native`'s env file), its URL on the compose
 * network (service name, container port) and its flag.
 */
export const SERVICES = ENDPOINTS;
export type Service = Endpoint;
const SERVICE_NAMES = ENDPOINT_NAMES;

export const DEFAULT_URLS = Object.fromEntries(
  SERVICE_NAMES.map((s) => [s, `http://127.0.0.1:${SERVICES[s].port}`]),
) as Record<Service, string>;

export type Endpoints = Record<Service, string> & {
  adminToken?: string;
  /** Grafana's admin login (compose: GRAFANA_ADMIN_USER/PASSWORD of `.env`), for `make smoke`. */
  grafanaAuth?: { user: string; password: string };
  /** Whether Grafana's dashboards open without a login (compose's GRAFANA_ANONYMOUS_ENABLED). */
  grafanaAnonymous: boolean;
  /** A key of each tier, where one is known; the app refuses requests without one. */
  apiKeys: Partial<ApiKeysByTier>;
  /** Services the stack found does not run (a `make native` without Grafana, say). */
  absent: Service[];
  /** Set when a `make native` is running: its pid and control URL (stop/start the app). */
  native?: { pid: number; controlUrl?: string };
  /** The stack's time scale (speed-up 60, factor 1/60: an hour becomes a minute). */
  timeScale: TimeScale;
  /** Where the host answers the app's stop and start requests (the tools container's way). */
  appControlDir?: string;
  /** Where the URLs came from, for the first line a script prints. */
  origin: string;
  /** The same URLs as a person opens them on the host (differs inside the tools container). */
  shown: Record<Service, string>;
  /** The services whose URL a flag, the environment or a running make native named. */
  given: Service[];
};
/**
 * The environment variables this resolver reads, and no other script: each service's URL
 * variable, and the login, keys, time scale and state it finds the stack by.
 */
export const RESOLVER_VARIABLES: readonly string[] = [
  ...SERVICE_NAMES.map((s) => SERVICES[s].urlVar),
  ...['ADMIN_TOKEN', 'GRAFANA_ADMIN_USER', 'GRAFANA_ADMIN_PASSWORD', 'LOAD_FREE_KEY'],
  ...['LOAD_PRO_KEY', 'TIME_SCALE', 'NATIVE_STATE_DIR', 'STACK_HOSTS', 'APP_CONTROL_DIR'],
];

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

/** The scale `make configure TIME_SCALE=…` rendered compose's configs for, if it did. */
export function renderedTimeScale(repoDir: string): TimeScale | undefined {
  const file = path.join(repoDir, TIME_SCALE_STATE);
  if (!existsSync(file)) return undefined;
  return timeScaleFromState(readFileSync(file, 'utf8'), file);
}

/** The scale asked for now (--time-scale, else TIME_SCALE), without any stack's fallback. */
export function requestedTimeScale(
  flags: EndpointFlags = {},
  env: NodeJS.ProcessEnv = process.env,
): TimeScale | undefined {
  const text = flags['time-scale'] || env.TIME_SCALE;
  return text ? parseTimeScale(text) : undefined;
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
  return path.resolve(env.NATIVE_STATE_DIR || path.join(REPO_ROOT, '.native'));
}

/** The `env` file of a `make native` whose process is still alive, if any. */
export function runningNative(
  env: NodeJS.ProcessEnv = process.env,
): Record<string, string> | undefined {
  const vars = readEnv(path.join(nativeStateDir(env), 'env'));
  const pid = Number(vars.NATIVE_PID);
  return pid > 0 && isAlive(pid) ? vars : undefined;
}

export type EndpointFlags = Partial<Record<EndpointFlag | 'admin-token' | 'time-scale', string>>;

/** What the resolver reads: flags, the environment, a running make native, the repo's `.env`. */
interface Sources {
  flags: EndpointFlags;
  env: NodeJS.ProcessEnv;
  native?: Record<string, string>;
  dotenv: Record<string, string>;
  inNetwork: boolean;
}

export function resolveEndpoints(
  flags: EndpointFlags = {},
  env: NodeJS.ProcessEnv = process.env,
  repoDir = REPO_ROOT,
): Endpoints {
  const inNetwork = onComposeNetwork(env);
  const native = inNetwork ? undefined : runningNative(env);
  const dotenv = readEnv(path.join(repoDir, '.env'));
  const src: Sources = { flags, env, native, dotenv, inNetwork };
  const { urls, shown, given } = serviceUrls(src);
  return {
    ...urls,
    adminToken:
      flags['admin-token'] ||
      env.ADMIN_TOKEN ||
      native?.ADMIN_TOKEN ||
      dotenv.ADMIN_TOKEN ||
      undefined,
    ...grafanaLogin(src),
    apiKeys: apiKeys(src),
    absent: native
      ? NOT_ALWAYS_NATIVE.filter((s) => !native[SERVICES[s].urlVar] && !env[SERVICES[s].urlVar])
      : [],
    native: native
      ? { pid: Number(native.NATIVE_PID), controlUrl: native.NATIVE_CONTROL_URL }
      : undefined,
    timeScale: timeScale(src, repoDir),
    appControlDir: env.APP_CONTROL_DIR ? path.resolve(repoDir, env.APP_CONTROL_DIR) : undefined,
    origin: origin(src),
    shown,
    given,
  };
}

/** Each service's URL: flag, environment, make native's env file, else compose's. */
function serviceUrls({ flags, env, native, dotenv, inNetwork }: Sources) {
  const urls = {} as Record<Service, string>;
  const shown = {} as Record<Service, string>;
  const given: Service[] = [];
  for (const s of SERVICE_NAMES) {
    const { portVar, urlVar, network, flag } = SERVICES[s];
    const composePort = dotenv[portVar];
    const onHost = composePort ? `http://127.0.0.1:${composePort}` : DEFAULT_URLS[s];
    const compose = inNetwork ? network : onHost;
    const named = flags[flag] || env[urlVar] || native?.[urlVar];
    if (named) given.push(s);
    const v = named || compose;
    urls[s] = v.replace(/\/+$/, '');
    shown[s] = urls[s] === network ? onHost : urls[s];
  }
  return { urls, shown, given };
}

function grafanaLogin({ env, dotenv }: Sources) {
  const password = env.GRAFANA_ADMIN_PASSWORD || dotenv.GRAFANA_ADMIN_PASSWORD;
  const user = env.GRAFANA_ADMIN_USER || dotenv.GRAFANA_ADMIN_USER || 'admin';
  return {
    grafanaAuth: password ? { user, password } : undefined,
    grafanaAnonymous: (dotenv.GRAFANA_ANONYMOUS_ENABLED || 'true') !== 'false',
  };
}

function apiKeys({ env, native, dotenv }: Sources): Partial<ApiKeysByTier> {
  const stackKeys = keysByTier(native ? native.API_KEYS : dotenv.API_KEYS);
  const keys: Partial<ApiKeysByTier> = {};
  for (const tier of ['free', 'pro'] as const) {
    const key = (tier === 'free' ? env.LOAD_FREE_KEY : env.LOAD_PRO_KEY) || stackKeys[tier];
    if (key) keys[tier] = key;
  }
  return keys;
}

/** Given, else a running make native's, else the one `make up TIME_SCALE=…` was rendered for. */
function timeScale({ flags, env, native }: Sources, repoDir: string): TimeScale {
  const asked = requestedTimeScale(flags, env);
  if (asked) return asked;
  if (native)
    return native.NATIVE_TIME_SCALE ? parseTimeScale(native.NATIVE_TIME_SCALE) : REAL_TIME;
  return renderedTimeScale(repoDir) ?? REAL_TIME;
}

function origin({ flags, env, native, inNetwork }: Sources): string {
  const custom =
    Object.keys(flags).some((k) => k.endsWith('-url')) ||
    SERVICE_NAMES.some((s) => env[SERVICES[s].urlVar]);
  if (native) return `make native (pid ${native.NATIVE_PID})`;
  if (custom) return CUSTOM_ORIGIN;
  return inNetwork ? 'the compose stack (make up), on its network' : 'the compose stack (make up)';
}

/** The flags every script accepts for the endpoints, in node:util parseArgs form. */
export const ENDPOINT_OPTIONS = Object.fromEntries(
  [...SERVICE_NAMES.map((s) => SERVICES[s].flag), 'admin-token'].map((flag) => [
    flag,
    { type: 'string' },
  ]),
) as Record<EndpointFlag | 'admin-token', { type: 'string' }>;

/** The origin of URLs given by flags or the environment (not a stack the resolver found). */
export const CUSTOM_ORIGIN = 'the URLs given by flags/environment';

/** One line of the help: flag, variable, default and what it is. */
const helpLine = (flag: string, variable: string, value: string): string =>
  `  ${flag.padEnd(26)}${variable.padEnd(20)}${value}`;

export const ENDPOINT_HELP = [
  "Endpoints (flag, else environment variable, else a running make native, else compose's):",
  ...SERVICE_NAMES.map((s) => {
    const { flag, urlVar, about } = SERVICES[s];
    return helpLine(
      `--${flag} URL`,
      urlVar,
      `default ${DEFAULT_URLS[s]}${about ? ` (${about})` : ''}`,
    );
  }),
  helpLine(
    '--admin-token TOKEN',
    'ADMIN_TOKEN',
    "default: make native's token, else ADMIN_TOKEN in .env",
  ),
  "API keys: LOAD_FREE_KEY / LOAD_PRO_KEY, else make native's, else API_KEYS in .env (make configure)",
].join('\n');
