// Token buckets per API key: a key may burst up to its tier's `burst`, then is held to `rate`
// requests per second. One bucket per configured key, so memory is bounded by the key list.
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Config, Tier } from '../config';
import { metrics } from '../telemetry/metrics';
import { requestContext } from './context';
import { ProblemError } from './problem';

export interface Bucket {
  tokens: number;
  updatedAt: number;
}

/** Refills `bucket` up to now and takes a token: 0 when allowed, else the seconds to wait. */
export function takeToken(
  bucket: Bucket,
  now: number,
  limit: { ratePerSecond: number; burst: number },
): number {
  const { ratePerSecond, burst } = limit;
  bucket.tokens = Math.min(
    burst,
    bucket.tokens + ((now - bucket.updatedAt) / 1000) * ratePerSecond,
  );
  bucket.updatedAt = now;
  if (bucket.tokens >= 1) {
    bucket.tokens -= 1;
    return 0;
  }
  return (1 - bucket.tokens) / ratePerSecond;
}

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly limits: Config['rateLimits'],
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Takes a token; returns 0 when allowed, else the seconds until one is available. */
  take(owner: string, tier: Tier): number {
    const limit = this.limits[tier];
    const now = this.now();
    let bucket = this.buckets.get(owner);
    if (bucket === undefined) {
      bucket = { tokens: limit.burst, updatedAt: now };
      this.buckets.set(owner, bucket);
    }
    return takeToken(bucket, now, limit);
  }

  describe(tier: Tier): string {
    const { ratePerSecond, burst } = this.limits[tier];
    return `${ratePerSecond} requests per second (bursts of ${burst})`;
  }
}

export function rateLimit(
  limiter: RateLimiter,
  onRejected?: (req: Request, res: Response) => void,
): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const ctx = requestContext(res);
    // Runs after requireApiKey, which sets both.
    const tier = ctx.tier!;
    const waitSeconds = limiter.take(ctx.owner!, tier);
    if (waitSeconds > 0) {
      metrics.rateLimitRejections.labels(tier).inc();
      onRejected?.(req, res);
      const retryAfter = Math.max(1, Math.ceil(waitSeconds));
      throw new ProblemError(
        'rate_limited',
        `The ${tier} tier allows ${limiter.describe(tier)}; retry in ${retryAfter} s.`,
        { headers: { 'Retry-After': String(retryAfter) } },
      );
    }
    next();
  };
}
