// In-process telemetry for the tests: the real tracing setup (startTracing, as instrument.ts
// calls it) exporting to a real OTLP receiver, and the logger writing into memory.
import { PassThrough } from 'node:stream';
import { loadConfig } from '../../src/config';
import { PRO_KEY, testEnv } from './app';
import { newTraceparent, postRun } from './http';
import { configureLogger } from '../../src/telemetry/logger';
import { startTracing, type Tracing } from '../../src/telemetry/tracing';
import type { Express } from 'express';
import {
  SPAN_KIND,
  startOtlpReceiver,
  type OtlpReceiver,
  type ReceivedSpan,
} from './otlp-receiver';

export interface LogLine {
  level: string;
  message: string;
  [field: string]: unknown;
}

interface TestTelemetry {
  otlp: OtlpReceiver;
  tracing: Tracing;
  logs: LogLine[];
}

let current: TestTelemetry | undefined;

export async function startTestTelemetry(): Promise<void> {
  const otlp = await startOtlpReceiver();
  const tracing = startTracing(
    loadConfig(
      testEnv({
        OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
        OTEL_BSP_SCHEDULE_DELAY: '100',
        OTEL_BLRP_SCHEDULE_DELAY: '100',
        // A test makes an unsampled request with `traceparent: …-00`. The default (the
        // service's own ratio decides, both ways) is tested on a service process
        // (tracing.test.ts) and on the sampler itself (units.test.ts).
        TRACES_REMOTE_PARENT_SAMPLED: 'follow',
      }),
    ),
  );
  const logs: LogLine[] = [];
  const stream = new PassThrough();
  let pending = '';
  stream.on('data', (chunk: Buffer) => {
    pending += chunk.toString('utf8');
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) if (line !== '') logs.push(JSON.parse(line) as LogLine);
  });
  configureLogger({ level: 'debug', stream });
  current = { otlp, tracing, logs };
}

export async function stopTestTelemetry(): Promise<void> {
  await current?.tracing.shutdown();
  await current?.otlp.close();
}

function telemetry(): TestTelemetry {
  if (!current) throw new Error('test telemetry not started (test/support/hooks.ts)');
  return current;
}

export const otlp = () => telemetry().otlp;
export const logLines = () => telemetry().logs;

/** Exports every finished span to the receiver now. */
export async function flushSpans(): Promise<void> {
  await telemetry().tracing.forceFlush();
}

/** Flushes until the spans of `traceId` satisfy `done` (spans end just after the response). */
export async function waitForSpans(
  traceId: string,
  done: (spans: ReceivedSpan[]) => boolean,
  timeoutMs = 5000,
): Promise<ReceivedSpan[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await flushSpans();
    const spans = otlp().spansOf(traceId);
    if (done(spans)) return spans;
    if (Date.now() > deadline) {
      throw new Error(`spans of ${traceId} incomplete: ${spans.map((s) => s.name).join(', ')}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Runs `agent` with the pro key under a new sampled trace and an X-Request-Id, and waits until
 * the run's server span has reached the OTLP receiver.
 */
export async function tracedRun(app: Express, agent: string, requestId: string, input: string) {
  const { header, traceId } = newTraceparent();
  const res = await postRun(app, agent, PRO_KEY)
    .set('traceparent', header)
    .set('X-Request-Id', requestId)
    .send({ input })
    .expect(201);
  const spans = await waitForSpans(traceId, (found) =>
    found.some((s) => s.kind === SPAN_KIND.server),
  );
  return { res, traceId, spans };
}
