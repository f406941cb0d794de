/**
 * Who may publish what. One rule, applied by the collector to each event with the caller's API key, by the typed
 * Publisher to everything it is asked to send (its `grant`), and by DELETE /v1/learners/:id:
 *
 *  - interactions, quiz attempts, resources and profiles need the `write` scope; an erasure needs `admin`, whichever
 *    door it comes through (an erasure makes every stage forget a learner, so it is no ordinary write);
 *  - a grant bound to an id prefix (`api.apiKeys[].idPrefix`) may only write resources whose resourceId, and profiles
 *    and erasures whose userId, start with it: those records are owned by one tenant and are kept by compaction as
 *    the latest word on that id, so another tenant's key must not overwrite them. Interactions and quiz attempts are
 *    activity on a shared catalogue and are not bound.
 *
 * Kafka clients that bypass both are held by the broker's ACLs (docs/operations.md, "Kafka ACLs").
 */
import type { Scope } from '../lib/config';
import { ForbiddenError } from '../lib/errors';
import type { EventKind, KindedEvent } from '../schemas';

/** What a caller may do: its scopes and, optionally, the id prefix it is bound to. An ApiKey is a Grant. */
export interface Grant {
  readonly scopes: readonly Scope[];
  readonly idPrefix?: string;
  /** Named in messages (the API key's name). */
  readonly name?: string;
}

/**
 * Every event, any id: for a process that checks its callers itself before publishing (the API process: the
 * collector checks each key, DELETE needs admin) and for tests.
 */
export const ADMIN_GRANT: Grant = { scopes: ['write', 'admin'] };

/** The scope each event kind needs. */
export const KIND_SCOPE: Readonly<Record<EventKind, Scope>> = {
  interaction: 'write',
  quizAttempt: 'write',
  resource: 'write',
  profile: 'write',
  erasure: 'admin',
};

/** The id field a bound grant's prefix applies to, per kind; kinds absent here are not bound. */
export const BOUND_ID_FIELD: Readonly<Partial<Record<EventKind, 'resourceId' | 'userId'>>> = {
  resource: 'resourceId',
  profile: 'userId',
  erasure: 'userId',
};

const who = (g: Grant) => (g.name ? `the key '${g.name}'` : 'this publisher');

/** Null when `grant` has `scope`, else the ForbiddenError to throw. */
export function denyScope(grant: Grant, scope: Scope, what: string): ForbiddenError | null {
  if (grant.scopes.includes(scope)) return null;
  return new ForbiddenError('missing-scope', `${what} needs the '${scope}' scope; ${who(grant)} has ${grant.scopes.join(', ') || 'none'}`);
}

/** Null when `id` (of `field`) is inside the grant's prefix or the grant is unbound, else the ForbiddenError. */
export function denyId(grant: Grant, field: string, id: string): ForbiddenError | null {
  if (grant.idPrefix === undefined || id.startsWith(grant.idPrefix)) return null;
  return new ForbiddenError(
    'outside-prefix',
    `${field} '${id.slice(0, 128)}' is outside the ids ${who(grant)} may write: they start with '${grant.idPrefix}'`,
    field,
  );
}

/** The kind-level check alone (no id needed): for events whose fields are not valid yet. */
export function denyKind(grant: Grant, kind: EventKind): ForbiddenError | null {
  return denyScope(grant, KIND_SCOPE[kind], `an event of kind '${kind}'`);
}

/** Null when `grant` may publish `e`, else the ForbiddenError saying why. */
export function denyEvent(grant: Grant, e: KindedEvent): ForbiddenError | null {
  const denied = denyKind(grant, e.kind);
  if (denied) return denied;
  const field = BOUND_ID_FIELD[e.kind];
  return field ? denyId(grant, field, (e.event as Record<typeof field, string>)[field]) : null;
}
