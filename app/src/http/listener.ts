// The HTTP server around an Express app, with stated bounds for slow and broken clients, and an
// answer for the requests Node refuses before Express sees them: malformed framing (a bad
// Content-Length, Content-Length with Transfer-Encoding), bad header names, unknown methods, too
// large headers, a bogus Expect. They get a problem+json answer where the socket still allows
// one, are counted in http_protocol_errors_total and logged at a bounded rate; the connection is
// then closed for good (a client that never closes its side would otherwise keep it, half
// closed, for ever). One client address holds at most MAX_CONNECTIONS_PER_ADDRESS connections
// (docs/operations.md says what "address" is under compose and Kubernetes).
import { randomUUID } from 'node:crypto';
import {
  createServer,
  STATUS_CODES,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { BlockList, isIPv6, type Socket } from 'node:net';
import type { Express, RequestHandler } from 'express';
import type { Config } from '../config';
import { LogBudget } from '../telemetry/log-budget';
import { logger } from '../telemetry/logger';
import { metrics, type ProtocolErrorReason } from '../telemetry/metrics';
import { PROBLEM_CONTENT_TYPE, ProblemError, problemBody, type ProblemKind } from './problem';
import { hasBody } from './validation';

// A client can cause these at will: 10 log lines per 10 s, the rest counted in the next one.
const PROTOCOL_ERROR_LOG_LINES = 10;
const PROTOCOL_ERROR_LOG_INTERVAL_MS = 10_000;
const CHECK_INTERVAL_MS = 1000;
// After an answer that ends a connection, how long its bytes get to leave before the socket is
// reset: a client that reads closes its side first; one that never does is not waited for.
export const CLOSE_LINGER_MS = 500;

const ANSWERS: Record<
  Exclude<ProtocolErrorReason, 'connection_reset'>,
  { kind: ProblemKind; detail: string }
> = {
  malformed: {
    kind: 'bad_request',
    detail: 'The request is not valid HTTP/1.1 (its framing, method or header names).',
  },
  headers_too_large: {
    kind: 'headers_too_large',
    detail: 'The request headers are larger than the server accepts.',
  },
  timeout: { kind: 'request_timeout', detail: 'The request was not received in time.' },
  body_timeout: { kind: 'request_timeout', detail: 'The request body was not received in time.' },
  expectation_failed: {
    kind: 'expectation_failed',
    detail: 'The only supported Expect is 100-continue.',
  },
};

function reasonOf(code: string | undefined): ProtocolErrorReason {
  if (code === 'HPE_HEADER_OVERFLOW') return 'headers_too_large';
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT' || code === 'HPE_HEADERS_TIMEOUT') return 'timeout';
  if (code === 'ECONNRESET') return 'connection_reset';
  return 'malformed';
}

function problemFor(reason: Exclude<ProtocolErrorReason, 'connection_reset'>) {
  const { kind, detail } = ANSWERS[reason];
  const problem = new ProblemError(kind, detail);
  const requestId = randomUUID();
  return {
    status: problem.status,
    requestId,
    body: problemBody(problem, { instance: undefined, requestId, traceId: undefined }),
  };
}

/**
 * Ends `socket` after the answer written to it: at once when the client closes its side,
 * otherwise with a reset CLOSE_LINGER_MS later, so that no half-closed connection is left on
 * either side (a plain close would leave the server's side in FIN-WAIT-2).
 */
export function closeSoon(socket: Socket): void {
  if (socket.destroyed) return;
  const timer = setTimeout(() => {
    if (!socket.destroyed) socket.resetAndDestroy();
  }, CLOSE_LINGER_MS);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
  socket.once('end', () => socket.destroy());
}

/**
 * A response sent before its request's body arrived whole (a refusal, a timeout) ends the
 * connection: Node would otherwise keep reading a body nobody wants, for as long as its client
 * drips it, and hold the connection (and a shutdown's drain) with it.
 */
export const closeAfterUnreadBody: RequestHandler = (req, res, next) => {
  res.once('finish', () => {
    if (bodyUnread(req)) closeSoon(req.socket);
  });
  next();
};

/** A request with a body that has not arrived whole (a request without one never has). */
export function bodyUnread(req: IncomingMessage): boolean {
  return hasBody(req) && !req.complete;
}

/** The address a connection counts under: an IPv6 client's /64, which one host usually holds. */
export function addressKey(address: string): string {
  const bare = address.startsWith('::ffff:') ? address.slice(7) : address;
  if (!isIPv6(bare)) return bare;
  const [head = '', tail = ''] = bare.split('::');
  const groups = head === '' ? [] : head.split(':');
  const missing = 8 - groups.length - (tail === '' ? 0 : tail.split(':').length);
  const full = [...groups, ...Array<string>(Math.max(0, missing)).fill('0'), ...tail.split(':')];
  return `${full.slice(0, 4).join(':')}::/64`;
}

export function trustedProxyList(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const [address = '', prefix] = entry.split('/');
    const type = isIPv6(address) ? 'ipv6' : 'ipv4';
    if (prefix === undefined) list.addAddress(address, type);
    else list.addSubnet(address, Number(prefix), type);
  }
  return list;
}

