/** The last middlewares: unmatched routes → 404, and every thrown error → problem+json (RFC 9457). */
import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Logger } from '../../lib/log';
import { HttpProblem, problemBody, toProblem } from '../../lib/problems';

export function notFound(): RequestHandler {
  return (req) => {
    throw new HttpProblem('not-found', `no route for ${req.method} ${req.path}; see /openapi.json`);
  };
}

/** What res.type('application/problem+json').send(text) sets. */
export const PROBLEM_TYPE = 'application/problem+json; charset=utf-8';

/**
 * `err` as the problem to send: its status and headers, and the body's JSON text (`instance` = the path without the
 * query). A 5xx is logged (on `log`, with `path`) first. Shared by express (sendProblem) and the node:http fast path.
 */
export function renderProblem(
  err: unknown,
  instance: string,
  requestId: string | undefined,
  log: Logger | undefined,
  path: string,
): { status: number; headers: Record<string, string>; body: string } {
  const p = toProblem(err);
  if (p.status >= 500) log?.error('request failed', { err: err instanceof Error ? err : String(err), path });
  return { status: p.status, headers: p.extra.headers ?? {}, body: JSON.stringify(problemBody(p, instance, requestId)) };
}

export function sendProblem(): ErrorRequestHandler {
  return (err, req, res, next) => {
    if (res.headersSent) return next(err);
    const p = renderProblem(
      err,
      req.originalUrl.split('?')[0],
      res.locals.requestId as string | undefined,
      res.locals.log as Logger | undefined,
      req.path,
    );
    for (const [k, val] of Object.entries(p.headers)) res.setHeader(k, val);
    res.status(p.status).type('application/problem+json').send(p.body);
  };
}
