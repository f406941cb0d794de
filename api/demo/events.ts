/**
 * What the demo page's buttons mean as events: a click or a completion is a LearningInteraction, an answer is a
 * QuizAttempt on one of the resource's items with the catalogue's skills. Built here, server-side, so the browser
 * never chooses event ids, timestamps or skills, and posted like any platform's events to POST /v1/events.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { ID_PATTERN } from '../validation';

export const demoAction = z.strictObject({
  userId: z.string().regex(ID_PATTERN, "1..128 characters of letters, digits, '.', '_', ':', '@' or '-'"),
  resourceId: z.string().regex(ID_PATTERN, "1..128 characters of letters, digits, '.', '_', ':', '@' or '-'"),
  action: z.enum(['click', 'complete', 'answer']),
  /** For `answer`: whether the visitor answered right. */
  correct: z.boolean().optional(),
});
export type DemoAction = z.infer<typeof demoAction>;

/** The collector envelope (`kind` + the Avro record's fields) of one demo action. */
export function demoEnvelope(a: DemoAction, skills: readonly string[], now: number): Record<string, unknown> {
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
  return { kind: 'interaction', eventId, userId: a.userId, resourceId: a.resourceId, type: a.action, dwellMs: 0, occurredAt: now, context: { platform: 'demo-page', device: null, session: null } };
}
