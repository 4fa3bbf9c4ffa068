// Loaded with `node --require ./dist/telemetry/instrument.js dist/server.js`, before the
// service's modules: starts OpenTelemetry tracing before Express or anything else is loaded.
import { isMainThread } from 'node:worker_threads';
import { ConfigError, loadConfig } from '../config';
import { startTelemetry } from './setup';

// Node also runs preloads on its module-loader thread when loader hooks are registered: tracing
// belongs to the main thread only.
if (isMainThread) {
  try {
    startTelemetry(loadConfig(), { errorReporting: false });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    // server.ts would report the same problems; exiting here keeps half-set-up telemetry out.
    console.error(error.message);
    process.exit(1);
  }
}
