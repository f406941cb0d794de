/**
 * CORS for browser frontends. `origins` empty = no CORS headers at all (browsers then refuse cross-origin reads);
 * '*' allows any origin (API keys are sent as headers, never cookies, so credentials are not allowed). Preflight
 * requests are answered here, before authentication, as browsers send them without the key.
 */
import type { Request, Response } from 'express';

/** Adds the CORS headers a request's origin gets; returns true when it answered the request (a preflight, 204). */
export function corsPolicy(origins: string[]): (req: Request, res: Response) => boolean {
  const any = origins.includes('*');
  const allowed = new Set(origins);
  return (req, res) => {
    if (origins.length === 0) return false;
    const origin = req.get('origin');
    if (!origin || (!any && !allowed.has(origin))) return false;
    res.setHeader('access-control-allow-origin', any ? '*' : origin);
    if (!any) res.append('vary', 'Origin');
    res.setHeader('access-control-expose-headers', 'x-request-id, retry-after, ratelimit-limit, ratelimit-remaining');
    if (req.method === 'OPTIONS' && req.get('access-control-request-method')) {
      res.setHeader('access-control-allow-methods', 'GET, POST, DELETE, OPTIONS');
      res.setHeader('access-control-allow-headers', 'content-type, x-api-key, authorization, x-request-id');
      res.setHeader('access-control-max-age', '600');
      res.status(204).end();
      return true;
    }
    return false;
  };
}
