/**
 * The RFC 9457 problem `type` catalogue shared by every HTTP edge (read API and event collector), so a client sees
 * one set of stable type URIs and titles whichever server answered. Documented in docs/api.md and docs/events.md.
 */
export const PROBLEM_BASE = 'https://learnstream.dev/problems/';

export const PROBLEMS = {
  'invalid-request': { status: 400, title: 'Invalid request parameters' },
  'unauthenticated': { status: 401, title: 'Missing or unknown API key' },
  'forbidden': { status: 403, title: 'API key lacks the required scope' },
  'not-found': { status: 404, title: 'Resource not found' },
  'unknown-goal': { status: 404, title: 'Unknown learning goal' },
  'method-not-allowed': { status: 405, title: 'Method not allowed' },
  'prerequisite-cycle': { status: 409, title: 'Prerequisites form a cycle' },
  'payload-too-large': { status: 413, title: 'Request body too large' },
  'unsupported-media-type': { status: 415, title: 'Unsupported media type' },
  'rate-limited': { status: 429, title: 'Rate limit exceeded' },
  'internal': { status: 500, title: 'Internal server error' },
  'dependency-unavailable': { status: 503, title: 'A dependency is unavailable' },
  'encoder-unavailable': { status: 503, title: 'Content encoder unavailable' },
  'shutting-down': { status: 503, title: 'Server is shutting down' },
} as const;

export type ProblemKind = keyof typeof PROBLEMS;
