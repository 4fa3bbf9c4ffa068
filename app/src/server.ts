// The entry point: listens on PORT (the API) and MANAGEMENT_PORT (/metrics, /health*, /admin/*),
// each on its own host (and on PROVIDER_PORT when set), and shuts down on SIGTERM or SIGINT within SHUTDOWN_GRACE_MS: readiness
// fails at once, new runs are refused and bodies still arriving answered 503, in-flight requests
// finish or, when the drain window is nearly over, are cancelled with a 503 (runs are stored as
// `cancelled`), telemetry is flushed under its own time limit, then the process exits 0.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Express } from 'express';
import type { Admission } from './agent/admission';
import { createApps, createServices, type Services } from './app';
import { ConfigError, loadConfig, type Config } from './config';
import { createHttpServer } from './http/listener';
import { logger } from './telemetry/logger';
import { closeSentry } from './telemetry/sentry';
import { startTelemetry } from './telemetry/setup';
import { activeTracing } from './telemetry/tracing';

// Time kept back from the grace period for the last log line and the exit itself.
const EXIT_MARGIN_MS = 250;
// The end of the drain window kept for cancelled work to answer 503 and its bytes to leave.
export const CANCEL_MARGIN_MS = 1000;
const IDLE_SWEEP_MS = 100;

function listen(app: Express, port: number, host: string, limits: Config['http']): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createHttpServer(app, limits);
    server.listen(port, host);
    server.once('listening', () => resolve(server));
    server.once('error', reject);
  });
}

/**
 * Stops accepting and lets in-flight requests finish; CANCEL_MARGIN_MS before `budgetMs` is
 * over, cancels the work still running, which then answers 503. False when a connection still
 * had to be cut at the end.
 */
async function drain(
  servers: Server[],
  budgetMs: number,
  admission: Admission,
): Promise<{ drained: boolean; cancelled: number }> {
  const closed = Promise.all(
    servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))),
  ).then(() => true);
  // Keep-alive connections that go idle after close() would otherwise hold it open.
  const sweep = setInterval(() => {
    for (const server of servers) server.closeIdleConnections();
  }, IDLE_SWEEP_MS);
  const within = (ms: number) =>
    Promise.race([closed, sleep(Math.max(ms, 0), false, { ref: false })]);
  let cancelled = 0;
  let drained = await within(budgetMs - CANCEL_MARGIN_MS);
  if (!drained) {
    cancelled = admission.cancelAll();
    logger.warn('drain window nearly over: cancelling work still in progress', { cancelled });
    drained = await within(CANCEL_MARGIN_MS);
  }
  clearInterval(sweep);
  if (!drained) for (const server of servers) server.closeAllConnections();
  return { drained, cancelled };
}

/** Exports pending spans and Sentry events; gives up after `timeoutMs` whatever happens. */
async function flushTelemetry(timeoutMs: number): Promise<boolean> {
  const tracing = activeTracing();
  const work = Promise.allSettled([tracing?.shutdown(), closeSentry(timeoutMs)]).then(() => true);
  return Promise.race([work, sleep(timeoutMs, false, { ref: false })]);
}

function address(server: Server): string {
  const { address, port } = server.address() as AddressInfo;
  return `http://${address.includes(':') ? `[${address}]` : address}:${port}`;
}

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    process.exit(1);
  }
  const preloaded = activeTracing() !== undefined;
  startTelemetry(config, { errorReporting: true });
  if (config.usingDemoKeys) {
    // Loud on purpose: the demo keys are public, in every README.
    const warning =
      'DEMO_MODE=true: the public demo keys demo-free and demo-pro are accepted; never expose this service';
    logger.warn(warning);
    console.error(`WARNING: ${warning}`);
  }
  if (config.adminToken === undefined) {
    logger.info('ADMIN_TOKEN is not set: /admin/chaos is disabled');
  }
  if (config.telemetry.enabled && !preloaded) {
    logger.info('tracing started by server.ts: preload telemetry/instrument.js to start it first');
  }

  const services = createServices(config);
  try {
    services.store.open();
  } catch (error) {
    logger.error('cannot open the database', { path: services.store.path, error: error as Error });
    process.exit(1);
  }
  services.health.start();
  services.retention.start();
  void services.retention.sweep();
  const apps = createApps(services);
  const servers = [
    await listen(apps.api, config.port, config.host, config.http),
    await listen(apps.management, config.managementPort, config.managementHost, config.http),
  ];
  const listening: Record<string, string> = {
    api: address(servers[0]!),
    management: address(servers[1]!),
  };
  if (apps.provider && config.provider.port !== undefined) {
    servers.push(await listen(apps.provider, config.provider.port, config.host, config.http));
    listening.provider = address(servers.at(-1)!);
  }
  logger.info('agent service listening', { ...listening, telemetry: config.telemetry.enabled });

  const stop = (reason: string, exitCode: number) => shutdown(services, servers, reason, exitCode);
  process.on('SIGTERM', () => void stop('SIGTERM', 0));
  process.on('SIGINT', () => void stop('SIGINT', 0));
  process.on('uncaughtException', (error) => {
    logger.error('uncaught exception', { error });
    void stop('uncaught exception', 1);
  });
  process.on('unhandledRejection', (reason) => {
    logger.error('unhandled promise rejection', {
      error: reason instanceof Error ? reason : String(reason),
    });
    void stop('unhandled promise rejection', 1);
  });
}

async function shutdown(
  services: Services,
  servers: Server[],
  reason: string,
  exitCode: number,
): Promise<void> {
  const { lifecycle, config } = services;
  if (lifecycle.shuttingDown) {
    logger.warn('second stop request while shutting down: exiting now', { reason });
    process.exit(1);
  }
  lifecycle.shuttingDown = true;
  const { graceMs, delayMs } = config.shutdown;
  const telemetryMs = config.telemetry.shutdownTimeoutMs;
  const hardStop = setTimeout(() => {
    logger.error('grace period over before shutdown finished: exiting', { grace_ms: graceMs });
    process.exit(1);
  }, graceMs);
  hardStop.unref();
  logger.info('shutting down', { reason, grace_ms: graceMs });

  // Readiness already answers 503; a load balancer may need a moment to notice before the
  // listener closes.
  if (delayMs > 0) await sleep(delayMs);
  services.admission.close();
  const budgetMs = graceMs - delayMs - telemetryMs - EXIT_MARGIN_MS;
  const { drained, cancelled } = await drain(servers, budgetMs, services.admission);
  if (!drained) logger.warn('in-flight requests cut off: they did not answer in time');
  services.health.stop();
  services.retention.stop();
  const flushed = await flushTelemetry(telemetryMs);
  if (!flushed) logger.warn('telemetry flush timed out', { timeout_ms: telemetryMs });
  services.store.close();
  logger.info('stopped', { drained, cancelled, telemetry_flushed: flushed });
  process.exit(drained ? exitCode : 1);
}

main().catch((error: unknown) => {
  logger.error('failed to start', { error: error instanceof Error ? error : String(error) });
  process.exit(1);
});
