/**
 * Spaced review with FSRS, through ts-fsrs (the maintained reference implementation of the scheduler: its default
 * weights are fitted on hundreds of millions of real reviews, and its stability / difficulty updates have many
 * subtle cases, same-day reviews and lapses among them, that a rewrite would get wrong without the data to notice).
 * This file only converts between our compact card (numbers, epoch ms) and ts-fsrs's Card (Dates).
 */
import type * as TsFsrs from 'ts-fsrs' with { 'resolution-mode': 'require' };
import type { Card, FSRS, Grade } from 'ts-fsrs' with { 'resolution-mode': 'require' };

// ts-fsrs ships CommonJS beside its ES module, but its one .d.ts sits in a "type": "module" package, which a
// CommonJS project cannot import by value: the types come from the declaration, the values from its CommonJS build.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { createEmptyCard, forgetting_curve, fsrs, generatorParameters, Rating, State } = require('ts-fsrs') as typeof TsFsrs;

/** A learner's card for one reviewed thing (a resource or a quiz item), as kept in learner state. */
export interface ReviewCard {
  /** Epoch ms when the card is due for review. */
  due: number;
  /** FSRS memory stability (days: the interval after which retrievability has fallen to 90 %). */
  stability: number;
  /** FSRS difficulty, 1..10. */
  difficulty: number;
  reps: number;
  lapses: number;
  /** FSRS state: 0 new, 1 learning, 2 review, 3 relearning. */
  state: number;
  /** Epoch ms of the last review. */
  last: number;
  /** Days scheduled at the last review (ts-fsrs needs it for its next step). */
  scheduled: number;
  /** (Re)learning step index (ts-fsrs short-term steps). */
  step: number;
}

export type ReviewRating = 'again' | 'hard' | 'good' | 'easy';

const RATING: Record<ReviewRating, Grade> = { again: Rating.Again, hard: Rating.Hard, good: Rating.Good, easy: Rating.Easy };

export interface ReviewSchedulerOptions {
  /** Target probability of recall at the due date (FSRS request_retention). Default 0.9. */
  retention?: number;
  /** Longest interval in days. Default 365. */
  maximumIntervalDays?: number;
}

/** Rates cards and tells their retrievability: a thin, deterministic (no fuzz) wrapper of ts-fsrs. */
export class ReviewScheduler {
  private readonly f: FSRS;
  private readonly w: readonly number[];

  constructor(o: ReviewSchedulerOptions = {}) {
    // no fuzz: a replay of the same events must give the same schedule (crash-equivalence, exactly-once tests)
    const params = generatorParameters({
      enable_fuzz: false,
      request_retention: o.retention ?? 0.9,
      maximum_interval: o.maximumIntervalDays ?? 365,
    });
    this.f = fsrs(params);
    this.w = params.w;
  }

  /** The card after a review rated `rating` at `at` (epoch ms); `card` undefined = first review. */
  rate(card: ReviewCard | undefined, rating: ReviewRating, at: number): ReviewCard {
    const now = new Date(at);
    const before = card ? toFsrs(card) : createEmptyCard(now);
    // a review stamped before the last one (clock skew between devices) counts as at the last one
    const when = card && at < card.last ? new Date(card.last) : now;
    const next = this.f.next(before, when, RATING[rating]).card;
    return fromFsrs(next, when.getTime());
  }

  /**
   * Probability of recall at `at` (epoch ms), 0..1; 1 right after a review. FSRS's forgetting curve (ts-fsrs
   * `forgetting_curve`, its default weights) at the elapsed time in fractional days: ts-fsrs's own
   * get_retrievability counts whole days, which makes every same-day re-attempt 1.0 and tells them apart not at all.
   */
  retrievability(card: ReviewCard, at: number): number {
    if (card.state === (State.New as number)) return 0;
    return forgetting_curve(this.w, Math.max(0, at - card.last) / 86_400_000, card.stability);
  }
}

function toFsrs(c: ReviewCard): Card {
  return {
    due: new Date(c.due),
    stability: c.stability,
    difficulty: c.difficulty,
    elapsed_days: 0,
    scheduled_days: c.scheduled,
    learning_steps: c.step,
    reps: c.reps,
    lapses: c.lapses,
    state: c.state,
    last_review: new Date(c.last),
  };
}

function fromFsrs(c: Card, at: number): ReviewCard {
  return {
    due: c.due.getTime(),
    stability: c.stability,
    difficulty: c.difficulty,
    reps: c.reps,
    lapses: c.lapses,
    state: c.state,
    last: c.last_review?.getTime() ?? at,
    scheduled: c.scheduled_days,
    step: c.learning_steps,
  };
}
