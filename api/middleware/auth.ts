/**
 * API keys with scopes. Keys come from config.api.apiKeys and are presented as `x-api-key: <key>` or
 * `Authorization: Bearer <key>`. Missing or unknown key → 401; known key without the scope → 403. Keys are looked up
 * by their SHA-256 digest, so the lookup time does not depend on how many leading characters of a guess match.
 */
import { createHash } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import type { ApiKey, Scope } from '../../lib/config';
import { ForbiddenError } from '../../lib/errors';
import { HttpProblem } from '../../lib/problems';
import { markRoute } from './observe';
import { TokenBuckets } from './rate-limit';

export type { Scope } from '../../lib/config';

const digest = (s: string) => createHash('sha256').update(s).digest('hex');

function presentedKey(header: (name: string) => string | undefined): string | undefined {
  const direct = header('x-api-key');
  if (direct) return direct.trim();
  const auth = header('authorization');
  const m = auth ? /^Bearer\s+(.+)$/i.exec(auth.trim()) : null;
  return m ? m[1].trim() : undefined;
}

export interface AuthOptions {
  /** Wrong keys tolerated per client address per minute before 429 (slows down key guessing). Default 60. */
  failuresPerMinute?: number;
  now?: () => number;
}

/** The caller's key from the request's headers and address, or throws 401 (429 once an address keeps presenting unknown keys). */
export type Authenticator = (header: (name: string) => string | undefined, address: string | undefined) => ApiKey;

/**
 * The one authenticator of an app: express (authenticate) and the node:http fast path (api/fast-path.ts) share it, so
 * they share the unknown-key budget of each address too.
 */
export function createAuthenticator(keys: ApiKey[], opts: AuthOptions = {}): Authenticator {
  const byDigest = new Map(keys.map((k) => [digest(k.key), k]));
  const failures = new TokenBuckets(opts.failuresPerMinute ?? 60, opts.now, 10_000);
  const www = { 'www-authenticate': 'Bearer realm="learnstream"' };
  return (header, address) => {
    const key = presentedKey(header);
    if (!key)
      throw new HttpProblem('unauthenticated', 'send an API key in the x-api-key header or as Authorization: Bearer <key>', {
        headers: www,
      });
    const found = byDigest.get(digest(key));
    if (!found) {
      const r = failures.take(address ?? 'unknown');
      if (!r.ok)
        throw new HttpProblem('rate-limited', `too many unknown API keys from this address; retry in ${r.retryAfterSec} s`, {
          headers: { 'retry-after': String(r.retryAfterSec) },
        });
      throw new HttpProblem('unauthenticated', 'unknown API key', { headers: www });
    }
    return found;
  };
}

/**
 * Identifies the caller (sets res.locals.apiKey) or throws (see Authenticator).
 * A plain function rather than a middleware: app.ts runs it and the rate limit in one express layer.
 */
export function authenticate(auth: Authenticator): (req: Request, res: Response) => void {
  return (req, res) => {
    res.locals.apiKey = auth((n) => req.get(n), req.socket.remoteAddress);
  };
}

/** Throws 401 without a key, 403 when `key` has none of the scopes `any` (see requireScope). */
export function checkScope(key: ApiKey | undefined, any: readonly Scope[]): void {
  if (!key) throw new HttpProblem('unauthenticated', 'an API key is required');
  if (!any.some((s) => key.scopes.includes(s))) {
    const needs = any.length > 1 ? `one of the scopes ${any.map((s) => `'${s}'`).join(', ')}` : `the '${any[0]}' scope`;
    throw new ForbiddenError('missing-scope', `this operation needs ${needs}; the key '${key.name}' has ${key.scopes.join(', ')}`);
  }
}

/**
 * Requires `scope` (or, given several, one of them) on the already authenticated key, else 403. A route whose
 * requests need different scopes by content (POST /v1/events: erasures need admin) lists every scope that can do
 * something there and checks the rest itself.
 */
export function requireScope(scope: Scope | readonly Scope[]): RequestHandler {
  const any = typeof scope === 'string' ? [scope] : scope;
  return (req, res, next) => {
    markRoute(req, res);
    checkScope(res.locals.apiKey as ApiKey | undefined, any);
    next();
  };
}
