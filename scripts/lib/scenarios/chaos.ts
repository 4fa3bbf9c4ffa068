// The service's chaos API (PUT/DELETE /admin/chaos/<fault>, on its management port), which the
// alert scenarios drive.
import { call, type HttpError } from '../http.ts';

/**
 * A fault of the service's chaos API. Not a copy of its list: the service answers an unknown
 * fault with a 404 that names every fault, and test/unit/scenarios.test.ts checks the scenario
 * table against the app's own list, so a fault added to the app needs no edit here.
 */
export type FaultName = string;

export class ChaosClient {
  private readonly base: string;
  private readonly headers: Record<string, string>;
  constructor(managementUrl: string, adminToken: string) {
    this.base = `${managementUrl}/admin/chaos`;
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
