// Telemetry start-up shared by instrument.ts (the --require preload) and server.ts (which calls
// it again, harmlessly, and so also works when started without the preload).
import type { Config } from '../config';
import { configureLogger } from './logger';
import { scrubber } from './scrub';
import { initSentry } from './sentry';
import { activeTracing, startTracing } from './tracing';

export function startTelemetry(config: Config): void {
  configureLogger({ level: config.logLevel });
  scrubber.setSecrets([
    ...config.apiKeys.map(({ key }) => key),
    ...(config.adminToken === undefined ? [] : [config.adminToken]),
  ]);
  if (config.telemetry.enabled && activeTracing() === undefined) startTracing(config);
  initSentry(config);
}
