// Small clients for the stack's HTTP APIs: Prometheus (/api/v1), Alertmanager (/api/v2) and the
// local alert receiver, used by the scenarios, make native's status line, make smoke and the tests.
import type { ReceivedAlert } from './alert-receiver.ts';
import { call, json } from './http.ts';
import { waitUntil } from './wait.ts';

/**
 * Resolve once GET /health/live answers 200 on the app's management URL (its MANAGEMENT_PORT),
 * or reject after `timeoutMs`.
 */
export async function waitForApp(managementUrl: string, timeoutMs: number): Promise<void> {
  await waitUntil(`the agent service at ${managementUrl}`, timeoutMs, async () => {
    await call(`${managementUrl}/health/live`);
    return true;
  });
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

  /** The rule groups Prometheus has loaded. */
  async ruleGroups(): Promise<unknown[]> {
    return (await json<{ data: { groups: unknown[] } }>(`${this.url}/api/v1/rules`)).data.groups;
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
