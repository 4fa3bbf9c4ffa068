// The app's API as host clients reach it under compose: through the port compose publishes on
// 127.0.0.1, where Docker's port publishing (docker-proxy, or its iptables DNAT when the
// userland proxy is off) connects to the container from the bridge network's gateway. What the
// app sees is read from the container's own TCP table, the one `ss` would show inside it.
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseEnv } from '../../../scripts/lib/env-file.ts';
import { docker } from './engine.ts';
import { containers, PROJECT } from './stack-state.ts';

/** The gateway of the project's default network: the host's address on that bridge. */
export function bridgeGateway(): string {
  return docker([
    'network',
    'inspect',
    `${PROJECT}_default`,
    '--format',
    '{{(index .IPAM.Config 0).Gateway}}',
  ]).trim();
}

/** "0101D50A" (little-endian hex, as /proc/net/tcp writes it) → "10.213.1.1". */
const dotted = (hex: string) =>
  [6, 4, 2, 0].map((at) => parseInt(hex.slice(at, at + 2), 16)).join('.');

/**
 * The established connections to `port` inside a service's container, counted by the peer
 * address the service sees (state 01 = ESTABLISHED in /proc/net/tcp).
 */
export function peersInside(service: string, port: number): Map<string, number> {
  const name = containers().find((c) => c.service === service)?.name;
  if (!name) throw new Error(`no container of ${service}`);
  const portHex = port.toString(16).toUpperCase().padStart(4, '0');
  const peers = new Map<string, number>();
  for (const line of docker(['exec', name, 'cat', '/proc/net/tcp']).split('\n').slice(1)) {
    const [, local, remote, state] = line.trim().split(/\s+/);
    if (!local?.endsWith(`:${portHex}`) || state !== '01' || !remote) continue;
    const peer = dotted(remote.split(':')[0]!);
    peers.set(peer, (peers.get(peer) ?? 0) + 1);
  }
  return peers;
}

/**
 * `count` idle connections to 127.0.0.1:port from `localAddress`, opened 64 at a time; resolves
 * once no more than `settleAt` are open (or after 10 s) and a second has passed.
 */
export async function holdIdle(
  port: number,
  count: number,
  settleAt: number,
  localAddress = '127.0.0.1',
) {
  const sockets: Socket[] = [];
  const closed = new Set<Socket>();
  for (let i = 0; i < count; i += 64) {
    const batch = Array.from({ length: Math.min(64, count - i) }, () => {
      const socket = connect({ host: '127.0.0.1', port, localAddress });
      socket.on('error', () => {});
      socket.once('close', () => closed.add(socket));
      return socket;
    });
    sockets.push(...batch);
    await Promise.all(
      batch.map((s) => new Promise((ok) => (s.once('connect', ok), s.once('close', ok)))),
    );
  }
  const open = () => sockets.length - closed.size;
  // The proxy accepts every connection and closes those the app refused once it sees the reset:
  // a moment later, or seconds on a loaded machine. Then a second for any it would still close.
  for (let i = 0; i < 100 && open() > settleAt; i++) await sleep(100);
  await sleep(1_000);
  return { open, destroy: () => sockets.forEach((s) => s.destroy()) };
}

/** The first API key of the clone's .env (`key:tier,…`, written by make configure). */
export function apiKeyOf(repo: string): string {
  const keys = parseEnv(readFileSync(path.join(repo, '.env'), 'utf8')).get('API_KEYS') ?? '';
  const key = keys.split(',')[0]?.split(':')[0];
  if (!key) throw new Error('no API_KEYS in the clone .env');
  return key;
}

/** GET /v1/agents with `key` from a host address; the status, or the error's message. */
export function getAgentsFrom(url: string, key: string, localAddress: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port: Number(new URL(url).port), localAddress });
    let head = '';
    socket.setTimeout(5_000, () => socket.destroy(new Error('no answer in 5 s')));
    socket.on('data', (chunk: Buffer) => (head += chunk.toString('latin1')));
    socket.on('error', (error) => resolve(error.message));
    socket.on('close', () => resolve(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 'closed unanswered'));
    socket.write(
      `GET /v1/agents HTTP/1.1\r\nHost: x\r\nX-API-Key: ${key}\r\nConnection: close\r\n\r\n`,
    );
  });
}

/** GET http://app:8000/v1/agents from inside another container of the network (python-agent). */
export function getAgentsFromContainer(service: string, key: string): string {
  const name = containers().find((c) => c.service === service)?.name;
  if (!name) throw new Error(`no container of ${service}`);
  const script = [
    'import sys, urllib.request',
    `r = urllib.request.Request("http://app:8000/v1/agents", headers={"X-API-Key": sys.argv[1]})`,
    'print(urllib.request.urlopen(r, timeout=5).status)',
  ].join('\n');
  return docker(['exec', name, 'python', '-c', script, key]).trim();
}
