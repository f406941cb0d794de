/** The last middlewares: unmatched routes → 404, and every thrown error → problem+json (RFC 9457). */
import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Logger } from '../../lib/log';
import { HttpProblem, problemBody, toProblem } from '../../lib/problems';

export function notFound(): RequestHandler {
  return (req) => {
    throw new HttpProblem('not-found', `no route for ${req.method} ${req.path}; see /openapi.json`);
  };
}

export function sendProblem(): ErrorRequestHandler {
  return (err, req, res, next) => {
    if (res.headersSent) return next(err);
    const p = toProblem(err);
    const log = res.locals.log as Logger | undefined;
    if (p.status >= 500) log?.error('request failed', { err: err instanceof Error ? err : String(err), path: req.path });
    for (const [k, val] of Object.entries(p.extra.headers ?? {})) res.setHeader(k, val);
    res.status(p.status).type('application/problem+json').send(JSON.stringify(problemBody(p, req.originalUrl.split('?')[0], res.locals.requestId as string | undefined)));
  };
}
