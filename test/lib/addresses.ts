// Every `host:port` a config mentions (listen addresses, targets, URLs), so the tests can hold
// them against the ports docker-compose.yml declares.

import { parseAddress } from '../../scripts/lib/addresses.ts';
import { isObj, type Json } from './compose.ts';

export { parseAddress, SELF_HOSTS as SELF } from '../../scripts/lib/addresses.ts';

export interface Address {
  host: string;
  port: number;
  /** Where in the config: a dotted path. */
  path: string;
}

/** Strings shaped like host:port or URLs with a port, and {host, port} objects. */
export function findAddresses(node: Json, path = ''): Address[] {
  if (typeof node === 'string') {
    const a = parseAddress(node);
    return a ? [{ ...a, path }] : [];
  }
  if (Array.isArray(node)) return node.flatMap((v, i) => findAddresses(v, `${path}[${i}]`));
  if (isObj(node)) {
    const out: Address[] = [];
    if (typeof node.host === 'string' && typeof node.port === 'number') {
      out.push({ host: node.host, port: node.port, path });
    }
    for (const [k, v] of Object.entries(node))
      out.push(...findAddresses(v, path ? `${path}.${k}` : k));
    return out;
  }
  return [];
}
