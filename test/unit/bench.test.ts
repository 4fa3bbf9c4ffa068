import assert from 'node:assert/strict';
import { breakdownRows, VARIANTS } from '../../scripts/bench/breakdown.ts';
import { renderChart } from '../../scripts/bench/chart.ts';
import { startOtlpSink } from '../../scripts/bench/otlp-sink.ts';
import { percentile } from '../../scripts/lib/load/stats.ts';
import { fixedRates, type ThroughputRow } from '../../scripts/bench/report.ts';
import {
  median,
  middleRange,
  pairedDifferences,
  roundRatios,
  slope,
  spread,
  verdict,
} from '../../scripts/bench/stats.ts';

describe('bench statistics', () => {
  it('takes the median of odd and even counts without reordering the input', () => {
    const values = [5, 1, 3];
    assert.equal(median(values), 3);
    assert.deepEqual(values, [5, 1, 3]);
    assert.equal(median([4, 1, 3, 2]), 2.5);
    assert.throws(() => median([]), /no values/);
  });

  it('reports the spread as median, min and max', () => {
    assert.deepEqual(spread([10, 30, 20]), { median: 20, min: 10, max: 30 });
  });

  it('divides round by round, so drift between rounds cancels', () => {
    assert.deepEqual(roundRatios([90, 45], [100, 50]), [0.9, 0.9]);
    assert.throws(() => roundRatios([1], [1, 2]), /differ/);
  });

  it('subtracts pair by pair, for the latency a configuration adds over bare', () => {
    assert.deepEqual(pairedDifferences([1500, 900], [1000, 1000]), [500, -100]);
    assert.throws(() => pairedDifferences([1], [1, 2]), /differ/);
  });

  it('takes nearest-rank percentiles, p99.9 of 1,000 values being the 999th', () => {
    const values = Array.from({ length: 1000 }, (_, i) => 1000 - i);
    assert.equal(percentile(values, 50), 500);
    assert.equal(percentile(values, 99), 990);
    assert.equal(percentile(values, 99.9), 999);
    assert.equal(percentile([7], 99.9), 7);
    assert.throws(() => percentile([], 50), /no values/);
  });

  it('calls a target met or not met only when three quarters of the pairs agree', () => {
    assert.equal(verdict([0.92, 0.95, 0.91, 0.97], 0.9, 'atLeast', 0.2), 'met');
    assert.equal(verdict([0.8, 0.85, 0.82, 0.95], 0.9, 'atLeast', 0.2), 'not met');
    assert.equal(verdict([800, 900, 1200, 700], 1000, 'atMost', 1000), 'met');
    assert.equal(verdict([1800, 1900, 1200, 1700], 1000, 'atMost', 1000), 'not met');
  });

  it('says "not judgeable" when the spread straddles the target, or with too few pairs', () => {
    // The median (0.915) is above the target, but two pairs of five are below.
    assert.equal(verdict([0.8, 0.88, 0.915, 0.93, 0.95], 0.9, 'atLeast', 0.2), 'not judgeable');
    assert.equal(verdict([0.95, 0.96], 0.9, 'atLeast', 0.2), 'not judgeable');
    assert.equal(verdict([500, 1500, 700, 1600], 1000, 'atMost', 1000), 'not judgeable');
  });

  it('says "not judgeable" when the pairs scatter wider than allowed, even all on one side', () => {
    // Every pair misses 0.75, but the pairs range over 0.33: the noise is as large as a verdict.
    assert.equal(verdict([0.15, 0.23, 0.48], 0.75, 'atLeast', 0.2), 'not judgeable');
    // One disturbed round of five does not veto: its middle three range over 0.04.
    assert.equal(verdict([0.2, 0.91, 0.93, 0.95, 1.4], 0.9, 'atLeast', 0.2), 'met');
    assert.deepEqual(middleRange([0.2, 0.91, 0.93, 0.95, 1.4]), {
      median: 0.93,
      min: 0.91,
      max: 0.95,
    });
  });
});

