// The local alert receiver: an Alertmanager webhook target that keeps the last notifications in
// memory, so a delivered alert is visible without a Slack, PagerDuty or e-mail account.
//
//   POST /alerts     Alertmanager webhook (payload version 4); 204 when stored
//   GET  /alerts     the stored alerts as JSON, oldest first (?alertname=, ?status= filter)
//   DELETE /alerts   forget everything (tests start from a clean slate)
//   GET  /-/healthy  200 while the server runs (the container healthcheck)
//
// Node built-ins only: the compose service runs this file as it is in a plain node image, and
// `make native` and the whole-stack test start it in-process with startAlertReceiver().

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One alert of one webhook notification, flattened for printing and assertions. */
export interface ReceivedAlert {
  /** When the receiver got the notification (ISO 8601). */
  receivedAt: string;
  /** Alertmanager's receiver name (the route that delivered it). */
  receiver: string;
  status: 'firing' | 'resolved';
  alertname: string;
  severity: string;
  summary: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  fingerprint: string;
  groupKey: string;
}

export interface AlertReceiverOptions {
  /** TCP port; 0 picks a free one (tests). Default 9095, the port in docs/architecture.md. */
  port?: number;
  /** Listen address. Default 127.0.0.1; the container sets 0.0.0.0. */
  host?: string;
  /** How many alerts to keep; older ones are dropped first. Default 500. */
  maxAlerts?: number;
  /** Called with one line per stored alert (the CLI prints it); default: silent. */
  log?: (line: string) => void;
}

export interface AlertReceiver {
  /** Base URL, e.g. http://127.0.0.1:9095 */
  url: string;
  port: number;
  /** Alertmanager's webhook_configs url for this receiver. */
  webhookUrl: string;
  /** A copy of the stored alerts, oldest first. */
  alerts(): ReceivedAlert[];
  clear(): void;
  /**
   * Resolves with the first stored alert (already stored or arriving later) that matches, or
   * rejects after timeoutMs. Matching is on the flattened fields (alertname, status, severity).
   */
  waitFor(match: AlertMatch, timeoutMs: number): Promise<ReceivedAlert>;
  close(): Promise<void>;
}

export interface AlertMatch {
  alertname?: string;
  status?: 'firing' | 'resolved';
  severity?: string;
  /** Only alerts received at or after this time (ms since epoch). */
  since?: number;
}

/** Webhook bodies are small (a group of alerts); anything larger is not from Alertmanager. */
const MAX_BODY_BYTES = 1024 * 1024;

const DEFAULT_PORT = 9095;
const DEFAULT_MAX_ALERTS = 500;

class BadRequest extends Error {}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringMap(value: unknown, field: string): Record<string, string> {
  if (value === undefined) return {};
  if (!isRecord(value)) throw new BadRequest(`${field} must be an object`);
  const out: Record<string, string> = {};
  for (const [key, v] of Object.entries(value)) {
    if (typeof v !== 'string') throw new BadRequest(`${field}.${key} must be a string`);
    out[key] = v;
  }
  return out;
}

function str(value: unknown, field: string, fallback?: string): string {
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== 'string') throw new BadRequest(`${field} must be a string`);
  return value;
}

/**
 * Turns an Alertmanager webhook body into flattened alerts. Throws BadRequest when the body is not
 * a webhook payload, so a wrong sender gets a 400 instead of silently stored garbage.
 */
export function parseWebhook(body: unknown, receivedAt: Date): ReceivedAlert[] {
  if (!isRecord(body)) throw new BadRequest('body must be a JSON object');
  if (!Array.isArray(body.alerts)) throw new BadRequest('alerts must be an array');
  const receiver = str(body.receiver, 'receiver', '');
  const groupKey = str(body.groupKey, 'groupKey', '');
  return body.alerts.map((raw, i): ReceivedAlert => {
    if (!isRecord(raw)) throw new BadRequest(`alerts[${i}] must be an object`);
    const status = raw.status;
    if (status !== 'firing' && status !== 'resolved') {
      throw new BadRequest(`alerts[${i}].status must be "firing" or "resolved"`);
    }
    const labels = stringMap(raw.labels, `alerts[${i}].labels`);
    const annotations = stringMap(raw.annotations, `alerts[${i}].annotations`);
    return {
      receivedAt: receivedAt.toISOString(),
      receiver,
      status,
      alertname: labels.alertname ?? '',
      severity: labels.severity ?? '',
      summary: annotations.summary ?? '',
      labels,
      annotations,
      startsAt: str(raw.startsAt, `alerts[${i}].startsAt`, ''),
      endsAt: str(raw.endsAt, `alerts[${i}].endsAt`, ''),
      fingerprint: str(raw.fingerprint, `alerts[${i}].fingerprint`, ''),
      groupKey,
    };
  });
}

