// Small clients for the HTTP APIs an alert scenario talks to: the service's chaos API,
// Prometheus (/api/v1), Alertmanager (/api/v2) and the local alert receiver. Each call has a
// short time limit: a scenario polls, and one hung request must not stall its timeline.
import type { ReceivedAlert } from '../alert-receiver.ts';

const CALL_TIMEOUT_MS = 5_000;

export class HttpError extends Error {
  readonly status: number;
  constructor(message: string, status: number) {
    super(message);
    this.status = status;
  }
}

export async function call(url: string, init: RequestInit = {}): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(url, { ...init, signal: AbortSignal.timeout(CALL_TIMEOUT_MS) });
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
    throw new HttpError(`${init.method ?? 'GET'} ${url}: no answer (${cause})`, 0);
  }
  if (!res.ok) {
    const text = (await res.text()).slice(0, 300);
    throw new HttpError(`${init.method ?? 'GET'} ${url}: ${res.status} ${text}`, res.status);
  }
  return res;
}

export async function json<T>(url: string, init?: RequestInit): Promise<T> {
  return (await (await call(url, init)).json()) as T;
}

/** Resolve once GET /health/live answers 200, or reject after `timeoutMs`. */
export async function waitForApp(appUrl: string, timeoutMs: number): Promise<void> {
  await waitUntil(`the agent service at ${appUrl}`, timeoutMs, async () => {
    await call(`${appUrl}/health/live`);
    return true;
  });
}

/** Poll `probe` every `everyMs` until it returns a value other than false/undefined. */
export async function waitUntil<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | false | undefined>,
  everyMs = 500,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      const v = await probe();
      if (v !== false && v !== undefined) return v;
    } catch (err) {
      last = ` (last error: ${(err as Error).message})`;
    }
    if (Date.now() >= deadline)
      throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}${last}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

// ------------------------------------------------------------------------------ chaos

export type FaultName =
  | 'error_ratio'
  | 'latency'
  | 'llm_outage'
  | 'cost_multiplier'
  | 'db_outage'
  | 'llm_latency'
  | 'runaway';

export class ChaosClient {
  private readonly base: string;
  private readonly headers: Record<string, string>;
  constructor(appUrl: string, adminToken: string) {
    this.base = `${appUrl}/admin/chaos`;
    this.headers = { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' };
  }

  async apply(fault: FaultName, ttlSeconds: number, value?: number): Promise<void> {
    const body = JSON.stringify(
      value === undefined ? { ttl_seconds: ttlSeconds } : { value, ttl_seconds: ttlSeconds },
    );
    await call(`${this.base}/${fault}`, { method: 'PUT', headers: this.headers, body });
  }

  async clear(fault: FaultName): Promise<void> {
    try {
      await call(`${this.base}/${fault}`, { method: 'DELETE', headers: this.headers });
    } catch (err) {
      // Already expired or never set: cleared either way.
      if ((err as HttpError).status !== 404) throw err;
    }
  }
}

// ------------------------------------------------------------------------------ Prometheus

export interface PromAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: 'pending' | 'firing' | 'inactive';
  activeAt?: string;
  value: string;
}

export interface PromTarget {
  labels: Record<string, string>;
  scrapePool: string;
  health: 'up' | 'down' | 'unknown';
  lastError: string;
}

export interface PromSeries {
  metric: Record<string, string>;
  value: [number, string];
}

export class PrometheusClient {
  readonly url: string;
  constructor(url: string) {
    this.url = url;
  }

  async alerts(): Promise<PromAlert[]> {
    return (await json<{ data: { alerts: PromAlert[] } }>(`${this.url}/api/v1/alerts`)).data.alerts;
  }

  async targets(): Promise<PromTarget[]> {
    return (
      await json<{ data: { activeTargets: PromTarget[] } }>(
        `${this.url}/api/v1/targets?state=active`,
      )
    ).data.activeTargets;
  }

  async query(expr: string): Promise<PromSeries[]> {
    const res = await json<{
      data: { resultType: string; result: PromSeries[] | [number, string] };
    }>(`${this.url}/api/v1/query?query=${encodeURIComponent(expr)}`);
    // A scalar result is one value, not a list of series: count it as one.
    if (res.data.resultType === 'scalar' || res.data.resultType === 'string') {
      return [{ metric: {}, value: res.data.result as [number, string] }];
    }
    return res.data.result as PromSeries[];
  }

  async ready(): Promise<boolean> {
    await call(`${this.url}/-/ready`);
    return true;
  }
}

// ------------------------------------------------------------------------------ Alertmanager

export interface AmAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  status: {
    state: 'active' | 'suppressed' | 'unprocessed';
    inhibitedBy: string[];
    silencedBy: string[];
  };
  startsAt: string;
  endsAt: string;
  fingerprint: string;
  receivers: { name: string }[];
}

export class AlertmanagerClient {
  readonly url: string;
  constructor(url: string) {
    this.url = url;
  }

  /** Alerts Alertmanager holds that match every label given (API v2 filter). */
  async alerts(labels: Record<string, string>): Promise<AmAlert[]> {
    const q = Object.entries(labels)
      .map(([k, v]) => `filter=${encodeURIComponent(`${k}="${v}"`)}`)
      .join('&');
    return json<AmAlert[]>(`${this.url}/api/v2/alerts?${q}`);
  }

  async ready(): Promise<boolean> {
    await call(`${this.url}/-/ready`);
    return true;
  }
}

// ------------------------------------------------------------------------------ receiver

export class ReceiverClient {
  readonly url: string;
  constructor(url: string) {
    this.url = url;
  }

  async alerts(alertname?: string): Promise<ReceivedAlert[]> {
    const q = alertname ? `?alertname=${encodeURIComponent(alertname)}` : '';
    return (await json<{ alerts: ReceivedAlert[] }>(`${this.url}/alerts${q}`)).alerts;
  }
}

export function labelsMatch(labels: Record<string, string>, want: Record<string, string>): boolean {
  return Object.entries(want).every(([k, v]) => labels[k] === v);
}
