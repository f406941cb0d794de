import type { Logger } from '../../lib/log';
import type { ServingStore } from '../../serving/types';
import type { LearnerProcessor } from './processor';
import type { Learner } from './state';

/** Learners whose side keys (knowledge, completed, interests) are written per round, and the re-rank backlog bound. */
const CHUNK = 200;
const MAX_PENDING = 1000;

export interface LearnerRewriteResult {
  learners: number;
  seconds: number;
  /** learners / seconds, lists included (the re-ranks of the last chunk are awaited). */
  perSecond: number;
}

/**
 * Rewrites the learner stage's part of the serving view from its own state (issue 17, item 4): every learner's list
 * (a re-rank through the usual path, so the same list the next event would have given), knowledge (mastery from the
 * group's knowledge model), completed set, declared interests and review cards. Newest-active learners first, so the learners most
 * likely to read their list soon stop seeing the fallback first; paced by the re-rank backlog (at most MAX_PENDING
 * queued), so live events keep flowing between chunks (the consumer pauses only when the backlog reaches the
 * reranker's own bound, which this stays below). Popularity and co-engagement are not state of this stage (decayed
 * counters in the serving store): they regrow from traffic.
 */
export async function rewriteLearnerView(p: LearnerProcessor, store: ServingStore, logger: Logger, opts: { shouldStop?: () => boolean } = {}): Promise<LearnerRewriteResult> {
  const t0 = performance.now();
  const all: { userId: string; l: Learner; group: number }[] = [];
  for (const group of p.groupIds()) for (const [userId, l] of p.groupState(group)?.learners ?? []) all.push({ userId, l, group });
  all.sort((a, b) => b.l.lastEventAt - a.l.lastEventAt);
  let done = 0;
  for (let i = 0; i < all.length && !opts.shouldStop?.(); i += CHUNK) {
    while (p.reranker.pending > MAX_PENDING && !opts.shouldStop?.()) await new Promise((r) => setTimeout(r, 10));
    const chunk = all.slice(i, i + CHUNK);
    await Promise.all(
      chunk.map(async ({ userId, l, group }) => {
        const g = p.groupState(group);
        if (!g || g.learners.get(userId) !== l) return; // erased or the group revoked meanwhile
        const writes: Promise<void>[] = [];
        if (l.quizzes > 0) writes.push(store.putKnowledge({ userId, skills: g.knowledge.mastery(userId), updatedAt: Date.now() }));
        if (l.completed.length > 0) writes.push(store.addCompleted(userId, l.completed));
        if (l.interests.length > 0) writes.push(store.putProfileInterests(userId, l.interests));
        if (l.reviews && l.reviews.size > 0) writes.push(store.putReviews(p.reviews.state(userId, l, Date.now())));
        await Promise.all(writes);
        p.reranker.request(userId, true);
      }),
    );
    done += chunk.length;
  }
  // The last chunk's lists: wait until the backlog is down to what live traffic keeps queued (bounded wait).
  const deadline = Date.now() + 60_000;
  while (p.reranker.pending > CHUNK && Date.now() < deadline && !opts.shouldStop?.()) await new Promise((r) => setTimeout(r, 10));
  const seconds = (performance.now() - t0) / 1000;
  const result = { learners: done, seconds, perSecond: seconds > 0 ? done / seconds : done };
  logger.info('learner serving view rewritten', { learners: done, seconds: Number(seconds.toFixed(2)), perSecond: Math.round(result.perSecond) });
  return result;
}
