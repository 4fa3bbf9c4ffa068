import assert from 'node:assert/strict';
import {
  formatMs,
  isError,
  LoadStats,
  statusText,
  summaryText,
} from '../../scripts/lib/load/stats.ts';

describe('load stats', () => {
  it('counts 5xx and "no response" as errors, not 4xx', () => {
    assert.equal(isError(500), true);
    assert.equal(isError(502), true);
    assert.equal(isError(0), true);
    assert.equal(isError(429), false);
    assert.equal(isError(401), false);
    assert.equal(isError(201), false);
  });

  it('summarises counts, error ratio and percentiles', () => {
    const s = new LoadStats(0);
    // 100 answered requests of 1..100 ms: 90 × 201, 5 × 500, 5 × 429; plus 2 without an answer.
    for (let i = 1; i <= 100; i++) {
      s.recordSent('run');
      s.record({ at: 1000, status: i <= 90 ? 201 : i <= 95 ? 500 : 429, latencyMs: i });
    }
    s.recordSent('get-run');
    s.recordSent('get-run');
    s.record({ at: 1000, status: 0, latencyMs: 30_000 });
    s.record({ at: 1000, status: 0, latencyMs: 30_000 });
    assert.equal(s.completed, 102);
    assert.equal(s.errors, 7);
    assert.equal(s.errorRatio(), 7 / 102);
    // Latency only of answered requests: the timeouts do not drag p99 to 30 s.
    assert.equal(s.percentile(50), 50);
    assert.equal(s.percentile(95), 95);
    assert.equal(s.percentile(99), 99);

    // The rate is over the time spent sending; answers to the last requests come later.
    s.stoppedAt = 10_000;
    const text = summaryText(s, 14_000);
    assert.match(text, /102 requests sent in 10\.0 s \(10\.2 req\/s\), 102 completed/);
    assert.match(text, /status codes: no response × 2, 201 × 90, 429 × 5, 500 × 5/);
    assert.match(text, /error ratio \(5xx and no response\): 6\.9%/);
    assert.match(text, /p50 50 ms, p95 95 ms, p99 99 ms/);
    assert.match(text, /requests: run 100, get-run 2/);
  });

  it('reports the recent error ratio separately from the overall one', () => {
    const s = new LoadStats(0, 10_000);
    for (let i = 0; i < 10; i++) s.record({ at: 1_000, status: 500, latencyMs: 5 });
    for (let i = 0; i < 10; i++) s.record({ at: 20_000, status: 200, latencyMs: 5 });
    assert.equal(s.errorRatio(), 0.5);
    assert.equal(s.recentErrorRatio(20_000), 0, 'the errors are older than 10 s');
    assert.match(
      statusText(s, 20_000, 3),
      /^20s {2}sent 0 {2}done 20 {2}in flight 3 {2}errors now 0\.0% \(all 50\.0%\)$/,
    );
  });

  it('formats durations', () => {
    assert.equal(formatMs(undefined), '–');
    assert.equal(formatMs(12.4), '12 ms');
    assert.equal(formatMs(2310), '2.31 s');
  });
});
