// Loaded with `node --require ./dist/telemetry/instrument.js dist/server.js`, before the
// service's modules: starts OpenTelemetry tracing and Sentry, so both are in place before
// Express or anything else is loaded.
import { ConfigError, loadConfig } from '../config';
import { startTelemetry } from './setup';

try {
  startTelemetry(loadConfig());
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  // server.ts reports the same problems again; exiting here keeps half-configured telemetry out.
  console.error(error.message);
  process.exit(1);
}
