// API keys and the admin token. Keys are looked up by their SHA-256 digest, so the time a lookup
// takes says nothing about how much of a guess was right; the admin token is compared digest to
// digest with timingSafeEqual. Failed attempts are throttled per client address (req.ip: the
// peer, or the client a trusted proxy names in X-Forwarded-For). A valid key is checked first
// and never throttled, so an attacker behind the same address (a NAT, compose's gateway) cannot
// lock out the clients that hold a key; keys are 32 random characters, beyond guessing at any
// rate. The admin token is different: one token, which switches faults on for everyone, so an
// address over its budget is refused before the token is even compared (a guesser gets 429
// for the right token too), at the price of locking out an admin behind the same address
// while the guessing lasts.
import { hash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { ApiKeyEntry, Tier } from '../config';
import { metrics } from '../telemetry/metrics';
import { requestContext } from './context';
import { ProblemError } from './problem';
import { takeToken, type Bucket } from './rate-limit';

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

// Addresses remembered at most; past it the least recently failing one is forgotten (it can
// then fail a burst again). 10,000 buckets are about 1 MB.
const MAX_TRACKED_ADDRESSES = 10_000;

/** Failed attempts per client address as token buckets (AUTH_FAILURE_RPS, AUTH_FAILURE_BURST). */
export class FailureThrottle {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly limit: { ratePerSecond: number; burst: number },
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Without recording anything: 0 when a failure is within the budget, else the seconds to wait. */
  waitFor(address: string): number {
    const bucket = this.buckets.get(address);
    if (bucket === undefined) return 0;
    const { ratePerSecond, burst } = this.limit;
    const tokens = Math.min(
      burst,
      bucket.tokens + ((this.now() - bucket.updatedAt) / 1000) * ratePerSecond,
    );
    return tokens >= 1 ? 0 : (1 - tokens) / ratePerSecond;
  }

  /** Records a failure: 0 when it is within the budget, else the seconds until one is. */
  fail(address: string): number {
    const now = this.now();
    const bucket = this.buckets.get(address) ?? { tokens: this.limit.burst, updatedAt: now };
    // Re-inserted, so the Map's order is least recently failing first.
    this.buckets.delete(address);
    this.buckets.set(address, bucket);
    if (this.buckets.size > MAX_TRACKED_ADDRESSES) {
      this.buckets.delete(this.buckets.keys().next().value as string);
    }
    return takeToken(bucket, now, this.limit);
  }
}

const throttledFailures = metrics.authFailures.labels('throttled');

/** The client's address as the failure budget counts it (Express's req.ip, trust proxy). */
const clientAddress = (req: Request) => req.ip ?? req.socket.remoteAddress ?? 'unknown';

/** A 429 for an address over its failed-attempt budget, counted as an authentication failure. */
function throttled(res: Response, waitSeconds: number): ProblemError {
  requestContext(res).authFailed = true;
  // Still an authentication failure: AuthFailureSpike keeps seeing an attack that is throttled.
  throttledFailures.inc();
  const retryAfter = Math.max(1, Math.ceil(waitSeconds));
  return new ProblemError(
    'rate_limited',
    `Too many failed authentication attempts from your address; retry in ${retryAfter} s.`,
    { headers: { 'Retry-After': String(retryAfter) } },
  );
}

/** Refuses a request that failed authentication: 401, or 429 once its address is over budget. */
function refuse(
  req: Request,
  res: Response,
  throttle: FailureThrottle,
  counter: { inc(): void },
  unauthorized: ProblemError,
): never {
  requestContext(res).authFailed = true;
  const waitSeconds = throttle.fail(clientAddress(req));
  if (waitSeconds === 0) {
    counter.inc();
    throw unauthorized;
  }
  throw throttled(res, waitSeconds);
}

export function requireApiKey(keys: ApiKeys, throttle: FailureThrottle): RequestHandler {
  const missing = metrics.authFailures.labels('missing_key');
  const invalid = metrics.authFailures.labels('invalid_key');
  const challenge = { 'WWW-Authenticate': 'ApiKey header="X-API-Key"' };
  return (req: Request, res: Response, next: NextFunction) => {
    const key = req.headers['x-api-key'];
    if (typeof key !== 'string' || key === '') {
      refuse(
        req,
        res,
        throttle,
        missing,
        new ProblemError('unauthorized', 'Send your API key in the X-API-Key header.', {
          headers: challenge,
        }),
      );
    }
    const principal = keys.lookup(key);
    if (principal === undefined) {
      refuse(
        req,
        res,
        throttle,
        invalid,
        new ProblemError('unauthorized', 'The API key is not valid.', { headers: challenge }),
      );
    }
    const ctx = requestContext(res);
    ctx.tier = principal.tier;
    ctx.owner = principal.owner;
    next();
  };
}

export function requireAdminToken(token: string, throttle: FailureThrottle): RequestHandler {
  const expected = sha256(token);
  const failures = metrics.authFailures.labels('invalid_admin_token');
  return (req: Request, res: Response, next: NextFunction) => {
    const waitSeconds = throttle.waitFor(clientAddress(req));
    if (waitSeconds > 0) throw throttled(res, waitSeconds);
    const header = req.headers.authorization ?? '';
    const presented = /^Bearer\s+(\S+)$/i.exec(header)?.[1] ?? '';
    if (!timingSafeEqual(sha256(presented), expected)) {
      refuse(
        req,
        res,
        throttle,
        failures,
        new ProblemError(
          'unauthorized',
          'Send the admin token as "Authorization: Bearer <ADMIN_TOKEN>".',
          { headers: { 'WWW-Authenticate': 'Bearer realm="admin"' } },
        ),
      );
    }
    next();
  };
}
