import assert from 'node:assert/strict';
import {
  formatDuration,
  parseDuration,
  parseFactor,
  scaleMs,
} from '../../scripts/lib/stack/duration.ts';

describe('durations', () => {
  it('parses single, compound and bare-number durations', () => {
    assert.equal(parseDuration('500ms'), 500);
    assert.equal(parseDuration('5m'), 300_000);
    assert.equal(parseDuration('1h30m'), 5_400_000);
    assert.equal(parseDuration('3d'), 259_200_000);
    assert.equal(parseDuration('300'), 300_000);
    assert.throws(() => parseDuration('5 minutes'), /not a Prometheus duration/);
    assert.throws(() => parseDuration('-5m'), /not a Prometheus duration/);
  });

  it('formats in the largest unit that is exact', () => {
    assert.equal(formatDuration(60_000), '1m');
    assert.equal(formatDuration(90_000), '90s');
    assert.equal(formatDuration(1_500), '1500ms');
    assert.equal(formatDuration(4_320_000), '72m');
    assert.equal(formatDuration(0), '0s');
    assert.throws(() => formatDuration(1.5));
  });

  it('parses time scales as factors or as speed-ups', () => {
    assert.equal(parseFactor('1/60'), 1 / 60);
    assert.equal(parseFactor('60'), 1 / 60);
    assert.equal(parseFactor('0.5'), 0.5);
    assert.equal(parseFactor('2'), 0.5);
    assert.equal(parseFactor('1'), 1);
    assert.throws(() => parseFactor('0'), /factor like 1\/60/);
    assert.throws(() => parseFactor('fast'), /factor like 1\/60/);
  });

  it('scales, rounds to ms, clamps at the floor and keeps zero', () => {
    assert.deepEqual(scaleMs(3_600_000, 1 / 60, 1000), { ms: 60_000, clamped: false });
    assert.deepEqual(scaleMs(15_000, 1 / 60, 1000), { ms: 1000, clamped: true });
    assert.deepEqual(scaleMs(0, 1 / 60, 1000), { ms: 0, clamped: false });
    assert.deepEqual(scaleMs(100, 1 / 3, 0), { ms: 33, clamped: false });
  });
});