function isTrusted(list: BlockList, address: string): boolean {
  const bare = address.startsWith('::ffff:') ? address.slice(7) : address;
  return list.check(bare, isIPv6(bare) ? 'ipv6' : 'ipv4');
}

/**
 * At most `limits.maxConnectionsPerAddress` open connections per client address; the next one
 * is reset as soon as it is accepted and counted. Trusted proxies are not capped: their
 * connections carry many clients (X-Forwarded-For names them, for the per-request limits).
 */
function capConnectionsPerAddress(server: Server, limits: Config['http']): void {
  const trusted = trustedProxyList(limits.trustedProxies);
  const open = new Map<string, number>();
  const refused = metrics.httpConnectionsRefused.labels('per_address');
  // Before Node's own listener, so that a refused connection never reaches the HTTP parser.
  server.prependListener('connection', (socket: Socket) => {
    const address = socket.remoteAddress;
    if (address === undefined || isTrusted(trusted, address)) return;
    const key = addressKey(address);
    const count = (open.get(key) ?? 0) + 1;
    if (count > limits.maxConnectionsPerAddress) {
      refused.inc();
      socket.resetAndDestroy();
      return;
    }
    open.set(key, count);
    socket.once('close', () => {
      const left = (open.get(key) ?? 1) - 1;
      if (left > 0) open.set(key, left);
      else open.delete(key);
    });
  });
  server.on('drop', () => metrics.httpConnectionsRefused.labels('max_connections').inc());
}

export function createHttpServer(app: Express, limits: Config['http']): Server {
  // Timeouts are checked on this interval (Node's default, 30 s, would let a 10 s limit run to 40).
  const server = createServer({ connectionsCheckingInterval: CHECK_INTERVAL_MS }, app);
  // Bounds for slow clients: headers within headersTimeout, the whole request (body included)
  // within requestTimeout, idle keep-alive connections closed after keepAliveTimeout, and at
  // most maxConnections open (the next ones are closed at once).
  server.headersTimeout = limits.headersTimeoutMs;
  server.requestTimeout = limits.requestTimeoutMs;
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  server.maxConnections = limits.maxConnections;
  capConnectionsPerAddress(server, limits);
  answerRefusedRequests(server);
  return server;
}

/** Counts a refusal and logs it within the budget. */
function recorder() {
  const budget = new LogBudget(PROTOCOL_ERROR_LOG_LINES, PROTOCOL_ERROR_LOG_INTERVAL_MS);
  const suppressedLines = metrics.logLinesSuppressed.labels('protocol_error');
  return (reason: ProtocolErrorReason, fields: Record<string, unknown>) => {
    metrics.httpProtocolErrors.labels(reason).inc();
    const grant = budget.take();
    if (grant === undefined) {
      suppressedLines.inc();
      return;
    }
    logger.warn('request refused by the HTTP server', {
      reason,
      ...fields,
      suppressed: grant.suppressed > 0 ? grant.suppressed : undefined,
    });
  };
}

/** The requests Node refuses before Express: answered where the socket allows, then closed. */
function answerRefusedRequests(server: Server): void {
  const record = recorder();
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    const reason = reasonOf(error.code);
    // A response already under way on this connection cannot be followed by another.
    const inProgress = (socket as { _httpMessage?: ServerResponse })._httpMessage;
    const canAnswer = reason !== 'connection_reset' && socket.writable && !inProgress?.headersSent;
    if (!canAnswer) {
      record(reason, { code: error.code, answered: false });
      socket.destroy();
      return;
    }
    const { status, requestId, body } = problemFor(reason);
    record(reason, { code: error.code, status_code: status, request_id: requestId });
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n` +
        `Content-Type: ${PROBLEM_CONTENT_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        `X-Request-Id: ${requestId}\r\nConnection: close\r\n\r\n${body}`,
    );
    closeSoon(socket);
  });

  server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) => {
    const { status, requestId, body } = problemFor('expectation_failed');
    record('expectation_failed', {
      status_code: status,
      request_id: requestId,
      method: req.method,
    });
    res.writeHead(status, {
      'Content-Type': PROBLEM_CONTENT_TYPE,
      'Content-Length': Buffer.byteLength(body),
      'X-Request-Id': requestId,
      Connection: 'close',
    });
    res.end(body);
  });
}
