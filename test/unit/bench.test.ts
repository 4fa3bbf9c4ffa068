import assert from 'node:assert/strict';
import { renderChart } from '../../scripts/bench/chart.ts';
import { median, roundRatios, slope, spread } from '../../scripts/bench/stats.ts';

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
