// The handlers of the management port's probes and scrape: liveness, readiness, the health
// report and /metrics.
import type { RequestHandler } from 'express';
import type { HealthMonitor } from '../health';
import { metrics, metricsText } from '../telemetry/metrics';
import { SERVICE_VERSION } from '../version';

export const liveness: RequestHandler = (_req, res) => void res.json({ status: 'ok' });

export function readiness(health: HealthMonitor): RequestHandler {
  return (_req, res) => {
    const { ready, checks } = health.readiness();
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not_ready', checks });
  };
}

export function healthReport(health: HealthMonitor): RequestHandler {
  return async (_req, res) => {
    const report = await health.check();
    res.status(report.status === 'unhealthy' ? 503 : 200).json({
      ...report,
      version: SERVICE_VERSION,
      uptime_seconds: Math.round(process.uptime()),
    });
  };
}

/**
 * /metrics rendered at most once per `ttlMs`: Prometheus scrapes every 15 s, and anyone else
 * asking more often gets the same text instead of a render each (a render of a fork's registry
 * takes milliseconds of the one event loop; docs/bench).
 */
function cachedMetrics(ttlMs: number): () => Promise<Buffer> {
  let rendered: { at: number; body: Promise<Buffer> } | undefined;
  return () => {
    const now = performance.now();
    if (rendered === undefined || now - rendered.at >= ttlMs) {
      // Encoded once: a Buffer is sent as it is, a string would be encoded for every scrape.
      rendered = { at: now, body: metricsText().then((text) => Buffer.from(text)) };
    }
    return rendered.body;
  };
}

export function metricsPage({ metricsCacheMs }: { metricsCacheMs: number }): RequestHandler {
  const page = cachedMetrics(metricsCacheMs);
  return async (_req, res) => {
    res.type(metrics.registry.contentType).send(await page());
  };
}
