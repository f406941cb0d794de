/**
 * The numeric event stream that prequential evaluation runs on. Dataset readers map external ids to dense indices in
 * order of first appearance, so index order is also "seen earlier" order (used for deterministic tie-breaking).
 */
export interface StreamEvent {
  /** dense learner index */
  user: number;
  /** dense resource index */
  item: number;
  /** event time, seconds since the epoch */
  t: number;
  /** interaction kind; movielens events are all 'rating' */
  kind: EventKind;
  /** rating value (0.5 to 5 for movielens) or other magnitude; NaN when the kind has none */
  value: number;
}

export type EventKind = 'view' | 'click' | 'dwell' | 'bookmark' | 'complete' | 'rating' | 'dislike' | 'skip' | 'quiz';

/** A recommender that can be evaluated test-then-learn. */
export interface StreamRecommender {
  readonly name: string;
  /**
   * Write a score for every item in [0, nItems) into `out` (higher is better). Called before `learn` for the same
   * event; must not change model state. Excluding already-seen items is the harness's job.
   */
  score(user: number, out: Float64Array, nItems: number, t: number): void;
  /** Learn from one event (every event, positive or not). */
  learn(ev: StreamEvent): void;
}
