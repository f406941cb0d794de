/**
 * RFC 9457 problem details, the one problem module of both HTTP edges (read API and event collector): every error
 * response is `application/problem+json` with one of these stable `type` URIs and titles whichever server answered
 * (documented in docs/api.md and docs/events.md; clients may switch on them). HTTP status codes are decided here, at
 * the edge: lib/errors.ts types are mapped in toProblem().
 */
import type { Response } from 'express';
import { DependencyError, ForbiddenError, LearnstreamError, ValidationError } from './errors';

export const PROBLEM_BASE = 'https://learnstream.dev/problems/';

export const PROBLEMS = {
  'invalid-request': { status: 400, title: 'Invalid request parameters' },
  unauthenticated: { status: 401, title: 'Missing or unknown API key' },
  forbidden: { status: 403, title: 'API key lacks the required scope' },
  'not-found': { status: 404, title: 'Resource not found' },
  'unknown-goal': { status: 404, title: 'Unknown learning goal' },
  'method-not-allowed': { status: 405, title: 'Method not allowed' },
  'prerequisite-cycle': { status: 409, title: 'Prerequisites form a cycle' },
  'payload-too-large': { status: 413, title: 'Request body too large' },
  'unsupported-media-type': { status: 415, title: 'Unsupported media type' },
  'rate-limited': { status: 429, title: 'Rate limit exceeded' },
  internal: { status: 500, title: 'Internal server error' },
  'dependency-unavailable': { status: 503, title: 'A dependency is unavailable' },
  'encoder-unavailable': { status: 503, title: 'Content encoder unavailable' },
  'shutting-down': { status: 503, title: 'Server is shutting down' },
} as const;

export type ProblemKind = keyof typeof PROBLEMS;

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  /** Extension: every validation problem, one clear sentence each. */
  errors?: { param: string; message: string }[];
  /** Extension: the request id, to correlate with logs. */
  requestId?: string;
  /** Further extension members of one problem type (e.g. `cycle` of prerequisite-cycle). */
  [extension: string]: unknown;
}

/** Thrown by handlers and middleware; rendered by the error middleware. */
export class HttpProblem extends Error {
  constructor(
    readonly kind: ProblemKind,
    detail?: string,
    readonly extra: {
      errors?: { param: string; message: string }[];
      headers?: Record<string, string>;
      extensions?: Record<string, unknown>;
    } = {},
  ) {
    super(detail ?? PROBLEMS[kind].title);
    this.name = 'HttpProblem';
  }
  get status(): number {
    return PROBLEMS[this.kind].status;
  }
}

/** Maps any thrown value to an HttpProblem. Unknown errors become 500 without leaking their message. */
export function toProblem(err: unknown): HttpProblem {
  if (err instanceof HttpProblem) return err;
  if (err instanceof ValidationError)
    return new HttpProblem('invalid-request', err.message, {
      errors: err.issues.map((m) => ({ param: String(err.context.param ?? 'body'), message: m })),
    });
  if (err instanceof ForbiddenError)
    return new HttpProblem('forbidden', err.message, { errors: [{ param: err.field ?? 'scope', message: err.message }] });
  if (err instanceof DependencyError)
    return new HttpProblem('dependency-unavailable', `${err.dependency} is unavailable; try again shortly`, {
      headers: { 'retry-after': '1' },
    });
  // body-parser / express errors carry an HTTP status and a `type`.
  const e = err as { status?: number; type?: string; expose?: boolean; message?: string } | null;
  if (e && typeof e === 'object' && typeof e.status === 'number') {
    if (e.status === 413) return new HttpProblem('payload-too-large', e.message);
    if (e.status === 415) return new HttpProblem('unsupported-media-type', e.message);
    if (e.status === 400)
      return new HttpProblem('invalid-request', e.type === 'entity.parse.failed' ? 'request body is not valid JSON' : e.message);
  }
  if (err instanceof LearnstreamError && err.retriable)
    return new HttpProblem('dependency-unavailable', 'temporarily unavailable; try again shortly', { headers: { 'retry-after': '1' } });
  return new HttpProblem('internal', 'unexpected error; the request id identifies it in the logs');
}

export function problemBody(p: HttpProblem, instance: string, requestId?: string): ProblemBody {
  const body: ProblemBody = {
    ...p.extra.extensions,
    type: PROBLEM_BASE + p.kind,
    title: PROBLEMS[p.kind].title,
    status: p.status,
    detail: p.message,
    instance,
  };
  if (p.extra.errors?.length) body.errors = p.extra.errors;
  if (requestId) body.requestId = requestId;
  return body;
}

/** The problem types the collector answers with: a subset of the read API's catalogue (above). */
export type CollectorProblem =
  | 'invalid-request'
  | 'unauthenticated'
  | 'forbidden'
  | 'payload-too-large'
  | 'unsupported-media-type'
  | 'internal'
  | 'dependency-unavailable';

export interface ProblemError {
  /** Where: `[3].dwellMs` = field dwellMs of event 3 (0-based); `body` for the request as a whole. */
  param: string;
  message: string;
}

export function sendProblem(
  res: Response,
  kind: CollectorProblem,
  detail: string,
  extra: Record<string, unknown> & { errors?: ProblemError[] } = {},
  headers: Record<string, string> = {},
): void {
  const { status, title } = PROBLEMS[kind];
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  res
    .status(status)
    .type('application/problem+json')
    .send(JSON.stringify({ type: `${PROBLEM_BASE}${kind}`, title, status, detail, ...extra }));
}
