// Who gets a run slot, and for how long: the body is read (under HTTP_BODY_TIMEOUT_MS) before a
// slot is taken, one key holds at most its tier's share of the slots, and a run whose client
// hung up is cancelled and gives its slot back once it has settled.
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { DatabaseSync } from 'node:sqlite';
import { setTimeout as sleep } from 'node:timers/promises';
import { createHttpServer } from '../src/http/listener';
import { buildApp, FREE_KEY, PRO_KEY, type TestApp } from './support/app';
import { postRun, scrape } from './support/http';
import { valueOf } from './support/metrics';
import { rawRequest } from './support/raw-http';

async function serve(
  t: TestApp,
): Promise<{ server: Server; port: number; close(): Promise<void> }> {
  const server = createHttpServer(t.app, t.config.http);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      t.close();
    },
  };
}

/** A run request whose body stops after `sent` of `length` bytes; the socket stays open. */
function startSlowRun(port: number, key: string, length = 100, sent = 10): Socket {
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => {});
  socket.write(
    `POST /v1/agents/support/runs HTTP/1.1\r\nHost: x\r\nX-API-Key: ${key}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${length}\r\n\r\n${'{'.padEnd(sent, ' ')}`,
  );
  return socket;
}

const runRequest = (key: string, input: string) => {
  const body = JSON.stringify({ input });
  return (
    `POST /v1/agents/support/runs HTTP/1.1\r\nHost: x\r\nX-API-Key: ${key}\r\nConnection: close\r\n` +
    `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
  );
};

describe('run slots and request bodies', function () {
  this.timeout(30_000);

  it('are taken after the body is read: slow bodies hold none', async () => {
    const s = await serve(buildApp({ MAX_CONCURRENT_RUNS: '2' }));
    const slow = [startSlowRun(s.port, PRO_KEY), startSlowRun(s.port, PRO_KEY)];
    try {
      await sleep(200);
      const res = await rawRequest(s.port, runRequest(FREE_KEY, 'a run while two bodies dawdle'));
      assert.equal(res?.status, 201, res?.body);
    } finally {
      for (const socket of slow) socket.destroy();
      await s.close();
    }
  });

  it('answer a body that does not arrive within HTTP_BODY_TIMEOUT_MS with 408, and close the connection', async () => {
    const s = await serve(
      buildApp({ HTTP_BODY_TIMEOUT_MS: '500', HTTP_REQUEST_TIMEOUT_MS: '30000' }),
    );
    try {
      const started = performance.now();
      const res = await rawRequest(
        s.port,
        `POST /v1/agents/support/runs HTTP/1.1\r\nHost: x\r\nX-API-Key: ${PRO_KEY}\r\n` +
          'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"input":',
        4_000,
      );
      assert.equal(res?.status, 408, res?.body);
      assert.equal(res?.headers.connection, 'close');
      assert.ok(performance.now() - started < 2_500, 'answered late');
    } finally {
      await s.close();
    }
  });
});

describe('run slots per key and per client', function () {
  this.timeout(30_000);

  it('are capped per key by tier: one key cannot take them all', async () => {
    // sim-small at 2× latency: runs of 1-2 s, still going while the others ask.
    const t = buildApp({
      MAX_CONCURRENT_RUNS: '4',
      RUN_CONCURRENCY_PRO: '2',
      LLM_LATENCY_SCALE: '2',
    });
    const s = await serve(t);
    const sockets: Socket[] = [];
    try {
      for (let i = 0; i < 4; i++) {
        const socket = connect(s.port, '127.0.0.1');
        socket.on('error', () => {});
        socket.write(runRequest(PRO_KEY, `long run ${i}`));
        sockets.push(socket);
      }
      await sleep(300);
      // Both asked while the first two pro runs go on: another key is served, this one is not.
      const other = postRun(t.app, 'support', FREE_KEY).send({ input: 'my turn' });
      const refused = await postRun(t.app, 'support', PRO_KEY).send({ input: 'one more' });
      assert.equal(refused.status, 429, JSON.stringify(refused.body));
      assert.match(refused.body.type, /too-many-runs$/);
      assert.equal((await other).status, 201);
      const samples = await scrape(t.ops);
      assert.ok(valueOf(samples, 'agent_runs_rejected_total', { reason: 'key_limit' }) >= 3);
    } finally {
      for (const socket of sockets) socket.destroy();
      await s.close();
    }
  });

  it('of a client that hung up are given back once its run is cancelled, and the run is stored so', async () => {
    const t = buildApp({ MAX_CONCURRENT_RUNS: '1', LLM_LATENCY_SCALE: '20' });
    const s = await serve(t);
    try {
      const socket = connect(s.port, '127.0.0.1');
      socket.on('error', () => {});
      socket.write(runRequest(PRO_KEY, 'I will not wait for this'));
      await sleep(300);
      assert.equal(t.services.admission.runsInFlight, 1);
      socket.destroy();
      await sleep(300);
      const inProgress = valueOf(await scrape(t.ops), 'agent_runs_in_progress', {
        agent: 'support',
      });
      assert.equal(inProgress, 0, 'the run goes on after its client hung up');
      assert.equal(t.services.admission.runsInFlight, 0);
      const db = new DatabaseSync(t.services.store.path, { readOnly: true });
      const stored = db.prepare('SELECT status FROM runs').all() as { status: string }[];
      db.close();
      assert.deepEqual(
        stored.map((run) => run.status),
        ['cancelled'],
      );
    } finally {
      await s.close();
    }
  });
});
