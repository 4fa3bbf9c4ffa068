// `host:port` and URLs with a port, as the configs write them: the one pattern and the one list
// of hosts that mean "this process itself" (a listen address), for the native stack's rewrite
// and the config tests alike.

/** `[scheme://]host:port[/path]`; the host may be empty (`:8888`) or bracketed IPv6. */
export const ADDRESS_RE =
  /^(?<scheme>[a-z][a-z0-9+.-]*:\/\/)?(?<host>\[[^\]]*\]|[A-Za-z0-9_.-]*):(?<port>\d+)(?<rest>\/.*)?$/;

/** Hosts that mean "this process itself" in a listen address. */
export const SELF_HOSTS: ReadonlySet<string> = new Set([
  '',
  '0.0.0.0',
  '127.0.0.1',
  'localhost',
  '[::]',
  '::',
]);

export function parseAddress(value: string): { host: string; port: number } | undefined {
  const m = ADDRESS_RE.exec(value)?.groups;
  return m && Number(m.port) <= 65535 ? { host: m.host, port: Number(m.port) } : undefined;
}
