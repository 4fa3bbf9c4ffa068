// The service as its image runs it: `node --require ./dist/telemetry/instrument.js dist/server.js`
// in a folder that holds the compiled service and the production dependencies alone, the set
// `npm ci --omit=dev` installs (npm's own `npm ls --omit=dev`), so no dev dependency can stand in
// for a missing one. A traced request that fails must put its spans and log records into a
// real OTLP receiver and its error into a Sentry receiver, through the SDKs' own transports.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ADMIN_TOKEN, PRO_KEY } from './support/app';
import { startService } from './support/child';
import { newTraceparent } from './support/http';
import { SPAN_KIND, startOtlpReceiver, type OtlpReceiver } from './support/otlp-receiver';
import { startSentryReceiver, type SentryReceiver } from './support/sentry-receiver';

const APP = resolve(__dirname, '../..');
// The tests' build of src/: the same sources and compiler options as `npm run build`
// (tsconfig.test.json extends tsconfig.json with another rootDir and outDir only).
const BUILT_SRC = resolve(__dirname, '../src');

/** The production packages' folders, as npm computes them, outermost first. */
function productionPackages(): string[] {
  const out = execFileSync('npm', ['ls', '--omit=dev', '--all', '--parseable'], {
    cwd: APP,
    encoding: 'utf8',
    maxBuffer: 16 * 1024 * 1024,
  });
  const inside = join(APP, 'node_modules') + sep;
  return out
    .split('\n')
    .filter((p) => p.startsWith(inside))
    .sort();
}

/** A folder laid out like the image's /app: package.json, dist/, production node_modules/. */
function productionFolder(): string {
  const dir = mkdtempSync(join(tmpdir(), 'agent-service-production-'));
  for (const f of ['package.json', 'package-lock.json']) copyFileSync(join(APP, f), join(dir, f));
  cpSync(BUILT_SRC, join(dir, 'dist'), { recursive: true });
  let outer = '';
  for (const pkg of productionPackages()) {
    if (outer && pkg.startsWith(outer + sep)) continue; // copied with its parent
    outer = pkg;
    const to = join(dir, relative(APP, pkg));
    mkdirSync(dirname(to), { recursive: true });
    cpSync(pkg, to, { recursive: true, verbatimSymlinks: true });
  }
  return dir;
}

async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

describe('the production build with production dependencies only', function () {
  this.timeout(120_000);
  let dir: string;
  let otlp: OtlpReceiver;
  let sentry: SentryReceiver;
  before(async () => {
    dir = productionFolder();
    otlp = await startOtlpReceiver();
    sentry = await startSentryReceiver();
  });
  after(async () => {
    await otlp.close();
    await sentry.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('holds no dev dependency', () => {
    for (const dev of ['typescript', 'mocha', 'supertest', 'fast-check'])
      assert.equal(existsSync(join(dir, 'node_modules', dev)), false, `${dev} was copied`);
    assert.ok(existsSync(join(dir, 'node_modules/@opentelemetry/sdk-node')));
  });

  // What the service never runs (package.json "overrides" swap them for an empty package):
  // the Sentry bundler plugins' build-time tools (the FSL-licensed `sentry` CLI and the native
  // oxc-parser) and the exporters @opentelemetry/sdk-node requires but this service never
  // starts (it builds its own OTLP/HTTP exporters: telemetry/tracing.ts, log-export.ts).
  it('holds no build-time Sentry tool and no exporter the service never starts', () => {
    // By the name in each package's own package.json: an overridden package keeps its folder.
    const shipped = productionPackages().map(
      (p) => (JSON.parse(readFileSync(join(p, 'package.json'), 'utf8')) as { name: string }).name,
    );
    const unused = [
      /(^|\/)@sentry\/cli/,
      /(^|\/)@sentry\/bundler-plugin/,
      /(^|\/)@?oxc-parser/,
      /(^|\/)@grpc\//,
      /exporter-zipkin|exporter-prometheus|-otlp-grpc|otlp-grpc-exporter-base/,
    ];
    const found = shipped.filter((p) => unused.some((re) => re.test(p)));
    assert.deepEqual(found, [], 'production dependencies the service never runs');
  });

  it('exports a failed request as spans, log records and a Sentry event', async () => {
    const service = await startService(
      { NODE_ENV: 'production', OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url, SENTRY_DSN: sentry.dsn },
      { cwd: dir },
    );
    const { header, traceId } = newTraceparent();
    try {
      const fault = await fetch(`${service.managementUrl}/admin/chaos/error_ratio`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ value: 1, ttl_seconds: 60 }),
      });
      assert.equal(fault.status, 200, await fault.text());
      const res = await fetch(`${service.url}/v1/agents`, {
        headers: { 'x-api-key': PRO_KEY, traceparent: header },
      });
      assert.equal(res.status, 500);
      const event = await until('the Sentry event', () =>
        sentry
          .events()
          .find(
            (e) => (e.contexts as { trace?: { trace_id: string } }).trace?.trace_id === traceId,
          ),
      );
      assert.ok(event.exception, 'the event carries the exception');
    } finally {
      assert.equal(await service.stop(), 0, service.stderr());
    }
    // Flushed at exit: the server span and the request's log record, in the same trace.
    const spans = otlp.spansOf(traceId);
    assert.equal(spans.filter((s) => s.kind === SPAN_KIND.server).length, 1, 'no server span');
    const access = otlp.logRecords.find((r) => r.traceId === traceId && r.body === 'request');
    assert.ok(access, 'no log record of the request');
    assert.equal(access.attributes.status_code, 500);
  });
});
