// The per-address connection cap, seen from a client: one address gets at most
// MAX_CONNECTIONS_PER_ADDRESS connections, the next ones are closed at once and counted, and
// another address is still served. Against a service this file starts (attacker 127.0.0.2,
// probe 127.0.0.1), or against a running one: ATTACK_API_URL (its API port, e.g. compose's
// published http://127.0.0.1:8000, where every host client arrives from the bridge gateway, so
// the cap counts this host's connections together), ATTACK_MANAGEMENT_URL for its refusal
// counter, ATTACK_PER_ADDRESS_CAP when it is not the default.
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { startService, type RunningService } from '../support/child';
import { parseMetrics, valueOf } from '../support/metrics';
import { probeOnce } from './probe';
import { ATTACKER_ADDRESS, DEFAULTS, PROBE_KEY, serviceEnv } from './settings';

const EXTERNAL = process.env.ATTACK_API_URL;
const CAP = Number(process.env.ATTACK_PER_ADDRESS_CAP ?? DEFAULTS.maxConnectionsPerAddress);
const EXTRA = 64;

async function refusals(managementUrl: string | undefined): Promise<number | undefined> {
  if (!managementUrl) return undefined;
  const text = await (await fetch(`${managementUrl}/metrics`)).text();
  return valueOf(parseMetrics(text), 'http_connections_refused_total', { reason: 'per_address' });
}

/** Opens `count` idle connections; resolves once each is connected or already closed. */
async function openIdle(url: string, count: number, localAddress?: string) {
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
  let service: RunningService | undefined;
  let apiUrl = EXTERNAL ?? '';
  let managementUrl = process.env.ATTACK_MANAGEMENT_URL;
  before(async () => {
    if (EXTERNAL) return;
    service = await startService(serviceEnv('http://127.0.0.1:9'));
    apiUrl = service.url;
    managementUrl = service.managementUrl;
  });
  after(async () => {
    await service?.stop();
  });

  it(`keeps ${CAP} connections of one address, closes the next ones at once and counts them`, async () => {
    const before = await refusals(managementUrl);
    const held = await openIdle(apiUrl, CAP + EXTRA, EXTERNAL ? undefined : ATTACKER_ADDRESS);
    try {
      await sleep(500);
      assert.ok(held.open() <= CAP, `${held.open()} connections open, the cap is ${CAP}`);
      // Against a running stack, other clients of this host may hold a few of the cap.
      if (!EXTERNAL) assert.equal(held.open(), CAP);
      if (before !== undefined) {
        // /metrics is rendered at most once a second (METRICS_CACHE_MS).
        let counted = 0;
        for (let i = 0; i < 30 && counted < EXTRA; i++) {
          await sleep(100);
          counted = ((await refusals(managementUrl)) ?? 0) - before;
        }
        assert.ok(counted >= EXTRA, `${counted} refusals counted, ${EXTRA} expected`);
      }
      if (!EXTERNAL) {
        const other = await probeOnce(`${apiUrl}/v1/agents`, {
          method: 'GET',
          headers: { 'x-api-key': PROBE_KEY },
          expected: 200,
        });
        assert.ok(other.ok, `another address: ${other.detail}`);
      }
    } finally {
      held.destroy();
    }
  });
});
