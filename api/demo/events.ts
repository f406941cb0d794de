/**
 * What the demo page's buttons mean as events: a click or a completion is a LearningInteraction, an answer is a
 * QuizAttempt on one of the resource's items with the catalogue's skills, and a list the page shows is one
 * `impression` interaction per resource shown, quoting the list's recommId (docs/experiments.md). Built here,
 * server-side, so the browser never chooses event ids, timestamps or skills, and posted like any platform's events
 * to POST /v1/events.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { RECOMM_ID_PATTERN } from '../../schemas/recomm-id';
import { ID_PATTERN } from '../validation';

const id = () => z.string().regex(ID_PATTERN, "1..128 characters of letters, digits, '.', '_', ':', '@' or '-'");
const recommId = () => z.string().regex(RECOMM_ID_PATTERN, 'a recommId as served by GET /v1/learners/{userId}/recommendations');

/** The most resources one impression post may name: the page shows 10; the API serves at most 100. */
export const MAX_IMPRESSIONS = 100;

export const demoAction = z.union([
  z.strictObject({
    userId: id(),
    resourceId: id(),
    action: z.enum(['click', 'complete', 'answer']),
    /** For `answer`: whether the visitor answered right. */
    correct: z.boolean().optional(),
    /** The recommId of the list the resource was picked from (clicks and completions carry it; a quiz attempt has no such field). */
    recommId: recommId().optional(),
  }),
  z.strictObject({
    userId: id(),
    action: z.literal('impression'),
    /** The list shown, and the resources of it on screen, in order. */
    recommId: recommId(),
    resourceIds: z.array(id()).min(1).max(MAX_IMPRESSIONS),
  }),
]);
export type DemoAction = z.infer<typeof demoAction>;
type ResourceAction = Exclude<DemoAction, { action: 'impression' }>;

const context = { platform: 'demo-page', device: null, session: null };

/** The collector envelopes (`kind` + the Avro record's fields) of one demo action: one per impression shown. */
export function demoEnvelopes(a: DemoAction, skills: readonly string[], now: number): Record<string, unknown>[] {
  if (a.action === 'impression') {
    // A page that shows the same list again (a reload) posts its impressions again: the experiment stage counts an
    // impression once per (recommId, resource).
    const base = `demo-page-imp-${randomUUID()}`;
    return [...new Set(a.resourceIds)].map((resourceId, i) => ({
      kind: 'interaction',
      eventId: `${base}-${i}`,
      userId: a.userId,
      resourceId,
      type: 'impression',
      dwellMs: 0,
      occurredAt: now,
      context,
      recommId: a.recommId,
    }));
  }
  return [demoEnvelope(a, skills, now)];
}

function demoEnvelope(a: ResourceAction, skills: readonly string[], now: number): Record<string, unknown> {
  const eventId = `demo-page-${randomUUID()}`;
  if (a.action === 'answer') {
    return {
      kind: 'quizAttempt',
      eventId,
      userId: a.userId,
      itemId: `${a.resourceId}-q1`,
      resourceId: a.resourceId,
      skills: [...skills],
      correct: a.correct === true,
      attempt: 1,
      responseTimeMs: 10_000,
      occurredAt: now,
    };
  }
  return {
    kind: 'interaction',
    eventId,
    userId: a.userId,
    resourceId: a.resourceId,
    type: a.action,
    dwellMs: 0,
    occurredAt: now,
    context,
    recommId: a.recommId ?? null,
  };
}
