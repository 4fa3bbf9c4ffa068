// Error reporting to Sentry (or a local Spotlight). Off unless SENTRY_DSN or SENTRY_SPOTLIGHT is
// set. Sentry makes no spans and registers no tracer: errors attach to the OpenTelemetry span
// active when they happen, so they carry the request's trace id.
import * as Sentry from '@sentry/node';
import type { Config } from '../config';
import { SERVICE_VERSION } from '../version';
import { metrics } from './metrics';
import { scrubber } from './scrub';

type Transport = ReturnType<typeof Sentry.makeNodeTransport>;

/** Counts envelopes that did not reach Sentry: network errors, error statuses, drops. */
export function countFailedSends(transport: Transport, onFailure: () => void): Transport {
  return {
    ...transport,
    send: (envelope) =>
      transport.send(envelope).then(
        (response) => {
          const status = response.statusCode;
          if (status === undefined || status < 200 || status >= 300) onFailure();
          return response;
        },
        (error: unknown) => {
          onFailure();
          throw error;
        },
      ),
  };
}

let enabled = false;

export function initSentry(config: Config): boolean {
  const { dsn, spotlight, environment, sampleRate } = config.sentry;
  if (enabled) return true;
  if (dsn === undefined && spotlight === false) return false;
  Sentry.init({
    dsn,
    spotlight,
    environment,
    release: `agent-service@${SERVICE_VERSION}`,
    sampleRate,
    // No tracesSampleRate: OpenTelemetry owns tracing; Sentry makes no spans of its own.
    // Express is not rewritten at load time: errors are captured by the service's error handler.
    enableRuntimeChannelInjection: false,
    dataCollection: {
      userInfo: false,
      cookies: false,
      httpHeaders: {
        request: { allow: ['user-agent', 'content-type', 'x-request-id'] },
        response: false,
      },
      httpBodies: [],
      urlQueryParams: false,
      genAI: { inputs: false, outputs: false },
      databaseQueryData: false,
      stackFrameVariables: false,
    },
    integrations: [
      Sentry.openTelemetryIntegration(),
      // Request isolation only: no spans, no trace headers on outgoing calls (the OTLP exporter's).
      Sentry.httpIntegration({ spans: false, tracePropagation: false, breadcrumbs: false }),
    ],
    transport: (options) =>
      countFailedSends(Sentry.makeNodeTransport(options), () =>
        metrics.telemetryExportFailures.labels('errors').inc(),
      ),
    beforeSend: (event) => scrubber.deep(event),
    beforeBreadcrumb: (breadcrumb) => scrubber.deep(breadcrumb),
  });
  enabled = true;
  return true;
}

export function captureError(error: unknown, context: Record<string, string | undefined>): void {
  if (!enabled) return;
  Sentry.captureException(error, { tags: context });
}

/** Sends what is queued; resolves false when the time runs out first. */
export async function closeSentry(timeoutMs: number): Promise<boolean> {
  if (!enabled) return true;
  return Sentry.close(timeoutMs);
}
