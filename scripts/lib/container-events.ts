// Each container's OOM kills and restarts, from the Docker Engine, as Prometheus metrics: what
// the Engine's stats (and so the Collector's docker_stats receiver) do not say
// (docs/decisions/0017-container-metrics.md).
//
//   container_oom_events_total  the Engine's `oom` events of the container (the kernel killed a
//                               process of it at its memory limit), counted since this started
//   container_restarts_total    the Engine's RestartCount of the container (restarts by its
//                               restart policy), read at its every start
//
// Labels: container_name, compose_service, compose_project (the Compose labels of the
// container, empty outside Compose). Every container gets both series at 0 when it is first
// seen, so the first kill is an increase Prometheus can see. A destroyed container's series
// go. Memory is bounded by the number of containers.
//
//   GET /metrics    Prometheus text format; 503 while the event stream is down (so a lost
//                   stream is a target down, not a silent gap)
//   GET /-/healthy  200 while the event stream is up (the container healthcheck)
//
// Node built-ins only: the compose service runs this file as it is in a plain node image. It
// talks to the Engine's API on its Unix socket without a version prefix, so the Engine answers
// in its own API version: Docker Engine 20.10 (API 1.41) as well as 29 (which refuses < 1.44).

import { createServer, request, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

interface Container {
  name: string;
  service: string;
  project: string;
  restarts: number;
  ooms: number;
}

interface InspectAnswer {
  Id: string;
  Name: string;
  RestartCount: number;
  Config?: { Labels?: Record<string, string> | null };
}

interface EngineEvent {
  Type?: string;
  Action?: string;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
  timeNano?: number;
}

export interface ContainerEventsOptions {
  /** The Engine's socket, e.g. /var/run/docker.sock. */
  socket: string;
  host?: string;
  /** 0 picks a free port (tests). */
  port: number;
  log?: (line: string) => void;
  /** Delay before following the events again after the stream broke. */
  retryMs?: number;
}

export interface ContainerEvents {
  url: string;
  /** Resolves once the event stream is up (after the first container list). */
  ready: Promise<void>;
  close(): Promise<void>;
}

/** GET a path of the Engine's API and parse its JSON answer. */
function engineGet<T>(socket: string, path: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: socket, path, method: 'GET' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        if (res.statusCode !== 200) reject(new Error(`GET ${path}: ${res.statusCode} ${body}`));
        else resolve(JSON.parse(body) as T);
      });
    });
    req.setTimeout(10_000, () => req.destroy(new Error(`GET ${path}: no answer in 10 s`)));
    req.on('error', reject);
    req.end();
  });
}

const labelsOf = (labels: Record<string, string> | null | undefined) => ({
  service: labels?.['com.docker.compose.service'] ?? '',
  project: labels?.['com.docker.compose.project'] ?? '',
});

const escapeLabel = (value: string) =>
  value.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n');

/** The Prometheus text of every known container. */
export function metricsText(containers: Iterable<Container>): string {
  const lines = {
    oom: [
      "# HELP container_oom_events_total Processes of the container the kernel killed at its memory limit (the Engine's oom events), since this exporter started.",
      '# TYPE container_oom_events_total counter',
    ],
    restarts: [
      "# HELP container_restarts_total Restarts of the container by its restart policy (the Engine's RestartCount).",
      '# TYPE container_restarts_total counter',
    ],
  };
  for (const c of containers) {
    const labels = `{container_name="${escapeLabel(c.name)}",compose_service="${escapeLabel(c.service)}",compose_project="${escapeLabel(c.project)}"}`;
    lines.oom.push(`container_oom_events_total${labels} ${c.ooms}`);
    lines.restarts.push(`container_restarts_total${labels} ${c.restarts}`);
  }
  return [...lines.oom, ...lines.restarts, ''].join('\n');
}

/** Splits a stream of JSON documents (the Engine writes one per line) into parsed events. */
function eachEvent(res: IncomingMessage, onEvent: (e: EngineEvent) => void): void {
  let buffer = '';
  res.setEncoding('utf8');
  res.on('data', (chunk: string) => {
    buffer += chunk;
    let newline: number;
    while ((newline = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, newline).trim();
      buffer = buffer.slice(newline + 1);
      if (!line) continue;
      try {
        onEvent(JSON.parse(line) as EngineEvent);
      } catch {
        // Not an event (the Engine writes none such): skipped rather than ending the process.
      }
    }
  });
}

const EVENT_FILTERS = JSON.stringify({ type: ['container'], event: ['start', 'oom', 'destroy'] });

/** The state of the containers, kept in step with the Engine. */
class Tracker {
  readonly containers = new Map<string, Container>();
  private readonly socket: string;
  constructor(socket: string) {
    this.socket = socket;
  }

