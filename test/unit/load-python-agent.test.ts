// make load's traffic for the Python example (scripts/lib/load/python-agent.ts), against a
// local HTTP server standing in for it (the real service is driven in test/e2e): its pace, its
// cap on runs in flight, and its count by status.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { drivePythonAgent, pythonAgentReady } from '../../scripts/lib/load/python-agent.ts';

interface StandIn {
  url: string;
  server: Server;
  runs: number;
  maxInFlight: number;
}

async function standIn(delayMs: number): Promise<StandIn> {
  const s = { runs: 0, maxInFlight: 0 } as StandIn;
  let inFlight = 0;
  s.server = createServer((req, res) => {
    if (req.url === '/health/ready') return res.end('ok');
    inFlight++;
    s.maxInFlight = Math.max(s.maxInFlight, inFlight);
    req.resume();
    setTimeout(() => {
      inFlight--;
      s.runs++;
      res.writeHead(s.runs % 5 === 0 ? 502 : 201).end('{}');
    }, delayMs);
  });
  await new Promise<void>((resolve) => s.server.listen(0, '127.0.0.1', resolve));
  s.url = `http://127.0.0.1:${(s.server.address() as AddressInfo).port}`;
  return s;
}

describe('make load: the Python example’s runs', function () {
  it('runs at its pace, counts each answer by status, and waits for those in flight', async function () {
    const s = await standIn(20);
    assert.equal(await pythonAgentReady(s.url), true);
    const load = drivePythonAgent(s.url, 20);
    await new Promise((r) => setTimeout(r, 1000));
    const statuses = await load.stop();
    s.server.close();
    const total = [...statuses.values()].reduce((a, b) => a + b, 0);
    assert.equal(total, s.runs);
    assert.ok(total >= 10 && total <= 21, `${total} runs in 1 s at 20/s`);
    assert.equal(statuses.get(502), Math.floor(s.runs / 5));
  });

  it('keeps at most 4 runs in flight when the service is slow', async function () {
    const s = await standIn(500);
    const statuses = await (async () => {
      const load = drivePythonAgent(s.url, 50);
      await new Promise((r) => setTimeout(r, 600));
      return load.stop();
    })();
    s.server.close();
    assert.equal(s.maxInFlight, 4);
    assert.ok([...statuses.values()].reduce((a, b) => a + b, 0) <= 8);
  });

  it('finds no Python example where none listens', async function () {
    const s = await standIn(0);
    s.server.close();
    await new Promise((r) => s.server.once('close', r));
    assert.equal(await pythonAgentReady(s.url), false);
  });
});
