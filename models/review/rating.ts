import type { ReviewRating } from './scheduler';

/** What a quiz attempt tells the scheduler. */
export interface RatedAttempt {
  correct: boolean;
  /** Partial credit 0..1, when the platform gives it. */
  score?: number | null;
  /** Time to answer (ms); 0 or undefined = unknown. */
  responseTimeMs?: number;
}

/** A correct answer this many times faster than the learner's typical one is rated Easy, this many times slower Hard. */
export const EASY_PACE = 0.5;
export const HARD_PACE = 2;

/**
 * The FSRS rating of a quiz attempt: wrong → Again; correct with partial credit (score < 1) → Hard; correct and much
 * faster / slower than the learner's own typical correct answer → Easy / Hard (only when the event has a response time
 * and the learner has a typical one: absolute times differ too much between items and platforms); otherwise Good.
 */
export function quizRating(a: RatedAttempt, typicalResponseMs?: number): ReviewRating {
  if (!a.correct) return 'again';
  if (a.score !== undefined && a.score !== null && a.score < 1) return 'hard';
  const rt = a.responseTimeMs ?? 0;
  if (rt > 0 && typicalResponseMs !== undefined && typicalResponseMs > 0) {
    if (rt < EASY_PACE * typicalResponseMs) return 'easy';
    if (rt > HARD_PACE * typicalResponseMs) return 'hard';
  }
  return 'good';
}
