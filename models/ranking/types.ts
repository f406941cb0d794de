/** A stable, machine-readable reason code plus a human text, e.g. {code:'next-after', text:'Next after Algebra I', ref:'r12'}. */
export interface Reason {
  code:
    | 'similar-learners'
    | 'matches-interest'
    | 'right-level'
    | 'next-after'
    | 'popular'
    | 'popular-in-interest'
    | 'content-similar'
    | 'co-engaged'
    | 'new-resource'
    | 'because-you-did'
    | 'due-for-review';
  text: string;
  /** Resource id, skill or topic the reason refers to. */
  ref?: string;
}

export interface RecommendedItem {
  resourceId: string;
  score: number;
  reasons: Reason[];
  /** Catalogue facts copied in so server-side filters (type, topic, skill) need no extra round trip. */
  type?: string;
  topics?: string[];
  skills?: string[];
}

/** One resource that may be recommended, with everything the ranker needs already looked up. */
export interface Candidate {
  resourceId: string;
  /**
   * The recommender's relevance (models/recommender: transitions + recent popularity + MF, max-normalised, about
   * [0, 1.2]); the learning layer re-ranks on top of it. Undefined = 0.
   */
  relevance?: number;
  /** The recent resource whose transitions contribute most to `relevance` (always one of the learner's own). */
  because?: { resourceId: string; title?: string };
  /** Collaborative score (the collab model's logit, any scale); undefined when the model does not know the resource. */
  collabScore?: number;
  /** Unit-length content vector (models/content); undefined when the text was not embedded. */
  content?: Float32Array;
  /** Decayed popularity, >= 0 (any scale: the ranker uses log-scaled ratios). */
  popularity?: number;
  /** Resource ids that should be completed (or mastered) first. */
  prerequisites?: readonly string[];
  /** Skills the resource trains; the first one names the skill in a right-level reason. */
  skills?: readonly string[];
  title?: string;
  /** Passed through to the recommendation (server-side filters). */
  type?: string;
  topics?: readonly string[];
  /** True while the resource has too few events for its collaborative factor to mean much (cold start). */
  isNew?: boolean;
  /**
   * An interest match found without vectors (e.g. a catalogue topic equal to a declared interest), on the cosine
   * scale; the stronger of it and the content match counts. For callers that have no embeddings at ranking time.
   */
  interestMatch?: { label: string; cosine: number };
  /** Vector MMR compares candidates by, as cosine (e.g. collaborative factors); default `content`. */
  similarity?: Float32Array;
}

/** What the ranker knows about the learner. */
export interface LearnerContext {
  userId: string;
  /** Resources the learner completed: never recommended again, and satisfy prerequisites. */
  completed: ReadonlySet<string>;
  /** Skills the learner has quiz attempts in: a "right level for <skill>" reason names only one of these. */
  practisedSkills?: ReadonlySet<string>;
  /** Resources whose content the learner has mastered without completing them (e.g. via quizzes): satisfy prerequisites. */
  mastered?: ReadonlySet<string>;
  /** Declared interests with their content vectors (embedded interest strings). */
  interests?: readonly { label: string; vector: Float32Array }[];
  /** Recently engaged resources, most recent first, with content vectors where known. */
  recent?: readonly { resourceId: string; title?: string; vector?: Float32Array }[];
}

/**
 * Expected probability that the learner succeeds on the resource (knowledge model), or undefined when it has no
 * estimate (no skills, no quiz evidence). `candidate` is the one being scored (its skills, without a lookup by id).
 */
export type PredictSuccess = (userId: string, resourceId: string, candidate?: Candidate) => number | undefined;

