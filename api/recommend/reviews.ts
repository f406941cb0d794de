import { ReviewScheduler } from '../../models/review/scheduler';
import type { ReviewEntry, ServingStore } from '../../serving/types';

/** One due card as GET /v1/learners/{id}/reviews answers it. */
export interface DueReviewOut {
  id: string;
  kind: ReviewEntry['kind'];
  /** Epoch ms it fell due. */
  due: number;
  /** FSRS probability of recall now, 0..1 (the lower, the more urgent). */
  retrievability: number;
  stability: number;
  difficulty: number;
  reps: number;
  lapses: number;
  lastReview: number;
}

export interface ReviewsOut {
  userId: string;
  /** The clock the answer was computed at (epoch ms). */
  now: number;
  /** When the learner stage last wrote the cards; null = no review state for the learner. */
  updatedAt: number | null;
  /** Cards the learner has (due or not). */
  cards: number;
  /** Due cards (due <= now), the least likely to be recalled first, at most `limit`. */
  due: DueReviewOut[];
  /** Due cards in all (`due` holds the first `limit`). */
  totalDue: number;
  /** Earliest due time of a card not yet due (epoch ms), or null. */
  nextDue: number | null;
}

// retrievability depends only on the stability and the time since the last review (the retention target moves
// due dates, not the forgetting curve), so the read API needs no scheduler options
const scheduler = new ReviewScheduler();

/** What is due for review now: the learner stage's FSRS cards (serving store), due-ness taken at `now`. */
export async function learnerReviews(store: ServingStore, q: { userId: string; limit: number; now: number }): Promise<ReviewsOut> {
  const state = await store.getReviews(q.userId);
  const due: DueReviewOut[] = [];
  let nextDue: number | null = null;
  for (const c of state?.cards ?? []) {
    if (c.due > q.now) {
      nextDue = nextDue === null ? c.due : Math.min(nextDue, c.due);
      continue;
    }
    const retrievability = scheduler.retrievability(
      {
        due: c.due,
        stability: c.stability,
        difficulty: c.difficulty,
        reps: c.reps,
        lapses: c.lapses,
        state: c.state,
        last: c.lastReview,
        scheduled: c.scheduled,
        step: c.step,
      },
      q.now,
    );
    due.push({
      id: c.id,
      kind: c.kind,
      due: c.due,
      retrievability,
      stability: c.stability,
      difficulty: c.difficulty,
      reps: c.reps,
      lapses: c.lapses,
      lastReview: c.lastReview,
    });
  }
  due.sort((a, b) => a.retrievability - b.retrievability || a.due - b.due || (a.id < b.id ? -1 : 1));
  return {
    userId: q.userId,
    now: q.now,
    updatedAt: state?.updatedAt ?? null,
    cards: state?.cards.length ?? 0,
    due: due.slice(0, q.limit),
    totalDue: due.length,
    nextDue,
  };
}