function matches(alert: ReceivedAlert, match: AlertMatch): boolean {
  return (
    (match.alertname === undefined || alert.alertname === match.alertname) &&
    (match.status === undefined || alert.status === match.status) &&
    (match.severity === undefined || alert.severity === match.severity) &&
    (match.since === undefined || Date.parse(alert.receivedAt) >= match.since)
  );
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > MAX_BODY_BYTES) throw new BadRequest(`body larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function send(res: ServerResponse, status: number, body?: unknown): void {
  if (body === undefined) {
    res.writeHead(status).end();
    return;
  }
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res
    .writeHead(status, {
      'content-type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json',
    })
    .end(text);
}

/** One line per alert, the same shape `make alerts` prints. */
export function formatAlertLine(alert: ReceivedAlert): string {
  const severity = alert.severity || '-';
  const summary = alert.summary || '(no summary)';
  return `${alert.receivedAt} ${alert.status.toUpperCase().padEnd(8)} ${alert.alertname} [${severity}] ${summary}`;
}

/** The stored alerts, oldest first, at most `maxAlerts`, and whoever waits for one. */
class AlertStore {
  private stored: ReceivedAlert[] = [];
  private readonly waiters = new Set<{ match: AlertMatch; resolve: (a: ReceivedAlert) => void }>();
  private readonly maxAlerts: number;
  private readonly log: (line: string) => void;

  constructor(maxAlerts: number, log: (line: string) => void) {
    this.maxAlerts = maxAlerts;
    this.log = log;
  }

  add(alerts: ReceivedAlert[]): void {
    for (const alert of alerts) {
      this.stored.push(alert);
      this.log(formatAlertLine(alert));
      for (const waiter of this.waiters) {
        if (matches(alert, waiter.match)) {
          this.waiters.delete(waiter);
          waiter.resolve(alert);
        }
      }
    }
    if (this.stored.length > this.maxAlerts) this.stored = this.stored.slice(-this.maxAlerts);
  }

  list(match: AlertMatch = {}): ReceivedAlert[] {
    return this.stored.filter((a) => matches(a, match)).map((a) => ({ ...a }));
  }

  clear(): void {
    this.stored = [];
  }

  waitFor(match: AlertMatch, timeoutMs: number): Promise<ReceivedAlert> {
    const found = this.stored.find((a) => matches(a, match));
    if (found) return Promise.resolve(found);
    return new Promise<ReceivedAlert>((resolve, reject) => {
      const waiter = {
        match,
        resolve: (a: ReceivedAlert) => {
          clearTimeout(timer);
          resolve(a);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`no alert matching ${JSON.stringify(match)} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }
}

/** One request of the HTTP API in the header. */
async function handle(store: AlertStore, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://receiver');
  if (url.pathname === '/-/healthy') {
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'method not allowed');
    return send(res, 200, 'OK');
  }
  if (url.pathname !== '/alerts') return send(res, 404, 'not found');
  switch (req.method) {
    case 'POST': {
      let body: unknown;
      try {
        body = JSON.parse(await readBody(req));
      } catch (err) {
        if (err instanceof BadRequest) throw err;
        throw new BadRequest('body is not valid JSON');
      }
      store.add(parseWebhook(body, new Date()));
      return send(res, 204);
    }
    case 'GET':
      return send(res, 200, { alerts: store.list(matchOf(url.searchParams)) });
    case 'DELETE':
      store.clear();
      return send(res, 204);
    default:
      res.setHeader('allow', 'GET, POST, DELETE');
      return send(res, 405, 'method not allowed');
  }
}

/** GET /alerts' filter: ?alertname=, ?status=firing|resolved. */
function matchOf(params: URLSearchParams): AlertMatch {
  const status = params.get('status');
  if (status !== null && status !== 'firing' && status !== 'resolved') {
    throw new BadRequest('status must be "firing" or "resolved"');
  }
  return { alertname: params.get('alertname') ?? undefined, status: status ?? undefined };
}

export async function startAlertReceiver(
  options: AlertReceiverOptions = {},
): Promise<AlertReceiver> {
  const host = options.host ?? '127.0.0.1';
  const maxAlerts = options.maxAlerts ?? DEFAULT_MAX_ALERTS;
  if (!Number.isInteger(maxAlerts) || maxAlerts < 1) {
    throw new RangeError(`maxAlerts must be a positive integer, got ${maxAlerts}`);
  }
  const log = options.log ?? (() => {});
  const store = new AlertStore(maxAlerts, log);
  const server = createServer((req, res) => {
    handle(store, req, res).catch((err: unknown) => {
      if (err instanceof BadRequest) send(res, 400, { error: err.message });
      else {
        log(`error handling ${req.method} ${req.url}: ${String(err)}`);
        send(res, 500, { error: 'internal error' });
      }
    });
  });
  // Alertmanager keeps connections open; do not let them hold close() up.
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? DEFAULT_PORT, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  const url = `http://${urlHost.includes(':') ? `[${urlHost}]` : urlHost}:${port}`;
  return {
    url,
    port,
    webhookUrl: `${url}/alerts`,
    alerts: () => store.list(),
    clear: () => store.clear(),
    waitFor: (match, timeoutMs) => store.waitFor(match, timeoutMs),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
