import type { Logger } from '../../lib/log';
import type { ServingStore } from '../../serving/types';
import type { PopularityIncrement } from '../../serving/types';
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
  /** Resources whose popularity was raised back, and co-engaged pairs rewritten. */
  popular: number;
  pairs: number;
}

export interface LearnerRewriteOptions {
  shouldStop?: () => boolean;
  /** Learners still to write, after every chunk (metrics: learnstream_serving_rebuild_pending_keys). */
  progress?: (pending: number) => void;
  /** Clock, epoch ms (default Date.now): popularity is decayed to it. */
  now?: () => number;
}

/**
 * Rewrites the learner stage's part of the serving view from its own state (issue 17, item 4): every learner's list
 * (a re-rank through the usual path, so the same list the next event would have given), knowledge (mastery from the
 * group's knowledge model), completed set, declared interests and review cards. Newest-active learners first, so the learners most
 * likely to read their list soon stop seeing the fallback first; paced by the re-rank backlog (at most MAX_PENDING
 * queued), so live events keep flowing between chunks (the consumer pauses only when the backlog reaches the
 * reranker's own bound, which this stays below).
 *
 * First, before the lists, the derived counters the `popular` fallback and similar lists read: popularity and
 * co-engagement (see rewriteDerived), so learners not rewritten yet fall back to a real popular list.
 */
export async function rewriteLearnerView(
  p: LearnerProcessor,
  store: ServingStore,
  logger: Logger,
  opts: LearnerRewriteOptions = {},
): Promise<LearnerRewriteResult> {
  const t0 = performance.now();
  const all: { userId: string; l: Learner; group: number }[] = [];
  for (const group of p.groupIds()) for (const [userId, l] of p.groupState(group)?.learners ?? []) all.push({ userId, l, group });
  all.sort((a, b) => b.l.lastEventAt - a.l.lastEventAt);
  opts.progress?.(all.length);
  const derived = await rewriteDerived(p, store, opts.now?.() ?? Date.now());
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
    opts.progress?.(all.length - done);
  }
  // The last chunk's lists: wait until the backlog is down to what live traffic keeps queued (bounded wait).
  const deadline = Date.now() + 60_000;
  while (p.reranker.pending > CHUNK && Date.now() < deadline && !opts.shouldStop?.()) await new Promise((r) => setTimeout(r, 10));
  const seconds = (performance.now() - t0) / 1000;
  const result = { learners: done, seconds, perSecond: seconds > 0 ? done / seconds : done, ...derived };
  logger.info('learner serving view rewritten', {
    learners: done,
    seconds: Number(seconds.toFixed(2)),
    perSecond: Math.round(result.perSecond),
    popular: derived.popular,
    pairs: derived.pairs,
  });
  return result;
}

/**
 * Popularity and co-engagement, rewritten from state with "raise to at least" writes (ServingStore.raisePopularityMany,
 * raiseCoEngagement: ZADD GT), which never double-count what live traffic added since the loss, nor what another
 * instance rewrote.
 * - Popularity: every learner-stage instance replicates the item owners' popularity signals (model.item-factors, or
 *   the owned table in synchronous mode), which count the same positive events as the serving counters do, decayed
 *   in event time (30-day half-life) instead of wall-clock time (the store's 7 days): for live traffic the rewritten
 *   count equals the uninterrupted one up to that decay difference. The whole catalogue, from one instance's replica.
 * - Co-engagement: recounted from the histories of this instance's learners, each resource paired with the
 *   coEngagementWindow before it (as it was counted when engaged). Approximate where a history was trimmed (historyLength) or
 *   reordered by a re-engagement; with several instances each raises its own learners' counts, so a pair engaged in
 *   two instances' partitions comes back as the larger share until traffic adds the rest.
 */
async function rewriteDerived(p: LearnerProcessor, store: ServingStore, nowMs: number): Promise<{ popular: number; pairs: number }> {
  // Ordering, so a count is neither lost nor doubled: the 1 s flush is held; what was counted so far is written as
  // increments (all of it is in the state recounted below, and one connection applies commands in order, so the
  // raise lands after them); then, in one synchronous step, the recount and the discard of co-engagement counted
  // since (also in the recount); the raise; the flush resumes with what came after.
  p.holdDerived = true;
  try {
    await p.flushDerived();
    return await raiseDerived(p, store, nowMs);
  } finally {
    p.holdDerived = false;
  }
}

async function raiseDerived(p: LearnerProcessor, store: ServingStore, nowMs: number): Promise<{ popular: number; pairs: number }> {
  const learners: Learner[] = [];
  for (const group of p.groupIds()) for (const l of p.groupState(group)?.learners.values() ?? []) learners.push(l);
  const entries: PopularityIncrement[] = [];
  try {
    const table = p.items();
    const hl = table.signals.popularityHalfLifeSeconds;
    for (let i = 0; i < table.size; i++) {
      if (table.placeholder[i] === 1 || table.active[i] === 0) continue;
      const by = Math.pow(2, table.signals.popularityKey(i) - nowMs / 1000 / hl);
      if (by > 0 && Number.isFinite(by)) entries.push({ resourceId: table.ids[i], by, topics: table.meta[i]?.topics ?? [], at: nowMs });
    }
  } catch {
    /* synchronous stage without its table yet: nothing to rewrite */
  }
  const counts = new Map<string, number>();
  for (const l of learners) {
    const h = l.history;
    for (let i = 1; i < h.length; i++) {
      for (let j = Math.max(0, i - p.coEngagementWindow); j < i; j++) {
        const a = h[j];
        const b = h[i];
        const key = a < b ? `${a}\u0000${b}` : `${b}\u0000${a}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
    }
  }
  p.discardPendingCoEngagement();
  for (let i = 0; i < entries.length; i += 500) await store.raisePopularityMany(entries.slice(i, i + 500));
  const pairs = [...counts].map(([k, by]) => {
    const i = k.indexOf('\u0000');
    return { a: k.slice(0, i), b: k.slice(i + 1), by };
  });
  for (let i = 0; i < pairs.length; i += 500) await store.raiseCoEngagement(pairs.slice(i, i + 500));
  return { popular: entries.length, pairs: pairs.length };
}
