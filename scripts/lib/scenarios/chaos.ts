// The service's chaos API (PUT/DELETE /admin/chaos/<fault>), which the alert scenarios drive.
import { call, type HttpError } from '../http.ts';

export type FaultName = 'error_ratio' | 'latency' | 'llm_outage' | 'cost_multiplier' | 'db_outage';

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
