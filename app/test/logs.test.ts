// OTLP log export: every log line also reaches a real OTLP/HTTP receiver as a log record with
// the request's trace and span ids, its request id, severity and the service resource, scrubbed
// like stdout; with the Collector down the service keeps answering, the queue stays bounded and
// every failed export is counted.
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { context, ROOT_CONTEXT, trace, TraceFlags } from '@opentelemetry/api';
import {
  InMemoryLogRecordExporter,
  LoggerProvider,
  SimpleLogRecordProcessor,
} from '@opentelemetry/sdk-logs';
import { loadConfig } from '../src/config';
import {
  createLogProcessor,
  createLogTransport,
  OtlpLogTransport,
} from '../src/telemetry/log-export';
import { addTransport, logger, removeTransport } from '../src/telemetry/logger';
import { metrics } from '../src/telemetry/metrics';
import { appPerSuite, PRO_KEY, testEnv, type TestApp } from './support/app';
import { getWithKey, newTraceparent } from './support/http';
import { SPAN_KIND, type ReceivedLogRecord } from './support/otlp-receiver';
import { flushSpans, otlp, tracedRun } from './support/telemetry';

const SEVERITY_INFO = 9;

async function waitForRecord(
  match: (record: ReceivedLogRecord) => boolean,
  timeoutMs = 5000,
): Promise<ReceivedLogRecord> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await flushSpans(); // flushes the log records too
    const found = otlp().logRecords.find(match);
    if (found) return found;
    if (Date.now() > deadline) throw new Error('no such log record reached the receiver');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A loopback port with nothing listening: a Collector that is down. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const logFailures = async () =>
  (await metrics.telemetryExportFailures.get()).values.find((v) => v.labels.signal === 'logs')
    ?.value ?? 0;

function exportTests(t: TestApp): void {
  it('sends the request and run lines with trace, span and request ids, severity and resource', async () => {
    const input = 'What is 2 ^ 10 - 24? Reply to bob@example.com';
    const { res, traceId, spans } = await tracedRun(t.app, 'analyst', 'otlp-log-test-1', input);
    const server = spans.find((s) => s.kind === SPAN_KIND.server)!;
    const agent = spans.find((s) => s.name === 'invoke_agent analyst')!;

    const access = await waitForRecord(
      (r) => r.body === 'request' && r.attributes.request_id === 'otlp-log-test-1',
    );
    assert.equal(access.traceId, traceId);
    assert.equal(access.spanId, server.spanId);
    assert.equal(access.severityText, 'info');
    assert.equal(access.severityNumber, SEVERITY_INFO);
    assert.equal(access.attributes.route, '/v1/agents/:agent/runs');
    assert.equal(access.attributes.status_code, 201);
    // The ids are the record's own fields, not attributes as well.
    assert.equal(access.attributes.trace_id, undefined);
    assert.equal(access.resource['service.name'], 'agent-service');
    assert.equal(access.resource['service.version'], '0.1.0');

    // Logged inside the run: the request id comes from the request's context.
    const run = await waitForRecord(
      (r) => r.body === 'agent run finished' && r.attributes.run_id === res.body.id,
    );
    assert.equal(run.traceId, traceId);
    assert.equal(run.spanId, agent.spanId);
    assert.equal(run.attributes.request_id, 'otlp-log-test-1');
  });

  it('scrubs records as it scrubs stdout', async () => {
    logger.warn('contact bob@example.com', { detail: { token: 'secret-value' } });
    const record = await waitForRecord((r) => r.body === 'contact [email]');
    assert.equal(record.severityText, 'warn');
    assert.equal(record.attributes.detail, JSON.stringify({ token: '[Filtered]' }));
    assert.ok(!JSON.stringify(otlp().logRecords).includes('bob@example.com'));
  });
}

