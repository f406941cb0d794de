/**
 * A learner's standing on a resource from the per-skill knowledge the learner stage stores (P(correct) on an average
 * item of each skill) and the completed set. Pure.
 */
import type { Standing } from './planner';

/**
 * Mastery threshold on P(success): 0.8, the "80 % correct" convention of mastery learning (Bloom; the mastery
 * criterion most intelligent tutors use as a starting point). Configurable per call.
 */
export const DEFAULT_MASTERY_THRESHOLD = 0.8;

/**
 * P(success) on a resource training `skills`: the product of the skills' masteries (a resource exercising several
 * skills needs all of them, taken as independent), null when a skill has no estimate or the resource names none.
 * Mastered = completed, or P(success) ≥ threshold. With `attempts` (answers per skill), a resource that is not
 * mastered although the learner answered every one of its skills is marked `practised` (the planner retries it after
 * the steps that are new to the learner).
 */
export function standingOf(
  skills: readonly string[],
  mastery: ReadonlyMap<string, number>,
  completed: boolean,
  threshold = DEFAULT_MASTERY_THRESHOLD,
  attempts?: ReadonlyMap<string, number>,
): Standing {
  let p: number | null = null;
  if (skills.length > 0) {
    let prod = 1;
    for (const s of skills) {
      const m = mastery.get(s);
      if (m === undefined) {
        prod = NaN;
        break;
      }
      prod *= m;
    }
    p = Number.isNaN(prod) ? null : prod;
  }
  const mastered = completed || (p !== null && p >= threshold);
  // practised and still below the threshold: every skill of the resource answered at least once
  const answers = attempts !== undefined && skills.length > 0 ? Math.min(...skills.map((s) => attempts.get(s) ?? 0)) : undefined;
  const practised = !mastered && answers !== undefined && answers > 0;
  return {
    pSuccess: p,
    mastered,
    ...(completed ? { completed } : {}),
    ...(practised ? { practised } : {}),
    ...(answers !== undefined ? { answers } : {}),
  };
}

/**
 * When a failing step brings a prerequisite that looks mastered back as a review step (prerequisiteToReview). The
 * knowledge model holds one estimate per skill and does not lower a prerequisite's mastery when what builds on it fails;
 * the planner reads that evidence itself. Chosen on the simulator's tuning seeds 20-24 (docs/evaluation.md): failing
 * below 0.4 / 0.5 / 0.6 / 0.8 gave path / most-popular at 20 steps 1.69 / 1.70 / 1.70 / 1.62× (mean of five seeds),
 * thin at 1 or 2 answers 1.70 / 1.70×.
 */
export interface ReviewRule {
  /**
   * A practised step below this P(success) is failing: more likely answered wrong than right next. Default 0.5.
   */
  failingBelow: number;
  /**
   * A prerequisite mastered on at most this many answers rests on thin evidence: one right answer is also what a
   * guess gives. Default 1; after its review it has two, so the same prerequisite is not brought back again and again.
   */
  thinAnswers: number;
}

export const DEFAULT_REVIEW_RULE: ReviewRule = { failingBelow: 0.5, thinAnswers: 1 };

/**
 * The prerequisite to review before retrying `step`, a step the learner practised and is failing although every
 * prerequisite looks mastered: the weakest (lowest P(success)) of those mastered on thin evidence, or null. Completed
 * prerequisites are never in doubt. Why: with every prerequisite mastered a step teaches most of the time, so a
 * failing one more likely sits behind a prerequisite whose single right answer was a guess; the planner may not offer
 * a mastered resource, so the caller marks this one unmastered (Standing.review) and it becomes a step.
 */
export function prerequisiteToReview(
  step: Standing,
  prerequisites: readonly { id: string; standing: Standing }[],
  rule: ReviewRule = DEFAULT_REVIEW_RULE,
): string | null {
  if (!step.practised || step.pSuccess === null || step.pSuccess >= rule.failingBelow) return null;
  let best: { id: string; p: number } | null = null;
  for (const q of prerequisites) {
    const s = q.standing;
    if (!s.mastered) return null; // an unmastered prerequisite explains the failure, and is a step already
    if (s.completed || s.pSuccess === null || (s.answers ?? 0) > rule.thinAnswers) continue;
    if (!best || s.pSuccess < best.p) best = { id: q.id, p: s.pSuccess };
  }
  return best?.id ?? null;
}
