import {
  quizRating,
  resourceKey,
  ReviewDeck,
  ReviewScheduler,
  withReviewSlots,
  type DueReview,
  type ReviewRating,
} from '../../models/review';
import type { RecommendedItem, ReviewState } from '../../serving/types';
import type { ItemTable } from '../model/item-table';
import type { InteractionEvent, QuizEvent } from '../../consumers/event-types';
import type { Learner } from './state';

/** Spaced review in the learner stage (config pipeline.reviewSlots / reviewSlotsWithin / reviewRetention). */
export interface LearnerReviewOptions {
  /** Reserved slots for due reviews in the served list; 0 = off. Default 2. */
  slots?: number;
  /** ... within the first this many positions. Default 10. */
  within?: number;
  /** FSRS target retention. Default 0.9. */
  retention?: number;
}

/**
 * What the learner stage does with FSRS: rate a learner's card on each quiz attempt (on the attempt's resource, or the
 * item when it has none) and on interactions flagged as a review, offer due resource cards in reserved slots of the
 * list, and publish the cards to the serving store (GET /v1/learners/{id}/reviews). The cards live in the learner's
 * state (Learner.reviews), so they are checkpointed and erased with it.
 */
export class LearnerReviews {
  readonly scheduler: ReviewScheduler;
  private readonly slots: number;
  private readonly within: number;

  constructor(o: LearnerReviewOptions = {}) {
    this.scheduler = new ReviewScheduler({ retention: o.retention });
    this.slots = o.slots ?? 2;
    this.within = o.within ?? 10;
  }

  /** A quiz attempt reviews its resource's card (or the item's); returns the rating given. */
  onQuiz(l: Learner, ev: QuizEvent): ReviewRating {
    const deck = (l.reviews ??= new ReviewDeck());
    const rating = quizRating({ correct: ev.correct, score: ev.score, responseTimeMs: ev.responseTimeMs }, deck.typicalResponseMs());
    if (ev.correct) deck.notePace(ev.responseTimeMs ?? 0);
    deck.rate(this.scheduler, ev.resourceId ? resourceKey(ev.resourceId) : `i:${ev.itemId}`, rating, ev.occurredAt);
    return rating;
  }

  /**
   * An interaction the event marks as a review (`review: true`) rates the resource's card: Again when the learner
   * skipped or disliked it, Good otherwise. Returns whether a card changed.
   */
  onInteraction(l: Learner, ev: InteractionEvent): boolean {
    if (!ev.review) return false;
    const rating: ReviewRating = ev.type === 'skip' || ev.type === 'dislike' ? 'again' : 'good';
    (l.reviews ??= new ReviewDeck()).rate(this.scheduler, resourceKey(ev.resourceId), rating, ev.occurredAt);
    return true;
  }

  /** The ranked list with the learner's due reviews (active catalogue resources) in the reserved slots. */
  slot(l: Learner, table: ItemTable, items: RecommendedItem[], now: number): RecommendedItem[] {
    if (this.slots <= 0 || !l.reviews || l.reviews.size === 0) return items;
    const due: DueReview[] = [];
    for (const d of l.reviews.due(this.scheduler, now, { resourcesOnly: true })) {
      const id = d.key.slice(2);
      const i = table.indexOf(id);
      if (i < 0 || table.active[i] !== 1) continue;
      const meta = table.meta[i];
      due.push({
        item: { resourceId: id, type: meta?.type, topics: meta?.topics, skills: meta?.skills },
        retrievability: d.retrievability,
      });
      if (due.length >= this.slots) break;
    }
    return withReviewSlots(items, due, { slots: this.slots, within: this.within });
  }

  /** The learner's cards as the serving store keeps them. */
  state(userId: string, l: Learner, updatedAt: number): ReviewState {
    const cards: ReviewState['cards'] = [];
    for (const [key, c] of l.reviews?.entries() ?? []) {
      cards.push({
        id: key.slice(2),
        kind: key.startsWith('r:') ? 'resource' : 'item',
        due: c.due,
        stability: c.stability,
        difficulty: c.difficulty,
        state: c.state,
        reps: c.reps,
        lapses: c.lapses,
        lastReview: c.last,
        scheduled: c.scheduled,
        step: c.step,
      });
    }
    return { userId, cards, updatedAt };
  }
}
