/**
 * A/B experiments (issue 21): the shapes the pure core works with. The configuration (lib/config/schema.ts,
 * `experiments`) is validated into these.
 */

/** What a variant changes in the learner stage's ranking (pipelines/learner/rank.ts); absent = as configured. */
export interface VariantRanking {
  /** false = the recommender's relevance alone (no difficulty fit, interests, exploration or MMR). */
  learningLayer?: boolean;
  /** MMR trade-off in models/ranking: 1 = relevance only (MMR off), lower = more diverse head. */
  mmrLambda?: number;
  /** Exploration: new resources matching an interest kept in the list whatever their relevance. */
  reserveNew?: number;
  /** Ranker weights (models/ranking RankWeights), merged over the stage's own. */
  weights?: Record<string, number>;
  /** Target P(success) of the difficulty fit. */
  targetSuccess?: number;
}

export interface Variant {
  /** [a-z0-9_-], unique within the experiment; goes into recommIds and metric labels. */
  name: string;
  /** Relative share of learners (any positive number; shares are weight / sum of weights). */
  weight: number;
  /** Ranking changes of this variant; none = the control (serves what no experiment serves). */
  ranking?: VariantRanking;
}

export interface Experiment {
  /** [a-z0-9_-], at most 32 chars. */
  id: string;
  description?: string;
  /** false: nobody is assigned, lists are ranked as configured without the experiment. */
  active: boolean;
  variants: Variant[];
}
