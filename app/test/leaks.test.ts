// What a stranger can learn or make the service say: a path that is not valid percent-encoding
// tells nothing about which routes exist before credentials are checked, a body of thousands
// of unknown fields gets a bounded 422, and a failed export's warning carries no ids of the
// request that happened to be running when it failed.
import assert from 'node:assert/strict';
import { context, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import request from 'supertest';
import { CountingExporter } from '../src/telemetry/counting-exporter';
import { withRequestId } from '../src/telemetry/logger';
import { appPerSuite, PRO_KEY } from './support/app';
import { postRun } from './support/http';
import { logLines } from './support/telemetry';

describe('what a stranger can learn', () => {
  const t = appPerSuite({ BODY_LIMIT_BYTES: String(64 * 1024) });

  it('authenticates before decoding the path: bad percent-encoding on a route answers 401', async () => {
    for (const path of ['/v1/runs/%ZZ', '/v1/agents/%E0%A4%A/runs']) {
      await request(t.app).get(path).expect(401);
    }
    await request(t.ops).get('/admin/chaos/%ZZ').expect(401);
    // With credentials, the same path is a client mistake: 400.
    await request(t.app).get('/v1/runs/%ZZ').set('X-API-Key', PRO_KEY).expect(400);
  });

  it('answers a body of 6,000 unknown fields with a 422 shorter than the body', async () => {
    const body: Record<string, string> = { input: 'hello' };
    for (let i = 0; i < 6_000; i++) body[`k${i}`] = '';
    const sent = Buffer.byteLength(JSON.stringify(body));
    const res = await postRun(t.app, 'research', PRO_KEY).send(body).expect(422);
    assert.ok(res.text.length < sent / 4, `${res.text.length} bytes answered to ${sent}`);
    assert.equal(res.body.errors.length, 20);
    assert.equal(res.body.errors_omitted, 5_980);
  });
});

describe('export failure warnings', () => {
  it('carry no request or trace id of whatever ran when the export failed', async () => {
    const failing = {
      export: (_items: unknown[], done: (result: ExportResult) => void) =>
        setImmediate(() => done({ code: ExportResultCode.FAILED, error: new Error('refused') })),
      shutdown: async () => {},
    };
    const exporter = new CountingExporter(failing, 'span', () => {});
    const first = logLines().length;
    const span = trace.getTracer('test').startSpan('a request');
    const requestContext = withRequestId(trace.setSpan(ROOT_CONTEXT, span), 'unrelated-request');
    await new Promise<void>((resolve) =>
      context.with(requestContext, () => exporter.export([{}], () => resolve())),
    );
    span.end();
    const warning = logLines()
      .slice(first)
      .find((line) => line.message === 'span export failed');
    assert.ok(warning, 'no warning');
    assert.equal(warning.request_id, undefined);
    assert.equal(warning.trace_id, undefined);
  });
});