  /** Reads a container's name, labels and RestartCount; keeps its OOM count. */
  async inspect(id: string): Promise<void> {
    const c = await engineGet<InspectAnswer>(this.socket, `/containers/${id}/json`);
    const known = this.containers.get(c.Id);
    this.containers.set(c.Id, {
      name: c.Name.replace(/^\//, ''),
      ...labelsOf(c.Config?.Labels),
      restarts: c.RestartCount,
      ooms: known?.ooms ?? 0,
    });
  }

  async listAll(): Promise<void> {
    const list = await engineGet<{ Id: string }[]>(this.socket, '/containers/json?all=1');
    for (const { Id } of list) await this.inspect(Id).catch(() => undefined);
  }

  async apply(e: EngineEvent): Promise<void> {
    const id = e.Actor?.ID;
    if (e.Type !== 'container' || !id) return;
    if (e.Action === 'destroy') this.containers.delete(id);
    else if (e.Action === 'start') await this.inspect(id);
    else if (e.Action === 'oom') {
      const attributes = e.Actor?.Attributes ?? {};
      const c = this.containers.get(id) ?? {
        name: attributes.name ?? id.slice(0, 12),
        ...labelsOf(attributes),
        restarts: 0,
        ooms: 0,
      };
      c.ooms += 1;
      this.containers.set(id, c);
    }
  }
}

/** One connection to the Engine's event stream. */
interface Stream {
  /** Resolves when the stream ends, for whatever reason. */
  ended: Promise<void>;
  abort(): void;
}

/** Follows the Engine's container events from `since` (Unix seconds, inclusive). */
function follow(
  socket: string,
  since: number,
  onEvent: (e: EngineEvent) => void,
  onOpen: () => void,
): Stream {
  const path = `/events?since=${since}&filters=${encodeURIComponent(EVENT_FILTERS)}`;
  let abort = () => {};
  const ended = new Promise<void>((resolve) => {
    const req = request({ socketPath: socket, path, method: 'GET' }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        resolve();
        return;
      }
      onOpen();
      eachEvent(res, onEvent);
      res.on('end', resolve);
      res.on('error', () => resolve());
    });
    req.on('error', () => resolve());
    req.on('close', () => resolve());
    abort = () => req.destroy();
    req.end();
  });
  return { ended, abort: () => abort() };
}

/**
 * Events already applied: the stream resumes from the second of the last event (the Engine's
 * `since` is whole seconds and inclusive), so the events of that second come again.
 */
class SeenEvents {
  private readonly keys = new Set<string>();
  /** True the first time an event is offered. */
  fresh(e: EngineEvent): boolean {
    const key = `${e.timeNano}/${e.Actor?.ID}/${e.Action}`;
    if (this.keys.has(key)) return false;
    this.keys.add(key);
    if (this.keys.size > 1000) this.keys.delete(this.keys.values().next().value as string);
    return true;
  }
}

/** The HTTP side: /metrics and /-/healthy over the tracker's state. */
function metricsServer(tracker: Tracker, connected: () => boolean) {
  return createServer((req, res) => {
    if (req.method !== 'GET') res.writeHead(405, { allow: 'GET' }).end();
    else if (req.url === '/-/healthy')
      res.writeHead(connected() ? 200 : 503).end(connected() ? 'ok\n' : 'no event stream\n');
    else if (req.url !== '/metrics') res.writeHead(404).end();
    else if (!connected()) res.writeHead(503).end("not following the Engine's events\n");
    else
      res
        .writeHead(200, { 'content-type': 'text/plain; version=0.0.4' })
        .end(metricsText(tracker.containers.values()));
  });
}

export async function startContainerEvents(o: ContainerEventsOptions): Promise<ContainerEvents> {
  const log = o.log ?? (() => {});
  const retryMs = o.retryMs ?? 1000;
  const tracker = new Tracker(o.socket);
  const seen = new SeenEvents();
  const state = { connected: false, closed: false, stream: undefined as Stream | undefined };
  let markReady: () => void = () => {};
  const ready = new Promise<void>((r) => (markReady = r));
  // Events are applied one after the other, in the Engine's order.
  let queue = Promise.resolve();
  let since = Math.floor(Date.now() / 1000);
  const onEvent = (e: EngineEvent) => {
    if (!seen.fresh(e)) return;
    if (e.timeNano) since = Math.floor(e.timeNano / 1e9);
    queue = queue.then(() => tracker.apply(e)).catch(() => undefined);
  };
  const onOpen = () => {
    state.connected = true;
    markReady();
    log(`following the Engine's container events on ${o.socket}`);
  };

  const loop = async () => {
    while (!state.closed) {
      await tracker.listAll().catch((err: Error) => log(`cannot list containers: ${err.message}`));
      if (state.closed) break;
      state.stream = follow(o.socket, since, onEvent, onOpen);
      await state.stream.ended;
      state.connected = false;
      if (state.closed) break;
      log(`the Engine's event stream ended; following it again in ${retryMs} ms`);
      await new Promise((r) => setTimeout(r, retryMs));
    }
  };
  const server = metricsServer(tracker, () => state.connected);
  await new Promise<void>((r) => server.listen(o.port, o.host ?? '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  const running = loop();
  return {
    url: `http://${o.host ?? '127.0.0.1'}:${port}`,
    ready,
    close: async () => {
      state.closed = true;
      state.stream?.abort();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await running;
    },
  };
}
