// Requests anyone can make at will (unknown paths, health probes, failed authentication) cost
// the log store and the trace store a bounded amount: 20 request lines a second between them,
// the rest counted (the next line's `suppressed`, log_lines_suppressed_total), and the spans of
// the lines left out are not exported either.
import assert from 'node:assert/strict';
import request from 'supertest';
import type { Express } from 'express';
import { appPerSuite } from './support/app';
import { scrape } from './support/http';
import { delta } from './support/metrics';
import { flushSpans, logLines, otlp } from './support/telemetry';

const FLOOD = 100;
// 20 lines a second (http/observe.ts), in each one-second window the flood touched.
const allowed = (seconds: number) => 20 * Math.ceil(seconds + 1);

async function floodOf(app: Express, path: (i: number) => string) {
  const firstLine = logLines().length;
  const started = performance.now();
  for (let i = 0; i < FLOOD; i++) await request(app).get(path(i));
  const seconds = (performance.now() - started) / 1000;
  await flushSpans();
  const lines = logLines()
    .slice(firstLine)
    .filter((line) => line.message === 'request');
  return { seconds, lines };
}

describe('floods of requests nobody vouches for', function () {
  this.timeout(30_000);
  const t = appPerSuite();

  it('unknown paths: the log lines and spans are bounded, the rest counted', async () => {
    const tag = `nothing-${Date.now()}`;
    const before = await scrape(t.ops);
    const { seconds, lines } = await floodOf(t.app, (i) => `/${tag}/${i}`);
    const spans = otlp().spans.filter((s) =>
      String(s.attributes['url.path']).startsWith(`/${tag}/`),
    );
    assert.ok(lines.length <= allowed(seconds), `${lines.length} lines in ${seconds.toFixed(1)} s`);
    assert.ok(spans.length <= allowed(seconds), `${spans.length} spans in ${seconds.toFixed(1)} s`);
    const suppressed = delta(await scrape(t.ops), before, 'log_lines_suppressed_total', {
      source: 'request',
    });
    assert.equal(lines.length + suppressed, FLOOD);
  });

  it('health probes: the same budget', async () => {
    const { seconds, lines } = await floodOf(t.ops, () => '/health/live');
    const probeLines = lines.filter((line) => line.route === '/health/live');
    assert.ok(
      probeLines.length <= allowed(seconds),
      `${probeLines.length} lines in ${seconds.toFixed(1)} s`,
    );
  });
});
