// Telemetry start-up shared by instrument.ts (the --require preload) and server.ts.
import type { Config } from '../config';
import { configureLogger } from './logger';
import { scrubber } from './scrub';
import { initSentry } from './sentry';
import { activeTracing, startTracing } from './tracing';

export function startTelemetry(config: Config, options: { errorReporting: boolean }): void {
  configureLogger({ level: config.logLevel });
  scrubber.setSecrets([
    ...config.apiKeys.map(({ key }) => key),
    ...(config.adminToken === undefined ? [] : [config.adminToken]),
  ]);
  if (config.telemetry.enabled && activeTracing() === undefined) startTracing(config);
  // Sentry starts from the application entry point, never from a --require preload: Node re-runs
  // preloads on its module-loader thread once loader hooks exist, and Sentry 11 warns about it.
  // Sentry instruments nothing at load time here, so starting after the preload loses nothing.
  if (options.errorReporting) initSentry(config);
}
