import assert from 'node:assert/strict';
import { formatDuration, parseDuration, scaleMs } from '../../scripts/lib/stack/duration.ts';
import {
  parseTimeScale,
  REAL_TIME,
  timeScaleFromState,
  timeScaleState,
} from '../../scripts/lib/time-scale.ts';

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
    assert.deepEqual(parseTimeScale('1/60'), { speedup: 60, factor: 1 / 60 });
    assert.deepEqual(parseTimeScale('60'), { speedup: 60, factor: 1 / 60 });
    assert.deepEqual(parseTimeScale('0.5'), { speedup: 2, factor: 0.5 });
    assert.deepEqual(parseTimeScale('2'), { speedup: 2, factor: 0.5 });
    assert.deepEqual(parseTimeScale('2.5'), { speedup: 2.5, factor: 0.4 });
    assert.deepEqual(parseTimeScale('1'), REAL_TIME);
    assert.throws(() => parseTimeScale('0'), /factor like 1\/60/);
    assert.throws(() => parseTimeScale('fast'), /factor like 1\/60/);
    // Read back from the state file `make configure` writes: the same scale, 2.5 included.
    for (const text of ['60', '2.5', '1/15'])
      assert.deepEqual(
        timeScaleFromState(timeScaleState(parseTimeScale(text))),
        parseTimeScale(text),
      );
  });

  it('scales, rounds to ms, clamps at the floor and keeps zero', () => {
    assert.deepEqual(scaleMs(3_600_000, 1 / 60, 1000), { ms: 60_000, clamped: false });
    assert.deepEqual(scaleMs(15_000, 1 / 60, 1000), { ms: 1000, clamped: true });
    assert.deepEqual(scaleMs(0, 1 / 60, 1000), { ms: 0, clamped: false });
    assert.deepEqual(scaleMs(100, 1 / 3, 0), { ms: 33, clamped: false });
  });
});
