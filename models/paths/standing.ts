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
  const practised = !mastered && attempts !== undefined && skills.length > 0 && skills.every((s) => (attempts.get(s) ?? 0) > 0);
  return { pSuccess: p, mastered, ...(completed ? { completed } : {}), ...(practised ? { practised } : {}) };
}
