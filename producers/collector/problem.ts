import type { Response } from 'express';

/**
 * RFC 9457 problem details, in the same shape and `type` URIs as the read API's (api/problem.ts), so a client
 * handles both alike. Kept local so producers/ does not depend on api/.
 */
export const PROBLEM_BASE = 'https://learnstream.dev/problems/';

export const COLLECTOR_PROBLEMS = {
  'invalid-request': { status: 400, title: 'Invalid request parameters' },
  'payload-too-large': { status: 413, title: 'Request body too large' },
  'unsupported-media-type': { status: 415, title: 'Unsupported media type' },
  'internal': { status: 500, title: 'Internal server error' },
  'dependency-unavailable': { status: 503, title: 'A dependency is unavailable' },
} as const;

export type CollectorProblem = keyof typeof COLLECTOR_PROBLEMS;

export interface ProblemError {
  /** Where: `[3].dwellMs` = field dwellMs of event 3 (0-based); `body` for the request as a whole. */
  param: string;
  message: string;
}

export function sendProblem(res: Response, kind: CollectorProblem, detail: string, extra: Record<string, unknown> & { errors?: ProblemError[] } = {}, headers: Record<string, string> = {}): void {
  const { status, title } = COLLECTOR_PROBLEMS[kind];
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  res.status(status).type('application/problem+json').send(JSON.stringify({ type: `${PROBLEM_BASE}${kind}`, title, status, detail, ...extra }));
}