function collectorDownTests(t: TestApp): void {
  it('with the Collector down: keeps serving, bounds its queue and counts failed exports', async () => {
    const config = loadConfig(
      testEnv({
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${await closedPort()}`,
        OTEL_EXPORTER_OTLP_TIMEOUT: '500',
        OTEL_BLRP_MAX_QUEUE_SIZE: '20',
        OTEL_BLRP_MAX_EXPORT_BATCH_SIZE: '10',
        OTEL_BLRP_SCHEDULE_DELAY: '50',
      }),
    );
    const processor = createLogProcessor(config)!;
    const provider = new LoggerProvider({ processors: [processor] });
    const transport = new OtlpLogTransport(provider.getLogger('collector-down-test'));
    const before = await logFailures();
    addTransport(transport);
    try {
      // Ten times the queue: the rest is dropped by the processor, not held in memory.
      for (let i = 0; i < 200; i++) logger.info('line while the Collector is down', { i });
      await getWithKey(t.app, '/v1/agents', PRO_KEY).expect(200);
      await processor.forceFlush();
      const deadline = Date.now() + 10_000;
      while ((await logFailures()) === before && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const failed = (await logFailures()) - before;
      assert.ok(failed >= 1, 'no failed log export counted');
      // Batches of at most 10 from a queue of at most 20: never the 200 lines.
      assert.ok(failed <= 20, `${failed} failed exports: the queue is not bounded`);
    } finally {
      removeTransport(transport);
      await provider.shutdown();
    }
  });

  it('exports nothing with OTEL_LOGS_EXPORTER=none', () => {
    assert.equal(
      createLogProcessor(loadConfig(testEnv({ OTEL_LOGS_EXPORTER: 'none' }))),
      undefined,
    );
  });
}

describe('logs over OTLP', () => {
  const t = appPerSuite();
  exportTests(t);
  collectorDownTests(t);
});

/** Every line the logger writes meanwhile, as exported by the transport `env` configures. */
async function exportedWhile(env: Record<string, string>, write: () => Promise<void>) {
  const exporter = new InMemoryLogRecordExporter();
  const provider = new LoggerProvider({ processors: [new SimpleLogRecordProcessor({ exporter })] });
  const transport = createLogTransport(
    loadConfig(testEnv(env)),
    provider.getLogger('sampling-test'),
  );
  addTransport(transport);
  try {
    await write();
    await provider.forceFlush();
    return exporter.getFinishedLogRecords().map((r) => ({
      body: r.body,
      requestId: r.attributes.request_id,
      sampled: r.spanContext ? (r.spanContext.traceFlags & TraceFlags.SAMPLED) !== 0 : undefined,
    }));
  } finally {
    removeTransport(transport);
    await provider.shutdown();
  }
}

describe('logs over OTLP under head sampling', () => {
  const t = appPerSuite();

  /** One sampled request, one the caller's traceparent leaves unsampled, lines in and out of
   * an unsampled trace. */
  async function writeLines(id: string): Promise<void> {
    const unsampled = newTraceparent().header.replace(/-01$/, '-00');
    await getWithKey(t.app, '/v1/agents', PRO_KEY)
      .set('traceparent', unsampled)
      .set('x-request-id', `${id}-unsampled`)
      .expect(200);
    await getWithKey(t.app, '/v1/agents', PRO_KEY).set('x-request-id', `${id}-sampled`).expect(200);
    const { traceId, parentSpanId: spanId } = newTraceparent();
    const notSampled = trace.wrapSpanContext({ traceId, spanId, traceFlags: TraceFlags.NONE });
    context.with(trace.setSpan(ROOT_CONTEXT, notSampled), () => {
      logger.info(`${id}: info in an unsampled trace`);
      logger.warn(`${id}: warning in an unsampled trace`);
    });
    logger.info(`${id}: outside any trace`);
  }

  it('with LOGS_EXPORT_UNSAMPLED=warn: drops only the info lines of unsampled traces', async () => {
    const records = await exportedWhile({ LOGS_EXPORT_UNSAMPLED: 'warn' }, () =>
      writeLines('warn'),
    );
    const requestIds = records.map((r) => r.requestId).filter((id) => id !== undefined);
    assert.ok(requestIds.includes('warn-sampled'), 'the sampled request line is missing');
    assert.ok(!requestIds.includes('warn-unsampled'), 'the unsampled request line was exported');
    const bodies = records.map((r) => r.body);
    assert.ok(!bodies.includes('warn: info in an unsampled trace'));
    assert.ok(bodies.includes('warn: warning in an unsampled trace'));
    assert.ok(bodies.includes('warn: outside any trace'));
    const warning = records.find((r) => r.body === 'warn: warning in an unsampled trace');
    assert.equal(warning?.sampled, false, 'the record must say its trace was not sampled');
  });

  it('exports every line by default, the unsampled request line flagged as such', async () => {
    const records = await exportedWhile({}, () => writeLines('all'));
    const unsampled = records.find((r) => r.requestId === 'all-unsampled');
    assert.equal(unsampled?.sampled, false);
    assert.equal(records.find((r) => r.requestId === 'all-sampled')?.sampled, true);
    assert.ok(records.some((r) => r.body === 'all: info in an unsampled trace'));
  });

  it('reads LOGS_EXPORT_UNSAMPLED: all by default, or warn', () => {
    assert.equal(loadConfig(testEnv()).telemetry.logs.unsampled, 'all');
    const warn = loadConfig(testEnv({ LOGS_EXPORT_UNSAMPLED: 'warn' }));
    assert.equal(warn.telemetry.logs.unsampled, 'warn');
    assert.throws(
      () => loadConfig(testEnv({ LOGS_EXPORT_UNSAMPLED: 'some' })),
      /LOGS_EXPORT_UNSAMPLED/,
    );
  });
});
