import assert from 'node:assert/strict';
import { brotliCompressSync, deflateSync, gzipSync, zstdCompressSync } from 'node:zlib';
import request from 'supertest';
import { buildApp, PRO_KEY, type TestApp } from './support/app';
import { getWithKey, postRun, scrape } from './support/http';
import { delta, valueOf } from './support/metrics';

const PROBLEM = /^application\/problem\+json/;

/** Every problem response: RFC 9457 members, the request id, and nothing from inside the code. */
function assertProblem(res: request.Response, status: number, slug: string): void {
  assert.equal(res.status, status);
  assert.match(res.headers['content-type']!, PROBLEM);
  assert.equal(res.body.status, status);
  assert.equal(res.body.type, `tag:agent-service.local,2026:problem:${slug}`);
  assert.equal(typeof res.body.title, 'string');
  assert.equal(typeof res.body.detail, 'string');
  assert.equal(res.body.request_id, res.headers['x-request-id']);
  assert.doesNotMatch(res.text, /\bat .+\.js:\d+|node_modules|Error:/);
}

describe('bad input', () => {
  let t: TestApp;
  let atStart: Awaited<ReturnType<typeof scrape>>;
  before(async () => {
    t = buildApp({ BODY_LIMIT_BYTES: '1024' });
    atStart = await scrape(t.ops);
  });
  after(() => t.close());

  const postResearch = () => postRun(t.app, 'research', PRO_KEY);
  // superagent would serialise a Buffer as JSON ({"type":"Buffer",…}); these go out as bytes.
  const postBytes = (body: Buffer, headers: Record<string, string>) =>
    postResearch()
      .set({ 'Content-Type': 'application/json', ...headers })
      .serialize((bytes: Buffer) => bytes as unknown as string)
      .send(body);

  it('malformed JSON → 400', async () => {
    const res = await postResearch().set('Content-Type', 'application/json').send('{"input": "x",');
    assertProblem(res, 400, 'malformed-json');
  });

  it('wrong types → 422 with a pointer per field', async () => {
    const res = await postResearch().send({ input: 42, model: 'gpt-9' });
    assertProblem(res, 422, 'validation-error');
    const pointers = (res.body.errors as { pointer: string }[]).map((e) => e.pointer).sort();
    assert.deepEqual(pointers, ['/input', '/model']);
  });

  it('missing and empty input → 422', async () => {
    const missing = await postResearch().send({});
    assertProblem(missing, 422, 'validation-error');
    assert.deepEqual(
      missing.body.errors.map((e: { pointer: string }) => e.pointer),
      ['/input'],
    );
    const blank = await postResearch().send({ input: '   ' });
    assertProblem(blank, 422, 'validation-error');
    assert.match(blank.body.errors[0].detail, /must not be empty/);
  });

  it('a JSON array instead of an object → 422', async () => {
    const res = await postResearch().send([{ input: 'x' }]);
    assertProblem(res, 422, 'validation-error');
  });

  it('unknown fields → 422 naming each of them', async () => {
    const res = await postResearch().send({ input: 'hello', temperature: 2, stream: true });
    assertProblem(res, 422, 'validation-error');
    assert.deepEqual(res.body.errors, [
      { pointer: '/temperature', detail: 'unknown field' },
      { pointer: '/stream', detail: 'unknown field' },
    ]);
  });

  it('a body over the limit → 413', async () => {
    const res = await postResearch().send({ input: 'x'.repeat(2048) });
    assertProblem(res, 413, 'payload-too-large');
    assert.match(res.body.detail, /1024 bytes/);
  });

  it('a body that is not JSON → 415', async () => {
    const res = await postResearch().set('Content-Type', 'text/plain').send('input=hello');
    assertProblem(res, 415, 'unsupported-media-type');
  });

  it('an unsupported charset → 415', async () => {
    const res = await postResearch()
      .set('Content-Type', 'application/json; charset=latin-9000')
      .send('{"input":"x"}');
    assertProblem(res, 415, 'unsupported-media-type');
  });

  it('a corrupt compressed body → 400, for every Content-Encoding', async () => {
    const body = Buffer.from(JSON.stringify({ input: 'hello' }));
    const encodings = {
      gzip: gzipSync(body),
      deflate: deflateSync(body),
      br: brotliCompressSync(body),
      zstd: zstdCompressSync(body),
    };
    for (const [encoding, compressed] of Object.entries(encodings)) {
      // The right magic number and then garbage, and a valid stream cut in half.
      for (const corrupt of [
        Buffer.concat([compressed.subarray(0, 4), Buffer.alloc(32, 0xa5)]),
        compressed.subarray(0, Math.ceil(compressed.length / 2)),
      ]) {
        const res = await postBytes(corrupt, { 'Content-Encoding': encoding });
        assert.equal(res.status, 400, `${encoding}: ${res.text}`);
        assertProblem(res, 400, 'bad-request');
      }
    }
  });

  it('a gzip bomb → 413 at the inflated limit, without inflating it all', async () => {
    // 64 MiB of spaces compress to about 64 KiB; the limit here is 1 KiB once inflated.
    const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024, ' '));
    const res = await postBytes(bomb, { 'Content-Encoding': 'gzip' });
    assertProblem(res, 413, 'payload-too-large');
  });

  it('a body that is not UTF-8 → 415, and no run is made', async () => {
    const latin1 = Buffer.from('{"input": "caf\u00e9 cr\u00e8me"}', 'latin1');
    const res = await postBytes(latin1, {});
    assertProblem(res, 415, 'unsupported-media-type');
    assert.match(res.body.detail, /UTF-8/);
    const utf16 = await postBytes(Buffer.from('{"input": "hello"}', 'utf16le'), {
      'Content-Type': 'application/json; charset=utf-16le',
    });
    assertProblem(utf16, 415, 'unsupported-media-type');
  });

  it('unknown routes → 404 under the one route label "unmatched"', async () => {
    const before = await scrape(t.ops);
    const paths = ['/nope', '/v1/agent', '/v1/agents/research/runs/extra', '/users/alice'];
    for (const path of paths) {
      // Under /v1 the key comes first: without one, any path there is a 401.
      const res = await request(t.app).get(path).set('X-API-Key', PRO_KEY);
      assertProblem(res, 404, 'not-found');
      assert.equal(res.body.instance, path);
    }
    const after = await scrape(t.ops);
    const unmatched = { method: 'GET', route: 'unmatched', status_code: '404' };
    assert.equal(delta(after, before, 'http_requests_total', unmatched), paths.length);
    const routes = new Set(
      after.filter((s) => s.name === 'http_requests_total').map((s) => s.labels.route),
    );
    for (const path of paths) assert.ok(!routes.has(path), `${path} became a label value`);
  });

  it('unknown methods are bounded too: label _OTHER', async () => {
    const before = await scrape(t.ops);
    await request(t.app)['propfind']('/somewhere').expect(404);
    const after = await scrape(t.ops);
    const labels = { method: '_OTHER', route: 'unmatched', status_code: '404' };
    assert.equal(delta(after, before, 'http_requests_total', labels), 1);
  });

  it('wrong method → 405 with Allow, counted under the route template', async () => {
    const before = await scrape(t.ops);
    const res = await request(t.app).delete('/v1/agents/research/runs').set('X-API-Key', PRO_KEY);
    assertProblem(res, 405, 'method-not-allowed');
    assert.equal(res.headers.allow, 'POST, OPTIONS');
    const get = await request(t.app).post('/v1/agents').set('X-API-Key', PRO_KEY);
    assertProblem(get, 405, 'method-not-allowed');
    assert.equal(get.headers.allow, 'GET, HEAD, OPTIONS');
    const after = await scrape(t.ops);
    const labels = { method: 'DELETE', route: '/v1/agents/:agent/runs', status_code: '405' };
    assert.equal(delta(after, before, 'http_requests_total', labels), 1);
  });

  it('OPTIONS → 204 with Allow', async () => {
    const res = await request(t.app).options('/v1/runs/abc').set('X-API-Key', PRO_KEY).expect(204);
    assert.equal(res.headers.allow, 'GET, HEAD, OPTIONS');
  });

  it('a path that is not valid percent-encoding → 400', async () => {
    const res = await getWithKey(t.app, '/v1/runs/%E0%A4%A', PRO_KEY);
    assertProblem(res, 400, 'bad-request');
  });

  it('answered none of these client mistakes with a 5xx', async () => {
    const after = await scrape(t.ops);
    const serverErrors = after.filter(
      (s) => s.name === 'http_requests_total' && s.labels.status_code!.startsWith('5'),
    );
    assert.ok(serverErrors.length > 0, 'the 5xx series exist from the start');
    for (const series of serverErrors) {
      assert.equal(
        series.value,
        valueOf(atStart, 'http_requests_total', series.labels),
        JSON.stringify(series.labels),
      );
    }
  });
});
