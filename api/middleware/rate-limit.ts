/**
 * Token buckets: `perMinute` tokens refill continuously and a bucket holds at most `perMinute` (a client may burst up
 * to a minute's budget). Over the limit → 429 with Retry-After (seconds until one token is back).
 *  - rateLimit: per API key, after authentication (buckets only for configured keys, so memory is bounded).
 *  - TokenBuckets with maxKeys: per client address for failed authentications (guessing keys), bounded by evicting
 *    the least recently used address.
 */
import type { Response } from 'express';
import type { ApiKey } from '../../lib/config';
import { HttpProblem } from '../../lib/problems';

interface Bucket {
  tokens: number;
  at: number;
}

export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();
  private readonly perMs: number;

  /**
   * @param perMinute refill rate and capacity.
   * @param maxKeys most buckets kept; the least recently used is dropped beyond it (it then starts full again).
   */
  constructor(
    readonly perMinute: number,
    private readonly now: () => number = Date.now,
    private readonly maxKeys = Infinity,
  ) {
    this.perMs = perMinute / 60_000;
  }

  /** Takes one token for `id`: `{ok: true, remaining}` or `{ok: false, retryAfterSec}`. */
  take(id: string): { ok: true; remaining: number } | { ok: false; retryAfterSec: number } {
    const t = this.now();
    let b = this.buckets.get(id);
    if (this.maxKeys !== Infinity || !b) {
      // Map order = recency, for LRU eviction; unbounded buckets (one per configured key) skip the re-insert, which
      // made V8 rehash the Map every few thousand requests.
      b ??= { tokens: this.perMinute, at: t };
      this.buckets.delete(id);
      this.buckets.set(id, b);
      if (this.buckets.size > this.maxKeys) this.buckets.delete(this.buckets.keys().next().value as string);
    }
    b.tokens = Math.min(this.perMinute, b.tokens + (t - b.at) * this.perMs);
    b.at = t;
    if (b.tokens < 1) return { ok: false, retryAfterSec: Math.max(1, Math.ceil((1 - b.tokens) / this.perMs / 1000)) };
    b.tokens -= 1;
    return { ok: true, remaining: Math.floor(b.tokens) };
  }
}

/** Takes a token of `key` and sets the ratelimit headers through `setHeader`, or throws 429. */
export type RateLimiter = (key: ApiKey, setHeader: (name: string, value: string) => void) => void;

/** The one limiter of an app: express (rateLimit) and the node:http fast path share its buckets. */
export function createRateLimiter(perMinute: number, now: () => number = Date.now): RateLimiter {
  const buckets = new TokenBuckets(perMinute, now);
  const limit = String(perMinute);
  return (key, setHeader) => {
    const r = buckets.take(key.key);
    setHeader('ratelimit-limit', limit);
    if (!r.ok) {
      setHeader('ratelimit-remaining', '0');
      throw new HttpProblem('rate-limited', `at most ${perMinute} requests per minute per API key; retry in ${r.retryAfterSec} s`, {
        headers: { 'retry-after': String(r.retryAfterSec) },
      });
    }
    setHeader('ratelimit-remaining', String(r.remaining));
  };
}

/** Takes a token of the authenticated key (res.locals.apiKey) and sets the ratelimit headers, or throws 429. */
export function rateLimit(limiter: RateLimiter): (res: Response) => void {
  return (res) => limiter(res.locals.apiKey as ApiKey, (n, v) => void res.setHeader(n, v));
}
