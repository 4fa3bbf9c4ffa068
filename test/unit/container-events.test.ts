// scripts/lib/container-events.ts against a stand-in of the Docker Engine's API: a real HTTP
// server on a real Unix socket answering the three calls the exporter makes (the container
// list, inspect, the event stream) as Engine 20.10 does. The real Engine is the compose test's
// (test/compose/host-metrics.test.ts): an OOM kill and a crash loop there.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  metricsText,
  startContainerEvents,
  type ContainerEvents,
} from '../../scripts/lib/container-events.ts';
import { waitUntil } from '../../scripts/lib/wait.ts';

interface FakeContainer {
  Id: string;
  Name: string;
  RestartCount: number;
  Config: { Labels: Record<string, string> };
}
interface FakeEvent {
  Type: string;
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  time: number;
  timeNano: number;
}

/** The Engine's API as the exporter uses it; events are kept, as the Engine keeps its last ones. */
class FakeEngine {
  readonly containers = new Map<string, FakeContainer>();
  readonly history: FakeEvent[] = [];
  private readonly streams = new Set<ServerResponse>();
  readonly server: Server;
  constructor() {
    this.server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://engine');
      const inspect = /^\/containers\/([^/]+)\/json$/.exec(url.pathname);
      if (url.pathname === '/containers/json') {
        res.end(JSON.stringify([...this.containers.values()].map(({ Id }) => ({ Id }))));
      } else if (inspect && this.containers.has(inspect[1])) {
        res.end(JSON.stringify(this.containers.get(inspect[1])));
      } else if (url.pathname === '/events') {
        const since = Number(url.searchParams.get('since'));
        res.writeHead(200, { 'content-type': 'application/json' }).flushHeaders();
        for (const e of this.history.filter((h) => h.time >= since))
          res.write(`${JSON.stringify(e)}\n`);
        this.streams.add(res);
        res.on('close', () => this.streams.delete(res));
      } else res.writeHead(404).end('{"message":"no such container"}');
    });
  }
  add(id: string, name: string, service: string, restarts = 0): void {
    const Labels = { 'com.docker.compose.service': service, 'com.docker.compose.project': 'p' };
    this.containers.set(id, {
      Id: id,
      Name: `/${name}`,
      RestartCount: restarts,
      Config: { Labels },
    });
  }
  emit(action: string, id: string): void {
    const c = this.containers.get(id);
    const nano = Date.now() * 1e6 + this.history.length;
    const attributes = { name: c?.Name.slice(1) ?? id, ...c?.Config.Labels };
    const e = { Type: 'container', Action: action, Actor: { ID: id, Attributes: attributes } };
    const event = { ...e, time: Math.floor(nano / 1e9), timeNano: nano };
    this.history.push(event);
    for (const s of this.streams) s.write(`${JSON.stringify(event)}\n`);
  }
  /** Ends every event stream (a restarted Engine, a dropped socket). */
  dropStreams(): void {
    for (const s of this.streams) s.destroy();
  }
}

async function scrape(url: string): Promise<{ status: number; text: string }> {
  const res = await fetch(`${url}/metrics`);
  return { status: res.status, text: await res.text() };
}

const series = (text: string, metric: string, name: string): number | undefined => {
  const line = text.split('\n').find((l) => l.startsWith(`${metric}{container_name="${name}"`));
  return line === undefined ? undefined : Number(line.split(' ').at(-1));
};

/** The fake Engine on a socket and the exporter following it, fresh for each test. */
function fixture() {
  const f = {} as { dir: string; engine: FakeEngine; exporter: ContainerEvents };
  beforeEach(async function () {
    f.dir = mkdtempSync(join(tmpdir(), 'container-events-'));
    f.engine = new FakeEngine();
    f.engine.add('a1', 'p-app-1', 'app', 2);
    f.engine.add('j1', 'p-jaeger-1', 'jaeger');
    const socket = join(f.dir, 'docker.sock');
    await new Promise<void>((r) => f.engine.server.listen(socket, r));
    f.exporter = await startContainerEvents({ socket, port: 0, retryMs: 100 });
    await f.exporter.ready;
  });
  afterEach(async function () {
    await f.exporter?.close();
    f.engine.server.closeAllConnections();
    await new Promise((r) => f.engine.server.close(r));
    rmSync(f.dir, { recursive: true, force: true });
  });
  return f;
}

