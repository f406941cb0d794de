/**
 * Per-API-key token bucket: `perMinute` tokens refill continuously and the bucket holds at most `perMinute` (so a
 * client may burst up to a minute's budget). Over the limit → 429 with Retry-After (seconds until one token is back).
 * Buckets exist only for configured keys (rate limiting runs after authentication), so memory is bounded.
 */
import type { RequestHandler } from 'express';
import type { ApiKey } from '../../lib/config';
import { HttpProblem } from '../problem';

interface Bucket {
  tokens: number;
  at: number;
}

export function rateLimit(perMinute: number, now: () => number = Date.now): RequestHandler {
  const buckets = new Map<string, Bucket>();
  const perMs = perMinute / 60_000;
  return (_req, res, next) => {
    const key = res.locals.apiKey as ApiKey;
    const t = now();
    const b = buckets.get(key.key) ?? { tokens: perMinute, at: t };
    b.tokens = Math.min(perMinute, b.tokens + (t - b.at) * perMs);
    b.at = t;
    buckets.set(key.key, b);
    res.setHeader('ratelimit-limit', String(perMinute));
    if (b.tokens < 1) {
      const retryAfter = Math.max(1, Math.ceil((1 - b.tokens) / perMs / 1000));
      res.setHeader('ratelimit-remaining', '0');
      throw new HttpProblem('rate-limited', `at most ${perMinute} requests per minute per API key; retry in ${retryAfter} s`, { headers: { 'retry-after': String(retryAfter) } });
    }
    b.tokens -= 1;
    res.setHeader('ratelimit-remaining', String(Math.floor(b.tokens)));
    next();
  };
}
