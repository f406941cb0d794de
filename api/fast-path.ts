/**
 * A node:http handler in front of the express app, on the same server, for the hot read routes:
 *   GET /v1/learners/{userId}/recommendations   and   GET /v1/resources/{id}/similar.
 * Express costs about as much CPU per request as everything else the recommendations route does (router, layers,
 * its request/response prototypes, parseurl: ~35% of the API's CPU in `npm run bench -- read --profile`); hello-world
 * pays it once with one layer, the API paid it per layer. Here a request of the common shape is served without it,
 * doing what the express path does, in the same order and with the same shared parts:
 *   request id (x-request-id) → in-flight gauge, drain count, duration histogram by route and access log line →
 *   authentication (the app's Authenticator: same keys, same unknown-key budget per address) → rate limit (the same
 *   buckets) → scope `read` → the route's answer (api/routes/read-replies.ts, which the express routes send too) →
 *   problem+json for every error (api/middleware/errors.ts renderProblem).
 * Anything else goes to express untouched (`handle` returns false before writing anything): other methods and paths,
 * a path express would match differently (case, a trailing slash, percent-encoding, a '#'), conditional requests
 * (express's freshness check), requests with an Origin header when CORS is configured, and every request once the
 * drain began. test/unit/api-fast-path.test.ts sends the same requests to both and compares the answers.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseQuery } from 'node:querystring';
import type { ApiKey } from '../lib/config';
import { withFields, type Logger } from '../lib/log';
import type { Emitter } from '../lib/metrics/instrumentation';
import { checkScope, type Authenticator } from './middleware/auth';
import { PROBLEM_TYPE, renderProblem } from './middleware/errors';
import { levelOf } from './middleware/observe';
import type { RateLimiter } from './middleware/rate-limit';
import { requestIdOf } from './middleware/request-id';
import { JSON_TYPE, type ReadRoute } from './routes/read-replies';

export interface FastPathOptions {
  logger: Logger;
  emit: Emitter;
  drain: { add(): void; done(): void; draining(): boolean };
  identify: Authenticator;
  charge: RateLimiter;
  recommendations: ReadRoute;
  similar: ReadRoute;
  /** config.api.corsOrigins: when not empty, requests with an Origin header go to express (CORS headers, preflights). */
  corsOrigins: readonly string[];
}

export interface FastPath {
  /** Serves `req` and returns true, or returns false having touched neither `req` nor `res`. */
  handle(req: IncomingMessage, res: ServerResponse): boolean;
  /** Requests the fast path took, by route template (tests assert which path served). */
  served(): Readonly<Record<string, number>>;
}

interface FastRoute {
  /** The route template: the metrics label, as express's routes are labelled. */
  label: string;
  prefix: string;
  suffix: string;
  param: string;
  run: ReadRoute;
}

const header = (v: string | string[] | undefined): string | undefined => (typeof v === 'string' ? v : v?.[0]);

export function createFastPath(o: FastPathOptions): FastPath {
  const routes: FastRoute[] = [
    {
      label: '/v1/learners/:userId/recommendations',
      prefix: '/v1/learners/',
      suffix: '/recommendations',
      param: 'userId',
      run: o.recommendations,
    },
    { label: '/v1/resources/:id/similar', prefix: '/v1/resources/', suffix: '/similar', param: 'id', run: o.similar },
  ];
  const counts: Record<string, number> = Object.fromEntries(routes.map((r) => [r.label, 0]));
  const cors = o.corsOrigins.length > 0;
  const READ = ['read'] as const;

  /** The route and its path parameter, when express would route `url` to it with the parameter as written. */
  const match = (url: string): [FastRoute, string, number] | null => {
    if (url.includes('#')) return null;
    const q = url.indexOf('?');
    const end = q < 0 ? url.length : q;
    for (const r of routes) {
      if (!url.startsWith(r.prefix) || !url.endsWith(r.suffix, end)) continue;
      const value = url.slice(r.prefix.length, end - r.suffix.length);
      // '%': express decodes the parameter (and answers a bad escape with its own 400); '/': another route
      if (value.length === 0 || value.includes('/') || value.includes('%')) return null;
      return [r, value, q];
    }
    return null;
  };

  const serve = async (
    req: IncomingMessage,
    res: ServerResponse,
    route: FastRoute,
    value: string,
    q: number,
    url: string,
  ): Promise<void> => {
    const start = performance.now();
    const h = req.headers;
    const requestId = requestIdOf(header(h['x-request-id']));
    res.setHeader('x-request-id', requestId);
    o.emit.emit('http.inFlight', { delta: 1 });
    o.drain.add();
    const path = q < 0 ? url : url.slice(0, q);
    let key: ApiKey | undefined;
    let finished = false;
    // As api/middleware/observe.ts track(): once per request, on finish or on an abort (499).
    const end = () => {
      if (finished) return;
      finished = true;
      const durationMs = performance.now() - start;
      const status = res.writableFinished ? res.statusCode : 499;
      o.emit.emit('http.inFlight', { delta: -1 });
      o.emit.emit('http.request', { method: 'GET', route: route.label, status, durationMs });
      o.drain.done();
      const level = levelOf(route.label, status);
      if (o.logger.enabled?.(level) === false) return;
      withFields(o.logger, { requestId })[level]('request', {
        method: 'GET',
        path,
        route: route.label,
        status,
        durationMs: Math.round(durationMs * 100) / 100,
        apiKey: key?.name,
      });
    };
    res.on('finish', end);
    res.on('close', end);
    let status = 200;
    let body: string;
    try {
      key = o.identify((name) => header(h[name]), req.socket.remoteAddress);
      o.charge(key, (n, v) => void res.setHeader(n, v));
      checkScope(key, READ);
      const reply = await route.run({ params: { [route.param]: value }, query: q < 0 ? {} : parseQuery(url.slice(q + 1)) });
      if (reply.cacheControl !== undefined) res.setHeader('cache-control', reply.cacheControl);
      res.setHeader('content-type', JSON_TYPE);
      body = reply.body;
    } catch (err) {
      const p = renderProblem(err, path, requestId, withFields(o.logger, { requestId }), path);
      for (const k in p.headers) res.setHeader(k, p.headers[k]);
      res.setHeader('content-type', PROBLEM_TYPE);
      status = p.status;
      body = p.body;
    }
    res.statusCode = status;
    res.setHeader('content-length', Buffer.byteLength(body));
    res.end(body);
  };

  return {
    handle(req, res) {
      if (req.method !== 'GET' || o.drain.draining()) return false;
      const url = req.url ?? '';
      const m = match(url);
      if (!m) return false;
      const h = req.headers;
      // express answers 304 to some conditional requests (its freshness check); CORS is express's too
      if (h['if-none-match'] !== undefined || h['if-modified-since'] !== undefined || (cors && h.origin !== undefined)) return false;
      counts[m[0].label]++;
      serve(req, res, m[0], m[1], m[2], url).catch((err: unknown) => {
        // only a failure to write the answer gets here (the socket is gone): nothing left to send
        o.logger.warn('fast path: answer not written', { err: err instanceof Error ? err : String(err) });
        res.destroy();
      });
      return true;
    },
    served: () => ({ ...counts }),
  };
}
