// The monitored services `make native` runs: every entry of services.yml with `native:` (the
// schema in scripts/lib/services.ts says what each field means), one process each, built from
// its entry alone, so a fork's new service runs natively with no code of its own here.
//
// What the stack gives every one of them, not its entry: its port ($PORT, on 127.0.0.1 as
// $HOST), its OTEL_SERVICE_NAME (the entry's name), where to send OTLP (the Collector's
// OTLP/HTTP URL, or OTEL_SDK_DISABLED when the telemetry pipeline does not run), how often to
// export metrics (the scrape interval, scaled with it in tests) and the semantic-convention
// opt-in the generated rules read (docs/forking.md). Its own `env` comes last: addresses in
// it are written as on the compose network (http://app:8001/v1) and mapped to this stack's
// local ports; `${NAME}` in it or in the command names one of the stack's values.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { loadServices, type Service } from '../services.ts';
import type { ProcessSpec, Supervisor } from '../supervisor.ts';
import { mapAddress } from './rewrite.ts';

export type NativeService = Service & { native: NonNullable<Service['native']> };

/** What a service's process is built from, beside its entry. */
export interface ServicesContext {
  repoDir: string;
  /** Compose `host:port` → the local port it got, the entries' own ports included. */
  ports: Record<string, number>;
  /** Where each service's log goes (<name>.log). */
  logs: string;
  /** The Collector's OTLP/HTTP base URL, when the telemetry pipeline runs. */
  otlpHttpUrl?: string;
  /** How often its SDK exports metrics: the scrape interval of everything else. */
  metricExportIntervalMs: number;
  /** Values an entry may name as `${NAME}` (PORT and HOST are always there). */
  variables: Record<string, string>;
}

/** The stack's conventions for every service: the generated rules read the stable names. */
const SEMCONV_OPT_IN = 'http,gen_ai_latest_experimental';

export function nativeServices(repoDir: string): NativeService[] {
  return loadServices(repoDir).filter((s): s is NativeService => s.native !== undefined);
}

/** Its port's key, as on the compose network (`<name>:<port>`), if it listens on one. */
export const servicePortKey = (s: NativeService): string | undefined =>
  s.native.port === undefined ? undefined : `${s.name}:${s.native.port}`;

/** The `host:port` keys `make native` plans local ports for, one per listening entry. */
export function nativeServicePortKeys(repoDir: string): string[] {
  return nativeServices(repoDir).flatMap((s) => servicePortKey(s) ?? []);
}

/** Why an entry cannot run in this clone (what it `requires` is missing), or undefined. */
export function cannotRunService(repoDir: string, s: NativeService): string | undefined {
  const needs = s.native.requires;
  if (!needs || existsSync(path.join(repoDir, needs.path))) return undefined;
  return `no ${needs.path} (install: ${needs.install})`;
}

function interpolate(text: string, vars: Record<string, string>, where: string): string {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => {
    const value = vars[name];
    if (value === undefined)
      throw new Error(
        `${where}: no value for \${${name}} (known: ${Object.keys(vars).join(', ')})`,
      );
    return value;
  });
}

/** An address on the compose network (http://app:8001/v1) as this stack's local one. */
function localAddress(value: string, ports: Record<string, number>): string {
  const map = Object.fromEntries(Object.entries(ports).map(([k, p]) => [k, [`127.0.0.1:${p}`]]));
  return mapAddress(value, map)?.[0] ?? value;
}

/** The environment the stack gives every service (the header says why each). */
function stackEnv(ctx: ServicesContext, s: NativeService, port?: number): NodeJS.ProcessEnv {
  return {
    HOST: '127.0.0.1',
    ...(port === undefined ? {} : { PORT: String(port) }),
    OTEL_SERVICE_NAME: s.name,
    OTEL_SEMCONV_STABILITY_OPT_IN: SEMCONV_OPT_IN,
    OTEL_METRIC_EXPORT_INTERVAL: String(ctx.metricExportIntervalMs),
    ...(ctx.otlpHttpUrl
      ? { OTEL_EXPORTER_OTLP_ENDPOINT: ctx.otlpHttpUrl }
      : // No Collector: nothing to export to (exports into the void would count as failures).
        { OTEL_SDK_DISABLED: 'true' }),
  };
}

const ready = (url: string) => async () =>
  (await fetch(url, { signal: AbortSignal.timeout(2000) })).ok;

/** The process of one entry: its command from its folder, with the stack's env and its own. */
export function nativeServiceSpec(ctx: ServicesContext, s: NativeService): ProcessSpec {
  const key = servicePortKey(s);
  const port = key === undefined ? undefined : ctx.ports[key];
  if (key !== undefined && port === undefined) throw new Error(`no local port planned for ${key}`);
  const vars = { ...ctx.variables, HOST: '127.0.0.1', ...(port ? { PORT: String(port) } : {}) };
  const where = `services.yml: ${s.name}.native`;
  const [program, ...args] = s.native.command.map((a) => interpolate(a, vars, where));
  const own = Object.entries(s.native.env).map(([k, v]) => [
    k,
    localAddress(interpolate(v, vars, `${where}.env.${k}`), ctx.ports),
  ]);
  return {
    name: s.name,
    // A bare name is a program on PATH (python3); anything with a slash is in the repo.
    command: program.includes('/') ? path.join(ctx.repoDir, program) : program,
    args,
    cwd: path.join(ctx.repoDir, s.native.cwd),
    env: { ...process.env, ...stackEnv(ctx, s, port), ...Object.fromEntries(own) },
    logFile: path.join(ctx.logs, `${s.name}.log`),
    ports: port === undefined ? [] : [port],
    ready:
      port === undefined
        ? async () => true
        : ready(`http://127.0.0.1:${port}${s.native.ready_path ?? '/'}`),
  };
}

/**
 * Starts every entry with `native:` that can run here and is not in `skip`, in file order,
 * each once it is ready; returns their specs (to start one again).
 */
export async function startNativeServices(
  ctx: ServicesContext,
  supervisor: Supervisor,
  skip: readonly string[] = [],
): Promise<ProcessSpec[]> {
  const started: ProcessSpec[] = [];
  for (const s of nativeServices(ctx.repoDir)) {
    if (skip.includes(s.name) || cannotRunService(ctx.repoDir, s)) continue;
    const spec = nativeServiceSpec(ctx, s);
    await supervisor.start(spec);
    started.push(spec);
  }
  return started;
}