/** Weights of the relevance components; each component is in [0, 1] before weighting. */
export interface RankWeights {
  /** the recommender's relevance as given (Candidate.relevance) */
  relevance: number;
  /** percentile of the collaborative score among the candidates */
  collab: number;
  /**
   * best cosine to a declared interest (negative = 0). Kept apart from `recent`: a recent resource's text is long and
   * matches its own kind far more strongly (cosine ~0.7) than a two-word interest matches anything (~0.4), so one
   * shared max would let the last course drown the stated interests.
   */
  interest: number;
  /** best cosine to one of the learner's recent resources (negative = 0) */
  recent: number;
  /** closeness of the predicted success to the target */
  difficulty: number;
  /** log popularity relative to the most popular candidate */
  popularity: number;
}

export interface RankOptions {
  /** Length of the returned list; default 20. */
  topN: number;
  /** Target probability of success for difficulty fit (config model.targetSuccess); default 0.75. */
  targetSuccess: number;
  /** Width (in probability) of the difficulty-fit bell around the target; default 0.15. */
  difficultyWidth: number;
  weights: RankWeights;
  /** Subtracted from relevance times the fraction of unmet prerequisites: demotes, does not exclude; default 1.2 (more than the whole collaborative component, so a ready resource the model likes less still goes first). */
  prerequisitePenalty: number;
  /** MMR trade-off: 1 = pure relevance, 0 = pure diversity; default 0.75. */
  mmrLambda: number;
  /** Only the best `mmrPool` × (mmrHead or topN) candidates by relevance enter MMR (bounds its O(pool × topN) cost); default 5. */
  mmrPool: number;
  /**
   * MMR picks only the first `mmrHead` items (the visible head); the rest of the list follows in relevance order.
   * MMR costs O(pool × head × dim), so a long cached list (top-100) diversifies its first screen only. Default: topN.
   */
  mmrHead?: number;
  /**
   * Exploration: up to this many new resources (`isNew`) that match one of the learner's interests are kept in the
   * list even when their relevance would not make it (they replace the end of the list). A new resource's
   * collaborative factor means little, so without this it can lose to every established resource of the same
   * interest and never collect the events that would teach the model about it. Default 0.
   */
  reserveNew?: number;
  /** Cosine above which a content match becomes a reason; default 0.35. */
  reasonCosine: number;
  /** Popularity percentile above which "popular" becomes a reason; default 0.9. */
  reasonPopularPercentile: number;
  /** Collab percentile above which "similar learners" becomes a reason; default 0.8. */
  reasonCollabPercentile: number;
  /** |p − target| below which "right level" becomes a reason; default 0.1. */
  reasonLevelDistance: number;
  /**
   * For the fallback reason of a recommender-scored candidate: the weights its collaborative percentile and its
   * popularity have inside the relevance (models/recommender's collabWeight and popularityWeight); default 0.005 / 0.15.
   */
  relevanceCollabShare: number;
  relevancePopularityShare: number;
}

export const DEFAULT_RANK_OPTIONS: RankOptions = {
  topN: 20,
  targetSuccess: 0.75,
  difficultyWidth: 0.15,
  weights: { relevance: 1, collab: 1, interest: 1, recent: 0.5, difficulty: 0.5, popularity: 0.3 },
  prerequisitePenalty: 1.2,
  mmrLambda: 0.75,
  mmrPool: 5,
  reasonCosine: 0.35,
  reasonCollabPercentile: 0.8,
  reasonPopularPercentile: 0.9,
  reasonLevelDistance: 0.1,
  relevanceCollabShare: 0.005,
  relevancePopularityShare: 0.15,
};

/** Per-candidate features, exposed for explanations and tests. */
export interface Features {
  collab: number | undefined;
  /** best cosine to an interest, and which one (undefined: no interests or no content vector) */
  interest?: { label: string; cosine: number };
  /** best cosine to a recent resource, and which one */
  recent?: { resourceId: string; title?: string; cosine: number };
  success: number | undefined;
  difficulty: number | undefined;
  popularity: number;
  /** percentile of the popularity among the candidates (ties share, so an all-equal catalogue gives 0.5) */
  popularityPercentile: number;
  unmetPrerequisites: number;
  /** a prerequisite satisfied by a recent resource: "next after Z" */
  nextAfter?: { resourceId: string; title?: string };
  relevance: number;
}
