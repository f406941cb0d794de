/** Request ids: a well-formed incoming `x-request-id` is kept (so a trace spans services), otherwise a UUID is made. */
import { randomUUID } from 'node:crypto';
import type { Request, Response } from 'express';
import { withFields, type Logger } from '../../lib/log';

const SAFE = /^[A-Za-z0-9._:-]{1,128}$/;

/** The id of a request that sent `incoming` as its x-request-id (undefined: none). */
export function requestIdOf(incoming: string | undefined): string {
  return incoming && SAFE.test(incoming) ? incoming : randomUUID();
}

/** Sets res.locals.requestId, res.locals.log (lines carry the id) and the x-request-id response header. */
export function assignRequestId(req: Request, res: Response, logger: Logger): void {
  const id = requestIdOf(req.get('x-request-id'));
  res.locals.requestId = id;
  res.locals.log = withFields(logger, { requestId: id });
  res.setHeader('x-request-id', id);
}
