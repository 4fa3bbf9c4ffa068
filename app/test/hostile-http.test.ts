// Requests Node's HTTP parser refuses before Express sees them, slow clients, and a property-based
// fuzz of malformed requests over raw sockets (issue 14, item 4 and the fuzz test): every answer
// is a 4xx (or a 503) problem+json, counted, and the service is still ready afterwards.
import assert from 'node:assert/strict';
import { Agent, request as httpRequest, type Server } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import supertest from 'supertest';
import { createHttpServer } from '../src/http/listener';
import { buildApp, PRO_KEY, type TestApp } from './support/app';
import { scrape } from './support/http';
import { delta, valueOf } from './support/metrics';
import { rawRequest, type RawResponse } from './support/raw-http';

async function serve(t: TestApp): Promise<{ server: Server; port: number }> {
  const server = createHttpServer(t.app, t.config.http);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

function assertProblem(res: RawResponse | undefined, status: number, what: string): void {
  assert.ok(res, `${what}: no answer`);
  assert.equal(res.status, status, `${what}: ${res.body}`);
  assert.match(res.headers['content-type'] ?? '', /^application\/problem\+json/, what);
  const body = JSON.parse(res.body) as { status: number; type: string; request_id: string };
  assert.equal(body.status, status, what);
  assert.match(body.type, /^tag:agent-service\.local,2026:problem:/);
}

const PROTOCOL_CASES: { name: string; request: string; status: number }[] = [
  {
    name: 'a Content-Length that is not a number',
    request: 'POST /v1/agents HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n',
    status: 400,
  },
  {
    name: 'Content-Length with Transfer-Encoding',
    request:
      'POST /v1/agents/research/runs HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    status: 400,
  },
  {
    name: 'two different Content-Lengths',
    request: 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab',
    status: 400,
  },
  {
    name: 'a bad header name',
    request: 'GET /health/live HTTP/1.1\r\nHost: x\r\nBad Header(): 1\r\n\r\n',
    status: 400,
  },
  { name: 'an unknown method', request: 'BREW /pot HTTP/1.1\r\nHost: x\r\n\r\n', status: 400 },
  {
    name: 'not HTTP at all',
    request: '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n',
    status: 400,
  },
  {
    name: 'headers over the size limit',
    request: `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
    status: 431,
  },
  {
    name: 'a bogus Expect',
    request: 'POST /v1/agents HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\nContent-Length: 0\r\n\r\n',
    status: 417,
  },
];

describe('hostile HTTP', function () {
  this.timeout(60_000);
  let t: TestApp;
  let server: Server;
  let port: number;
  before(async () => {
    t = buildApp({
      HTTP_HEADERS_TIMEOUT_MS: '1000',
      HTTP_BODY_TIMEOUT_MS: '1000',
      HTTP_REQUEST_TIMEOUT_MS: '2000',
    });
    ({ server, port } = await serve(t));
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    t.close();
  });

  it('answers what Node refuses before routing with problem+json, and counts it', async () => {
    const before = await scrape(t.ops);
    for (const { name, request, status } of PROTOCOL_CASES) {
      assertProblem(await rawRequest(port, request), status, name);
    }
    const after = await scrape(t.ops);
    const grown = (reason: string) =>
      delta(after, before, 'http_protocol_errors_total', { reason });
    assert.equal(grown('malformed'), 6);
    assert.equal(grown('headers_too_large'), 1);
    assert.equal(grown('expectation_failed'), 1);
  });

  it('answers a client too slow with its headers 408, within the stated bound', async () => {
    const started = performance.now();
    const res = await rawRequest(port, 'GET /health/live HTTP/1.1\r\nHost: x\r\n', 10_000);
    const seconds = (performance.now() - started) / 1000;
    assertProblem(res, 408, 'slow headers');
    // headersTimeout 1 s, checked every second.
    assert.ok(seconds < 4, `answered after ${seconds} s`);
  });

  it('keeps a keep-alive connection open after answers to requests without a body', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const get = (path: string, headers: Record<string, string> = {}) =>
      new Promise<{ status: number; reused: boolean }>((resolve, reject) => {
        const req = httpRequest(`http://127.0.0.1:${port}${path}`, { agent, headers }, (res) => {
          res.resume();
          res.once('end', () => resolve({ status: res.statusCode!, reused: req.reusedSocket }));
        });
        req.once('error', reject);
        req.end();
      });
    try {
      for (const [path, headers, status] of [
        ['/v1/agents', { 'x-api-key': PRO_KEY }, 200],
        ['/nothing', {}, 404],
        ['/v1/agents', {}, 401],
      ] as const) {
        assert.equal((await get(path, headers)).status, status);
        // Past the reset an unread body would get (listener.ts, CLOSE_LINGER_MS).
        await sleep(700);
        assert.deepEqual(await get(path, headers), { status, reused: true }, path);
      }
    } finally {
      agent.destroy();
    }
  });

  it('answers thousands of generated malformed requests with 4xx or 503 problem+json', async () => {
    const token = fc.stringMatching(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,12}$/);
    const junk = fc.string({ unit: 'binary', maxLength: 40 });
    const request = fc.record({
      method: fc.oneof(
        fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'HEAD'),
        token,
      ),
      path: fc.oneof(
        fc.constantFrom(
          '/v1/agents',
          '/v1/agents/research/runs',
          '/v1/runs/x',
          '/admin/chaos',
          '/health',
          '/metrics',
        ),
        fc.webPath(),
        junk.map((s) => `/${encodeURIComponent(s).replaceAll('%25', '%')}`),
      ),
      key: fc.constantFrom(undefined, PRO_KEY, 'wrong-key-0123456789', ''),
      contentType: fc.constantFrom(
        undefined,
        'application/json',
        'application/json; charset=latin1',
        'text/plain',
        'application/json; charset=utf-16',
      ),
      encoding: fc.constantFrom(undefined, 'gzip', 'deflate', 'br', 'zstd', 'identity', 'compress'),
      headers: fc.array(
        fc.tuple(
          token,
          fc.string({ maxLength: 30 }).map((v) => v.replace(/[\r\n]/g, '')),
        ),
        { maxLength: 3 },
      ),
      body: fc.oneof(
        fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)),
        fc.json().map((text) => Buffer.from(text)),
        fc.string().map((input) => Buffer.from(JSON.stringify({ input }))),
        fc.constant(Buffer.alloc(0)),
      ),
    });
    const before = await scrape(t.ops);
    await fc.assert(
      fc.asyncProperty(fc.array(request, { minLength: 4, maxLength: 4 }), async (batch) => {
        // Four connections at a time: 2,000 requests in a few seconds.
        await Promise.all(
          batch.map(async (r) => {
            const lines = [`${r.method} ${r.path} HTTP/1.1`, 'Host: fuzz', 'Connection: close'];
            if (r.key !== undefined) lines.push(`X-API-Key: ${r.key}`);
            if (r.contentType) lines.push(`Content-Type: ${r.contentType}`);
            if (r.encoding) lines.push(`Content-Encoding: ${r.encoding}`);
            for (const [name, value] of r.headers) lines.push(`${name}: ${value}`);
            lines.push(`Content-Length: ${r.body.length}`);
            const res = await rawRequest(
              port,
              Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), r.body]),
            );
            assert.ok(res, 'no answer');
            assert.ok(res.status < 500 || res.status === 503, `${res.status} ${res.body}`);
            if (res.status >= 400 && r.method !== 'HEAD') {
              assert.match(
                res.headers['content-type'] ?? '',
                /^application\/problem\+json/,
                res.body,
              );
            }
          }),
        );
      }),
      { numRuns: 500 },
    );
    // Still serving: the API on the fuzzed listener, readiness on the management application.
    const agents = await rawRequest(
      port,
      `GET /v1/agents HTTP/1.1\r\nHost: x\r\nX-API-Key: ${PRO_KEY}\r\nConnection: close\r\n\r\n`,
    );
    assert.equal(agents?.status, 200);
    await supertest(t.ops).get('/health/ready').expect(200);
    // The registry is the process's: compare with before the fuzz, other tests make 500s.
    const after = await scrape(t.ops);
    const bugs = after.filter(
      (sample) =>
        sample.name === 'http_requests_total' &&
        sample.labels.status_code === '500' &&
        sample.value > valueOf(before, 'http_requests_total', sample.labels),
    );
    assert.deepEqual(bugs, []);
  });
});
