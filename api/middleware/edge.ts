/**
 * What every request goes through before routing, as one express layer, in this order: request id, metrics and access
 * log, route label, drain guard, CORS. They were six layers (the label one an express Router of its own); in the read
 * benchmark's profile express's dispatch between layers (`next`, `match`, `handle`) cost more than their bodies.
 */
import type { RequestHandler } from 'express';
import type { Logger } from '../../lib/log';
import type { Emitter } from '../../lib/metrics/instrumentation';
import { HttpProblem } from '../../lib/problems';
import { corsPolicy } from './cors';
import { track } from './observe';
import { assignRequestId } from './request-id';

export interface EdgeOptions {
  logger: Logger;
  emit: Emitter;
  drain: { add(): void; done(): void; draining(): boolean };
  /** The documented route a request names (see route-label.ts). */
  label: (method: string, path: string) => string | undefined;
  /** GET paths that keep answering during a drain. */
  drainExempt: ReadonlySet<string>;
  corsOrigins: string[];
}

export function edge(o: EdgeOptions): RequestHandler {
  const cors = corsPolicy(o.corsOrigins);
  return (req, res, next) => {
    assignRequestId(req, res, o.logger);
    track(req, res, o.emit, o.drain);
    // Preflights are left to CORS: never labelled, and never a 400 for a malformed path parameter.
    if (req.method !== 'OPTIONS') {
      const route = o.label(req.method, req.path);
      if (route !== undefined) res.locals.route ??= route;
    }
    if (o.drain.draining()) {
      res.setHeader('connection', 'close');
      // Probes and scrapes still answer while draining: /readyz says `draining`, so a balancer stops sending traffic
      // here, and the last scrape sees the drain. Everything else is refused.
      if (!(req.method === 'GET' && o.drainExempt.has(req.path))) {
        throw new HttpProblem('shutting-down', 'the server is shutting down; retry on another instance', {
          headers: { 'retry-after': '1' },
        });
      }
    }
    if (cors(req, res)) return;
    next();
  };
}
