// The per-address connection cap, seen from a client: one address (the attacker, 127.0.0.2)
// gets at most MAX_CONNECTIONS_PER_ADDRESS connections, the next ones are closed at once and
// counted, and another address (the probe, 127.0.0.1) is still served. Through compose's
// published port every host client is one address, the bridge gateway: make test-compose
// checks the cap there (docs/docker.md, "Client addresses").
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { startService, type RunningService } from '../support/child';
import { parseMetrics, valueOf } from '../support/metrics';
import { probeOnce } from './probe';
import { ATTACKER_ADDRESS, DEFAULTS, PROBE_KEY, serviceEnv } from './settings';

const CAP = DEFAULTS.maxConnectionsPerAddress;
const EXTRA = 64;

async function refusals(managementUrl: string): Promise<number> {
  const text = await (await fetch(`${managementUrl}/metrics`)).text();
  return valueOf(parseMetrics(text), 'http_connections_refused_total', { reason: 'per_address' });
}

/** Opens `count` idle connections; resolves once each is connected or already closed. */
async function openIdle(url: string, count: number, localAddress: string) {
  const { hostname, port } = new URL(url);
  const sockets: Socket[] = [];
  const closed = new Set<Socket>();
  for (let i = 0; i < count; i += 64) {
    const batch = Array.from({ length: Math.min(64, count - i) }, () => {
      const socket = connect({ host: hostname, port: Number(port), localAddress });
      socket.on('error', () => {});
      socket.once('close', () => closed.add(socket));
      return socket;
    });
    sockets.push(...batch);
    await Promise.all(
      batch.map(
        (s) => new Promise((resolve) => (s.once('connect', resolve), s.once('close', resolve))),
      ),
    );
  }
  return {
    open: () => sockets.length - closed.size,
    destroy: () => sockets.forEach((s) => s.destroy()),
  };
}

describe('the per-address connection cap', function () {
  this.timeout(30_000);
  let service: RunningService;
  before(async () => {
    service = await startService(serviceEnv('http://127.0.0.1:9'));
  });
  after(async () => {
    await service?.stop();
  });

  it(`keeps ${CAP} connections of one address, closes the next ones at once and counts them`, async () => {
    const before = await refusals(service.managementUrl);
    const held = await openIdle(service.url, CAP + EXTRA, ATTACKER_ADDRESS);
    try {
      // The kernel completes each handshake before the service accepts it; the ones past the cap
      // are reset as the service's event loop accepts them, later on a loaded machine.
      for (let i = 0; i < 100 && held.open() > CAP; i++) await sleep(100);
      assert.equal(held.open(), CAP, `${held.open()} connections open, the cap is ${CAP}`);
      // /metrics is rendered at most once a second (METRICS_CACHE_MS).
      let counted = 0;
      for (let i = 0; i < 30 && counted < EXTRA; i++) {
        await sleep(100);
        counted = (await refusals(service.managementUrl)) - before;
      }
      assert.ok(counted >= EXTRA, `${counted} refusals counted, ${EXTRA} expected`);
      const other = await probeOnce(`${service.url}/v1/agents`, {
        method: 'GET',
        headers: { 'x-api-key': PROBE_KEY },
        expected: 200,
      });
      assert.ok(other.ok, `another address: ${other.detail}`);
    } finally {
      held.destroy();
    }
  });
});