/** Waits until a series has the value (the events are applied asynchronously). */
async function expectSeries(url: string, metric: string, name: string, value: number | undefined) {
  await waitUntil(`${metric} of ${name} = ${value}`, 5_000, async () => {
    const { text } = await scrape(url);
    return series(text, metric, name) === value ? true : undefined;
  });
}

describe('container events exporter (scripts/lib/container-events.ts)', function () {
  this.timeout(15_000);
  const f = fixture();

  it('starts every container it lists at 0 OOM kills, with its RestartCount and Compose labels', async function () {
    const { status, text } = await scrape(f.exporter.url);
    assert.equal(status, 200);
    assert.match(
      text,
      /^container_oom_events_total\{container_name="p-app-1",compose_service="app",compose_project="p"\} 0$/m,
    );
    assert.equal(series(text, 'container_restarts_total', 'p-app-1'), 2);
    assert.equal(series(text, 'container_oom_events_total', 'p-jaeger-1'), 0);
    assert.match(text, /^# TYPE container_oom_events_total counter$/m);
  });

  it('counts oom events, reads RestartCount again at each start, and forgets destroyed containers', async function () {
    f.engine.emit('oom', 'a1');
    await expectSeries(f.exporter.url, 'container_oom_events_total', 'p-app-1', 1);
    f.engine.containers.get('a1')!.RestartCount = 3;
    f.engine.emit('oom', 'a1');
    f.engine.emit('start', 'a1');
    await expectSeries(f.exporter.url, 'container_restarts_total', 'p-app-1', 3);
    await expectSeries(f.exporter.url, 'container_oom_events_total', 'p-app-1', 2);
    f.engine.add('n1', 'p-new-1', 'new');
    f.engine.emit('start', 'n1');
    await expectSeries(f.exporter.url, 'container_oom_events_total', 'p-new-1', 0);
    f.engine.emit('destroy', 'j1');
    await expectSeries(f.exporter.url, 'container_oom_events_total', 'p-jaeger-1', undefined);
  });

  it('answers 503 while the event stream is down, and counts what it missed once, after', async function () {
    f.engine.emit('oom', 'a1');
    await expectSeries(f.exporter.url, 'container_oom_events_total', 'p-app-1', 1);
    f.engine.server.close();
    f.engine.dropStreams();
    await waitUntil('a 503', 5_000, async () =>
      (await scrape(f.exporter.url)).status === 503 ? true : undefined,
    );
    assert.equal((await fetch(`${f.exporter.url}/-/healthy`)).status, 503);
    // While it is away: one more kill, kept in the Engine's history (the stream resumes from
    // the second of the last event it saw, so the first kill comes again: counted once).
    f.engine.emit('oom', 'a1');
    await new Promise<void>((r) => f.engine.server.listen(join(f.dir, 'docker.sock'), r));
    await expectSeries(f.exporter.url, 'container_oom_events_total', 'p-app-1', 2);
    assert.equal((await fetch(`${f.exporter.url}/-/healthy`)).status, 200);
  });

  it('serves GET /metrics and /-/healthy only', async function () {
    assert.equal((await fetch(`${f.exporter.url}/metrics`, { method: 'POST' })).status, 405);
    assert.equal((await fetch(`${f.exporter.url}/other`)).status, 404);
  });
});

describe('container events exporter: metrics text', function () {
  it('escapes label values as the exposition format requires', function () {
    const text = metricsText([
      { name: 'a"b\\c\nd', service: '', project: '', restarts: 0, ooms: 1 },
    ]);
    assert.match(text, /container_name="a\\"b\\\\c\\nd"/);
  });
});
