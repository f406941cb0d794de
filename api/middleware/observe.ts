/**
 * Per-request instrumentation and access log: in-flight gauge, duration by route template and status, one log line
 * per request carrying the request id. The route template (not the raw path) keeps label cardinality bounded.
 */
import type { Request, Response } from 'express';
import type { Logger } from '../../lib/log';
import type { Emitter } from '../../lib/metrics/instrumentation';

/**
 * Records the route template for the metrics label. Express resets req.baseUrl when an error leaves a router, so the
 * template must be captured while the route runs: every /v1 route starts with requireScope(), which calls this.
 */
export function markRoute(req: Request, res: Response): void {
  const route = req.route as { path?: unknown } | undefined;
  if (res.locals.route === undefined && route && typeof route.path === 'string') res.locals.route = `${req.baseUrl}${route.path}`;
}

function routeOf(req: Request, res: Response): string {
  if (typeof res.locals.route === 'string') return res.locals.route;
  const route = req.route as { path?: unknown } | undefined;
  if (route && typeof route.path === 'string') return `${req.baseUrl}${route.path}`;
  // Mounted sub-apps/routers without a matched route (e.g. the events collector) are labelled by their mount point.
  return req.baseUrl || 'unmatched';
}

/** Counts the request in flight now and records it (metrics, access log line) when it finishes or is aborted. */
export function track(req: Request, res: Response, emit: Emitter, tracker: { add(): void; done(): void }): void {
  const start = performance.now();
  emit.emit('http.inFlight', { delta: 1 });
  tracker.add();
  let finished = false;
  const end = () => {
    if (finished) return;
    finished = true;
    const durationMs = performance.now() - start;
    const route = routeOf(req, res);
    // An aborted request has no final status; label it 499 like nginx so it is visible but not counted as 5xx.
    const status = res.writableFinished ? res.statusCode : 499;
    emit.emit('http.inFlight', { delta: -1 });
    emit.emit('http.request', { method: req.method, route, status, durationMs });
    tracker.done();
    const log = res.locals.log as Logger | undefined;
    const level = levelOf(route, status);
    if (!log || log.enabled?.(level) === false) return;
    // originalUrl, not req.path: a request answered inside a router finishes with req.url still cut to the router's
    // part (the line said `/u42/recommendations` for `/v1/learners/u42/recommendations`).
    const fields = {
      method: req.method,
      path: pathOf(req.originalUrl),
      route,
      status,
      durationMs: Math.round(durationMs * 100) / 100,
      apiKey: (res.locals.apiKey as { name?: string } | undefined)?.name,
    };
    log[level]('request', fields);
  };
  res.on('finish', end);
  res.on('close', end);
}

/** Probes and scrapes: an orchestrator or Prometheus calls them every few seconds; they are not client traffic. */
const PROBES = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * Access-log level: probes and scrapes at debug (every 5 s scrape logged at info drowned the log), except a /readyz
 * 503 at info (not ready yet, or draining: expected, but worth a line); other 5xx at error, the rest at info.
 */
export function levelOf(route: string, status: number): 'debug' | 'info' | 'error' {
  if (PROBES.has(route)) return route === '/readyz' && status === 503 ? 'info' : 'debug';
  return status >= 500 ? 'error' : 'info';
}

function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}