describe('bench statistics', () => {
  it('sets the fixed rate at half the slowest configuration, per endpoint', () => {
    const row = (config: string, endpointName: 'cheap' | 'run', median: number) =>
      ({ config, endpointName, okPerSecond: { median, min: 0, max: 0 } }) as ThroughputRow;
    const rates = fixedRates([
      row('bare', 'cheap', 9000),
      row('conventional', 'cheap', 3001),
      row('default', 'cheap', 6000),
      row('bare', 'run', 1800),
      row('default', 'run', 1500),
    ]);
    assert.deepEqual(rates, { cheap: 1501, run: 750 });
  });

  it("breaks default down pair by pair: CPU added over the same round's bare, throughput kept", () => {
    const sample = (okPerSecond: number, cpuUsPerRequest: number) =>
      ({ okPerSecond, cpuUsPerRequest, p50Ms: 0, p99Ms: 0, non2xx: 0, errors: 0 }) as const;
    // Round 2 ran on a slower machine: its bare is slower too, and the pair cancels it.
    const perVariant = (cpu: [number, number], ok: [number, number]) => ({
      cheap: [sample(ok[0], cpu[0]), sample(ok[1], cpu[1])],
      run: [sample(ok[0] / 4, cpu[0] * 4), sample(ok[1] / 4, cpu[1] * 4)],
    });
    const samples = Object.fromEntries(
      VARIANTS.map((v) => [v.name, perVariant([200, 300], [5000, 3000])]),
    );
    samples.default = perVariant([400, 520], [2500, 1800]);
    const rows = breakdownRows(samples);
    assert.equal(rows.length, VARIANTS.length * 2);
    const cheap = rows.find((r) => r.variant === 'default' && r.endpointName === 'cheap');
    assert.deepEqual(cheap?.addedCpuUs, { median: 210, min: 200, max: 220 });
    assert.deepEqual(cheap?.ratioToBare, { median: 0.55, min: 0.5, max: 0.6 });
    assert.deepEqual(cheap?.pairs, { addedCpuUs: [200, 220], ratioToBare: [0.5, 0.6] });
    const run = rows.find((r) => r.variant === 'default' && r.endpointName === 'run');
    assert.deepEqual(run?.addedCpuUs, { median: 840, min: 800, max: 880 });
    const bare = rows.find((r) => r.variant === 'bare' && r.endpointName === 'run');
    assert.deepEqual(bare?.addedCpuUs, { median: 0, min: 0, max: 0 });
  });

  it('fits a least-squares slope', () => {
    assert.equal(slope([0, 1, 2, 3], [10, 12, 14, 16]), 2);
    assert.equal(slope([0, 1, 2], [5, 5, 5]), 0);
  });
});

describe('bench chart', () => {
  const svg = renderChart({
    title: 'Throughput <kept>',
    subtitle: '2026-11-23 · test machine',
    groups: [
      {
        label: 'GET /v1/agents',
        bars: [
          { label: 'default', ratio: { median: 0.8, min: 0.7, max: 0.85 } },
          { label: 'lean', ratio: { median: 0.9, min: 0.88, max: 0.95 }, target: 0.75 },
        ],
      },
    ],
  });

  it('draws one bar and one label per configuration, with escaped text', () => {
    assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    assert.equal(svg.match(/<rect /g)?.length, 3, 'background + two bars');
    assert.match(svg, />0\.80</);
    assert.match(svg, />0\.90</);
    assert.match(svg, /Throughput &lt;kept&gt;/);
  });

  it('draws a dashed target line only where a target is set', () => {
    assert.equal(svg.match(/stroke-dasharray/g)?.length, 1);
  });
});

describe('bench OTLP sink', () => {
  it('accepts the traces, metrics and logs sdk-node exports by default, and counts them per path', async () => {
    const sink = await startOtlpSink();
    try {
      for (const signal of ['traces', 'metrics', 'logs']) {
        const res = await fetch(`${sink.url}/v1/${signal}`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-protobuf' },
          body: new Uint8Array([0x0a, 0x00]),
        });
        assert.equal(res.status, 200, signal);
        assert.equal(res.headers.get('content-type'), 'application/x-protobuf');
        assert.equal((await res.arrayBuffer()).byteLength, 0, 'an empty Export*ServiceResponse');
      }
      const stats = await sink.stats();
      assert.deepEqual(stats.byPath, { '/v1/traces': 1, '/v1/metrics': 1, '/v1/logs': 1 });
      assert.equal(stats.bytes, 6);
    } finally {
      await sink.close();
    }
  });
});
