/**
 * Shapes shared by every knowledge-tracing model (the full model and the baselines it is judged against).
 * A quiz attempt is the only thing these models learn from.
 */

/** One answer of one learner to one assessment item. */
export interface QuizAttempt {
  userId: string;
  itemId: string;
  /** Skills (knowledge components) the item exercises; may be empty (then only learner + item terms apply). */
  skills: readonly string[];
  /**
   * Outcome in [0, 1]: 1 = correct, 0 = wrong. Values in between are soft labels (e.g. a score / 100); the models fit
   * them with the same log-loss gradient.
   */
  correct: number;
  /** Epoch ms; optional. Datasets without clocks (DKVMN sequences) leave it out and order alone defines time. */
  timestamp?: number;
}

/** Anything that predicts P(correct) before the answer and then learns from it (prequential protocol). */
export interface KnowledgePredictor {
  readonly name: string;
  /** P(correct) for this attempt given everything learned so far. Must not change state. */
  predict(attempt: QuizAttempt): number;
  /** Learn from the attempt's outcome. */
  update(attempt: QuizAttempt): void;
}

export interface SkillMastery {
  skill: string;
  /** P(correct) on an item of the skill (items weighted by their share of the skill's answers), 0..1. */
  mastery: number;
  /** Standard deviation of the ability estimate (logit units). */
  uncertainty: number;
  attempts: number;
}
