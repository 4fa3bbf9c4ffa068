// The HTTP server around an Express app, with stated bounds for slow and broken clients, and an
// answer for the requests Node refuses before Express sees them: malformed framing (a bad
// Content-Length, Content-Length with Transfer-Encoding), bad header names, unknown methods, too
// large headers, a bogus Expect. They get a problem+json answer where the socket still allows
// one, are counted in http_protocol_errors_total and logged at a bounded rate.
import { randomUUID } from 'node:crypto';
import {
  createServer,
  STATUS_CODES,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { Socket } from 'node:net';
import type { Express } from 'express';
import type { Config } from '../config';
import { LogBudget } from '../telemetry/log-budget';
import { logger } from '../telemetry/logger';
import { metrics, type ProtocolErrorReason } from '../telemetry/metrics';
import { PROBLEM_CONTENT_TYPE, ProblemError, problemBody, type ProblemKind } from './problem';

// A client can cause these at will: 10 log lines per 10 s, the rest counted in the next one.
const PROTOCOL_ERROR_LOG_LINES = 10;
const PROTOCOL_ERROR_LOG_INTERVAL_MS = 10_000;
const CHECK_INTERVAL_MS = 1000;

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
  const budget = new LogBudget(PROTOCOL_ERROR_LOG_LINES, PROTOCOL_ERROR_LOG_INTERVAL_MS);
  const record = (reason: ProtocolErrorReason, fields: Record<string, unknown>) => {
    metrics.httpProtocolErrors.labels(reason).inc();
    const grant = budget.take();
    if (grant === undefined) return;
    logger.warn('request refused by the HTTP server', {
      reason,
      ...fields,
      suppressed: grant.suppressed > 0 ? grant.suppressed : undefined,
    });
  };

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
  return server;
}
