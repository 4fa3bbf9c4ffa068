// What the kernel says about the service: its TCP sockets to an address (the table `ss` reads,
// /proc/net/tcp), the socket file descriptors a process holds, and its resident memory.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

// /proc/net/tcp's state numbers (include/net/tcp_states.h).
const TCP_STATES: Record<string, string> = {
  '01': 'ESTABLISHED',
  '02': 'SYN-SENT',
  '03': 'SYN-RECV',
  '04': 'FIN-WAIT-1',
  '05': 'FIN-WAIT-2',
  '06': 'TIME-WAIT',
  '07': 'CLOSE',
  '08': 'CLOSE-WAIT',
  '09': 'LAST-ACK',
  '0A': 'LISTEN',
  '0B': 'CLOSING',
};

/** "127.0.0.2" → "0200007F", the little-endian hex /proc/net/tcp writes. */
function hexAddress(address: string): string {
  return address
    .split('.')
    .reverse()
    .map((octet) => Number(octet).toString(16).padStart(2, '0'))
    .join('')
    .toUpperCase();
}

/**
 * The TCP connections between `peerAddress` and the service's port, both ends, by state;
 * TIME-WAIT is left out (no socket holds it: the kernel's two-minute bookkeeping of a close).
 */
export function connectionsBetween(peerAddress: string, servicePort: number): Map<string, number> {
  const peer = hexAddress(peerAddress);
  const port = servicePort.toString(16).toUpperCase().padStart(4, '0');
  const states = new Map<string, number>();
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const [, local, remote, state] = line.trim().split(/\s+/);
    if (local === undefined || remote === undefined || state === undefined) continue;
    const serverSide = local.endsWith(`:${port}`) && remote.startsWith(`${peer}:`);
    const clientSide = remote.endsWith(`:${port}`) && local.startsWith(`${peer}:`);
    if (!serverSide && !clientSide) continue;
    const name = TCP_STATES[state] ?? state;
    if (name === 'TIME-WAIT') continue;
    states.set(name, (states.get(name) ?? 0) + 1);
  }
  return states;
}

export function total(states: Map<string, number>): number {
  return [...states.values()].reduce((sum, n) => sum + n, 0);
}

/** Socket file descriptors the process holds (listeners, clients, exporters). */
export function openSockets(pid: number): number {
  let count = 0;
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      if (readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:')) count++;
    } catch {
      // closed while we looked
    }
  }
  return count;
}

export function rssBytes(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) * 1024 : NaN;
}
