// A shutdown is not held by bodies that are still arriving: a run whose body has not come in
// whole is answered 503 at once, a request answered before its body was read has its
// connection closed, and the process exits 0 well within SHUTDOWN_GRACE_MS.
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { PRO_KEY } from './support/app';
import { startService, type RunningService } from './support/child';

/** Sends `head` and then one byte of body every 200 ms; collects what comes back. */
function drip(service: RunningService, head: string) {
  const socket: Socket = connect(Number(new URL(service.url).port), '127.0.0.1');
  let answer = '';
  socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
  socket.on('error', () => {});
  socket.write(head);
  const timer = setInterval(() => socket.write('x'), 200);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return {
    answer: () => answer,
    closed,
    stop: () => {
      clearInterval(timer);
      socket.destroy();
    },
  };
}

async function stopTimed(service: RunningService): Promise<{ code: number | null; ms: number }> {
  const started = performance.now();
  service.process.kill('SIGTERM');
  const code = await service.exited;
  return { code, ms: performance.now() - started };
}

describe('a shutdown with bodies still arriving', function () {
  this.timeout(30_000);

  it('answers a run whose body is still arriving with 503 and exits 0', async () => {
    const service = await startService({ HTTP_BODY_TIMEOUT_MS: '20000' });
    const client = drip(
      service,
      `POST /v1/agents/support/runs HTTP/1.1\r\nHost: x\r\nX-API-Key: ${PRO_KEY}\r\n` +
        'Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"input": "',
    );
    try {
      await sleep(500);
      const { code, ms } = await stopTimed(service);
      assert.equal(code, 0, service.stderr());
      assert.match(client.answer(), /^HTTP\/1\.1 503 /);
      assert.match(client.answer(), /shutting-down/);
      assert.ok(ms < 8_000, `exited after ${Math.round(ms)} ms`);
    } finally {
      client.stop();
    }
  });

  it('is not held by an unread body: POST /nothing with a dripped body', async () => {
    const service = await startService({ HTTP_BODY_TIMEOUT_MS: '20000' });
    const client = drip(
      service,
      'POST /nothing HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n',
    );
    try {
      await sleep(500);
      assert.match(client.answer(), /^HTTP\/1\.1 404 /);
      const { code, ms } = await stopTimed(service);
      assert.equal(code, 0, service.stderr());
      // The drain closes the listener, finds nothing in flight and flushes telemetry.
      assert.ok(ms < 3_000, `exited after ${Math.round(ms)} ms`);
    } finally {
      client.stop();
    }
  });
});
