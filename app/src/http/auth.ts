// API keys and the admin token. Keys are looked up by their SHA-256 digest, so the time a lookup
// takes says nothing about how much of a guess was right; the admin token is compared digest to
// digest with timingSafeEqual.
import { hash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { ApiKeyEntry, Tier } from '../config';
import { metrics } from '../telemetry/metrics';
import { requestContext } from './context';
import { ProblemError } from './problem';

const sha256 = (text: string) => hash('sha256', text, 'buffer');
// Longer than any sane key: refused without hashing megabytes of header.
const MAX_KEY_LENGTH = 512;

export interface Principal {
  tier: Tier;
  /** A digest prefix that identifies the key without revealing it. */
  owner: string;
}

export class ApiKeys {
  private readonly byDigest = new Map<string, Principal>();

  constructor(entries: readonly ApiKeyEntry[]) {
    for (const { key, tier } of entries) {
      const digest = hash('sha256', key, 'hex');
      this.byDigest.set(digest, { tier, owner: digest.slice(0, 16) });
    }
  }

  lookup(key: string): Principal | undefined {
    if (key.length > MAX_KEY_LENGTH) return undefined;
    return this.byDigest.get(hash('sha256', key, 'hex'));
  }
}

export function requireApiKey(keys: ApiKeys): RequestHandler {
  const missing = metrics.authFailures.labels('missing_key');
  const invalid = metrics.authFailures.labels('invalid_key');
  const challenge = { 'WWW-Authenticate': 'ApiKey header="X-API-Key"' };
  return (req: Request, res: Response, next: NextFunction) => {
    const key = req.headers['x-api-key'];
    if (typeof key !== 'string' || key === '') {
      missing.inc();
      throw new ProblemError('unauthorized', 'Send your API key in the X-API-Key header.', {
        headers: challenge,
      });
    }
    const principal = keys.lookup(key);
    if (principal === undefined) {
      invalid.inc();
      throw new ProblemError('unauthorized', 'The API key is not valid.', { headers: challenge });
    }
    const ctx = requestContext(res);
    ctx.tier = principal.tier;
    ctx.owner = principal.owner;
    next();
  };
}

export function requireAdminToken(token: string): RequestHandler {
  const expected = sha256(token);
  const failures = metrics.authFailures.labels('invalid_admin_token');
  return (req: Request, _res: Response, next: NextFunction) => {
    const header = req.headers.authorization ?? '';
    const presented = /^Bearer\s+(\S+)$/i.exec(header)?.[1] ?? '';
    if (!timingSafeEqual(sha256(presented), expected)) {
      failures.inc();
      throw new ProblemError(
        'unauthorized',
        'Send the admin token as "Authorization: Bearer <ADMIN_TOKEN>".',
        { headers: { 'WWW-Authenticate': 'Bearer realm="admin"' } },
      );
    }
    next();
  };
}
