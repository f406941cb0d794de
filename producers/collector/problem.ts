import type { Response } from 'express';
import { PROBLEM_BASE, PROBLEMS } from '../../lib/problems';

/** The problem types the collector answers with: a subset of the read API's catalogue (lib/problems.ts). */
export type CollectorProblem = 'invalid-request' | 'unauthenticated' | 'forbidden' | 'payload-too-large' | 'unsupported-media-type' | 'internal' | 'dependency-unavailable';

export interface ProblemError {
  /** Where: `[3].dwellMs` = field dwellMs of event 3 (0-based); `body` for the request as a whole. */
  param: string;
  message: string;
}

export function sendProblem(res: Response, kind: CollectorProblem, detail: string, extra: Record<string, unknown> & { errors?: ProblemError[] } = {}, headers: Record<string, string> = {}): void {
  const { status, title } = PROBLEMS[kind];
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  res.status(status).type('application/problem+json').send(JSON.stringify({ type: `${PROBLEM_BASE}${kind}`, title, status, detail, ...extra }));
}
