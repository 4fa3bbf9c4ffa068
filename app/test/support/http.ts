// Small helpers over supertest shared by the HTTP tests.
import { randomBytes } from 'node:crypto';
import type { Express } from 'express';
import request from 'supertest';
import { parseMetrics, type Sample } from './metrics';

/** A W3C traceparent for a new sampled trace, and its ids. */
export function newTraceparent(): { header: string; traceId: string; parentSpanId: string } {
  const traceId = randomBytes(16).toString('hex');
  const parentSpanId = randomBytes(8).toString('hex');
  return { header: `00-${traceId}-${parentSpanId}-01`, traceId, parentSpanId };
}

/** GET /metrics as text (supertest buffers only text/* by itself). */
export async function scrapeText(app: Express): Promise<{ text: string; contentType: string }> {
  const res = await request(app)
    .get('/metrics')
    .buffer(true)
    .parse((response, done) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => done(null, text));
    })
    .expect(200);
  return { text: res.body as string, contentType: res.headers['content-type'] as string };
}

export async function scrape(app: Express): Promise<Sample[]> {
  return parseMetrics((await scrapeText(app)).text);
}

/** POST /v1/agents/:agent/runs with an API key; the caller sends the body and expects a status. */
export function postRun(app: Express, agent: string, key: string): request.Test {
  return request(app).post(`/v1/agents/${agent}/runs`).set('X-API-Key', key);
}

/** GET a path with an API key. */
export function getWithKey(app: Express, path: string, key: string): request.Test {
  return request(app).get(path).set('X-API-Key', key);
}
