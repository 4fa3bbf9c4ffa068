// The service as a process: start-up errors, shutdown on SIGTERM, a dead telemetry endpoint,
// and Sentry with its real transport. Each test starts `node --require instrument.js server.js`.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { createServer as createTcpServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { ADMIN_TOKEN, PRO_KEY } from './support/app';
import { runToExit, startService, type RunningService } from './support/child';
import { newTraceparent } from './support/http';
import { parseMetrics, valueOf } from './support/metrics';
import { SPAN_KIND, startOtlpReceiver, type OtlpReceiver } from './support/otlp-receiver';
import { startSentryReceiver, type SentryReceiver } from './support/sentry-receiver';

const adminHeaders = {
  authorization: `Bearer ${ADMIN_TOKEN}`,
  'content-type': 'application/json',
};

async function setFault(service: RunningService, fault: string, body: object): Promise<void> {
  const res = await fetch(`${service.managementUrl}/admin/chaos/${fault}`, {
    method: 'PUT',
    headers: adminHeaders,
    body: JSON.stringify(body),
  });
  assert.equal(res.status, 200, await res.text());
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** A TCP port that accepts connections and never answers: an OTLP endpoint that hangs. */
async function startBlackhole(): Promise<{ url: string; close(): Promise<void> }> {
  const sockets: Socket[] = [];
  const server: Server = createTcpServer((socket) => sockets.push(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A port nothing listens on: connections are refused at once. */
async function closedPortUrl(): Promise<string> {
  const server = createTcpServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

describe('the service process', function () {
  // Several processes start and stop here; the machine may be busy.
  this.timeout(60_000);

  it('refuses a bad configuration at start, listing every bad variable', async () => {
    const result = await runToExit({ PORT: 'eighty', LOG_LEVEL: 'loud', API_KEYS: 'k1:gold' });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /invalid configuration/);
    assert.match(result.stderr, /PORT:/);
    assert.match(result.stderr, /LOG_LEVEL:/);
    assert.match(result.stderr, /API_KEYS: tier "gold"/);
  });

  describe('on SIGTERM', () => {
    let otlp: OtlpReceiver;
    before(async () => {
      otlp = await startOtlpReceiver();
    });
    after(() => otlp.close());

    it('turns unready at once, finishes the request in flight, flushes spans, exits 0', async () => {
      const service = await startService({
        OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
        // Long enough to observe readiness before the listener closes, even on a busy machine.
        SHUTDOWN_DELAY_MS: '2500',
      });
      await setFault(service, 'latency', { value: 1500, ttl_seconds: 60 });
      const { header, traceId } = newTraceparent();
      const inFlight = fetch(`${service.url}/v1/agents`, {
        headers: { 'x-api-key': PRO_KEY, traceparent: header },
      });
      await sleep(300);
      service.process.kill('SIGTERM');
      // The signal and this probe race: poll until the handler has run.
      const unready = await until('readiness to fail', async () => {
        const ready = await fetch(`${service.managementUrl}/health/ready`);
        return ready.status === 503 ? ((await ready.json()) as { status: string }) : undefined;
      });
      assert.equal(unready.status, 'not_ready');

      const res = await inFlight;
      assert.equal(res.status, 200);
      assert.equal(((await res.json()) as { agents: unknown[] }).agents.length, 3);
      assert.equal(await service.exited, 0);
      const stopped = service.logs.find((line) => line.message === 'stopped');
      assert.deepEqual([stopped?.drained, stopped?.telemetry_flushed], [true, true]);
      // The span of the request that finished during shutdown was exported before exit.
      const spans = otlp.spansOf(traceId);
      assert.equal(spans.filter((span) => span.kind === SPAN_KIND.server).length, 1);
    });

    it('exits 0 within the grace period when the OTLP endpoint hangs', async () => {
      const blackhole = await startBlackhole();
      try {
        const service = await startService({
          OTEL_EXPORTER_OTLP_ENDPOINT: blackhole.url,
          // The exporter alone would wait up to 30 s; shutdown must not.
          OTEL_EXPORTER_OTLP_TIMEOUT: '30000',
          OTEL_BSP_SCHEDULE_DELAY: '50',
          TELEMETRY_SHUTDOWN_TIMEOUT_MS: '1000',
          SHUTDOWN_GRACE_MS: '5000',
        });
        await setFault(service, 'latency', { value: 1000, ttl_seconds: 60 });
        const inFlight = fetch(`${service.url}/v1/agents`, { headers: { 'x-api-key': PRO_KEY } });
        await sleep(300);
        service.process.kill('SIGTERM');
        assert.equal((await inFlight).status, 200);
        // Exit code 0 means the hard stop at SHUTDOWN_GRACE_MS (exit 1) never fired.
        assert.equal(await service.exited, 0);
        assert.ok(service.logs.some((line) => line.message === 'telemetry flush timed out'));
      } finally {
        await blackhole.close();
      }
    });

    it('answers every slow run in flight (503 cancelled, stored), resets nothing, exits 0', async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'agent-service-sigterm-'));
      try {
        const service = await startService({
          DATA_DIR: dataDir,
          // sim-large steps of about 40 s: no run can finish within the drain window.
          LLM_LATENCY_SCALE: '40',
          // A drain window of 2.25 s: the runs are cancelled after 1.25 s.
          SHUTDOWN_GRACE_MS: '3500',
          TELEMETRY_SHUTDOWN_TIMEOUT_MS: '1000',
          MAX_CONCURRENT_RUNS: '4',
        });
        const post = (i: number) =>
          fetch(`${service.url}/v1/agents/research/runs`, {
            method: 'POST',
            headers: { 'x-api-key': PRO_KEY, 'content-type': 'application/json' },
            body: JSON.stringify({ input: `slow run ${i}` }),
          });
        const runs = [0, 1, 2].map(post);
        await sleep(300);
        // And a request held by an injected latency of a minute.
        await setFault(service, 'latency', { value: 60_000, ttl_seconds: 60 });
        const held = fetch(`${service.url}/v1/agents`, { headers: { 'x-api-key': PRO_KEY } });
        await sleep(300);
        service.process.kill('SIGTERM');
        const answers = await Promise.all([...runs, held]);
        for (const res of answers) {
          assert.equal(res.status, 503);
          assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/);
          assert.ok(Number(res.headers.get('retry-after')) >= 1);
          const problem = (await res.json()) as { type: string; run_id?: string };
          assert.match(problem.type, /shutting-down$/);
        }
        assert.equal(await service.exited, 0);
        const finished = service.logs.filter((line) => line.message === 'agent run finished');
        assert.deepEqual(
          finished.map((line) => line.status),
          ['cancelled', 'cancelled', 'cancelled'],
        );
        const db = new DatabaseSync(join(dataDir, 'agent-service.sqlite'), { readOnly: true });
        const stored = db.prepare('SELECT status FROM runs').all() as { status: string }[];
        db.close();
        assert.deepEqual(
          stored.map((row) => row.status),
          ['cancelled', 'cancelled', 'cancelled'],
        );
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
      }
    });
  });

  it('survives a flood of 64 KiB runs on a 128 MB heap: past the cap 503, never out of memory', async () => {
    const service = await startService({
      NODE_OPTIONS: '--max-old-space-size=128',
      MAX_CONCURRENT_RUNS: '16',
      LLM_LATENCY_SCALE: '2',
      BODY_LIMIT_BYTES: String(70 * 1024),
    });
    try {
      // The review's repro: 303 runs in flight at 632 MB killed a 128 MB heap.
      const answers = await Promise.all(
        Array.from({ length: 150 }, (_, i) =>
          // support runs on sim-small: 2–4 steps of about 0.5 s at this latency scale.
          fetch(`${service.url}/v1/agents/support/runs`, {
            method: 'POST',
            headers: { 'x-api-key': PRO_KEY, 'content-type': 'application/json' },
            body: JSON.stringify({ input: `${i} ${'x'.repeat(64 * 1024)}` }),
          }).then((res) => res.status),
        ),
      );
      const statuses = [...new Set(answers)].sort();
      assert.ok(
        statuses.every((status) => status === 201 || status === 503),
        String(statuses),
      );
      assert.ok(answers.includes(503) && answers.includes(201), String(statuses));
      assert.equal((await fetch(`${service.managementUrl}/health/ready`)).status, 200);
      assert.equal(service.process.exitCode, null);
    } finally {
      await service.stop();
    }
  });

  it('keeps serving when the OTLP endpoint refuses connections, counting failed exports', async () => {
    const service = await startService({
      OTEL_EXPORTER_OTLP_ENDPOINT: await closedPortUrl(),
      OTEL_EXPORTER_OTLP_TIMEOUT: '300',
      OTEL_BSP_SCHEDULE_DELAY: '50',
    });
    try {
      for (let i = 0; i < 3; i++) {
        const res = await fetch(`${service.url}/v1/agents/support/runs`, {
          method: 'POST',
          headers: { 'x-api-key': PRO_KEY, 'content-type': 'application/json' },
          body: JSON.stringify({ input: `run ${i} while the collector is down` }),
        });
        assert.equal(res.status, 201);
      }
      const failures = await until('a counted export failure', async () => {
        const text = await (await fetch(`${service.managementUrl}/metrics`)).text();
        const value = valueOf(parseMetrics(text), 'telemetry_export_failures_total', {
          signal: 'traces',
        });
        return value >= 1 ? value : undefined;
      });
      assert.ok(failures >= 1);
      assert.ok(service.logs.some((line) => line.message === 'span export failed'));
      assert.equal((await fetch(`${service.managementUrl}/health/ready`)).status, 200);
    } finally {
      assert.equal(await service.stop(), 0);
    }
  });

  describe('with Sentry', () => {
    let sentry: SentryReceiver;
    let otlp: OtlpReceiver;
    before(async () => {
      sentry = await startSentryReceiver();
      otlp = await startOtlpReceiver();
    });
    after(async () => {
      await sentry.close();
      await otlp.close();
    });

    it('reports a server error with its trace id, scrubbed, and adds no spans of its own', async () => {
      const service = await startService({
        SENTRY_DSN: sentry.dsn,
        OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
      });
      // Started from the entry point, Sentry has nothing to warn about (it does for preloads).
      assert.doesNotMatch(service.stderr(), /\[Sentry\]/);
      const { header, traceId } = newTraceparent();
      try {
        await setFault(service, 'error_ratio', { value: 1, ttl_seconds: 60 });
        const res = await fetch(`${service.url}/v1/agents?notify=alice@example.com`, {
          headers: {
            'x-api-key': PRO_KEY,
            traceparent: header,
            // An allowed header that carries personal data and the key: only scrubbing removes them.
            'user-agent': `test-client/1.0 (alice@example.com; ${PRO_KEY})`,
            authorization: `Bearer ${ADMIN_TOKEN}`,
          },
        });
        assert.equal(res.status, 500);
        const problem = (await res.json()) as { trace_id: string };
        assert.equal(problem.trace_id, traceId);

        const event = await until('the Sentry event', async () => sentry.events()[0]);
        const trace = (event.contexts as { trace: { trace_id: string; span_id: string } }).trace;
        assert.equal(trace.trace_id, traceId);
        const exception = (event.exception as { values: { type: string; value: string }[] })
          .values[0]!;
        assert.equal(exception.type, 'ProblemError');
        assert.match(exception.value, /error_ratio/);
        const headers = (event.request as { headers?: Record<string, string> }).headers ?? {};
        assert.equal(headers['user-agent'], 'test-client/1.0 ([email]; [Filtered])');
        // Headers outside the allow-list keep their name only.
        assert.equal(headers['x-api-key'], '[Filtered]');
        assert.equal(headers.authorization, '[Filtered]');
        assert.equal((event.request as { url: string }).url, `${service.url}/v1/agents`);
        for (const envelope of sentry.envelopes) {
          assert.doesNotMatch(envelope.raw, /alice@example\.com/);
          assert.ok(!envelope.raw.includes(PRO_KEY), 'API key in the envelope');
          assert.ok(!envelope.raw.includes(ADMIN_TOKEN), 'admin token in the envelope');
        }
      } finally {
        assert.equal(await service.stop(), 0);
      }
      // Spans were flushed at exit: the request made exactly one server span, nothing else.
      const spans = otlp.spansOf(traceId);
      assert.equal(spans.filter((span) => span.kind === SPAN_KIND.server).length, 1);
      assert.deepEqual(
        spans.map((span) => span.name),
        ['GET /v1/agents'],
      );
      const sentryEvent = sentry.events()[0]!;
      const trace = (sentryEvent.contexts as { trace: { span_id: string } }).trace;
      assert.equal(trace.span_id, spans[0]!.spanId);
    });
  });
});
