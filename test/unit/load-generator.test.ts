import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LoadGenerator, PoissonArrivals } from '../../scripts/lib/load/generator.ts';
import { seededRng, type Profile } from '../../scripts/lib/load/mix.ts';

const list: Profile = () => ({ kind: 'list-agents', method: 'GET', path: '/', headers: {} });

describe('Poisson arrivals', () => {
  it('plans arrivals on the clock and hands over every one that is due', () => {
    // rng() = 1 - 1/e makes every gap exactly 1/rate: 10 ms at 100 req/s.
    const arrivals = new PoissonArrivals(100, () => 1 - Math.exp(-1), 1000);
    assert.ok(Math.abs(arrivals.next - 1010) < 1e-9);
    assert.deepEqual(arrivals.due(1009), []);
    // A timer 25 ms late: the three arrivals due by then, at their planned times.
    const due = arrivals.due(1035);
    assert.deepEqual(
      due.map((t) => Math.round(t)),
      [1010, 1020, 1030],
    );
    assert.equal(Math.round(arrivals.next), 1040);
  });

  it('keeps the average rate above 1,000 req/s, several arrivals per millisecond tick', () => {
    const arrivals = new PoissonArrivals(5000, seededRng(7), 0);
    let count = 0;
    for (let now = 1; now <= 10_000; now++) count += arrivals.due(now).length;
    // 50,000 expected over 10 s; a Poisson count's standard deviation is about 224.
    assert.ok(Math.abs(count - 50_000) < 1_500, `${count} arrivals`);
  });

  it('refuses a rate that is not positive', () => {
    assert.throws(() => new PoissonArrivals(0, Math.random, 0), /rate must be > 0/);
  });
});

describe('load generator timing', () => {
  let server: Server;
  let url: string;

  before(async () => {
    server = createServer((_req, res) => res.end('ok'));
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((done) => server.close(() => done())));

  it('times latency from the intended send time, so a stall shows (no coordinated omission)', async () => {
    const generator = new LoadGenerator({
      baseUrl: url,
      keys: { free: 'unit-test-free-key-0123', pro: 'unit-test-pro-key-01234' },
      now: () => performance.now(),
    });
    generator.start(list, 200);
    // The generator's own event loop stalls for 300 ms: about 60 arrivals fall due meanwhile.
    const stallUntil = performance.now() + 300;
    while (performance.now() < stallUntil) {
      // busy
    }
    await new Promise((done) => setTimeout(done, 200));
    await generator.stop(2_000);
    const answered = generator.stats.statusCounts.get(200) ?? 0;
    assert.ok(answered >= 50, `${answered} answered`);
    // Timed from when each request was sent, every answer would take a few milliseconds; from
    // when it was due, those planned during the stall waited up to 300 ms for it.
    const worst = generator.stats.percentile(100) ?? 0;
    assert.ok(worst >= 200, `worst latency ${worst} ms`);
  });
});
