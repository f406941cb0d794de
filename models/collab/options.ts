/** Interaction kinds the collaborative model learns from (the learning.interactions schema plus quiz attempts). */
export type InteractionKind = 'view' | 'click' | 'dwell' | 'bookmark' | 'complete' | 'rating' | 'dislike' | 'skip' | 'quiz';

/** One interaction as the model sees it: external ids, event time in milliseconds. */
export interface Interaction {
  learnerId: string;
  resourceId: string;
  kind: InteractionKind;
  /** event time, ms since the epoch */
  timestamp: number;
  /** rating (1-5 scale, 0.5 steps allowed), dwell seconds, or quiz score in [0, 1]; absent otherwise */
  value?: number;
}

/** Options of the online collaborative model. */
export interface CollabOptions {
  /** latent factors per learner and per resource; default 32 */
  dim: number;
  /** SGD step size; default 0.05 */
  lr: number;
  /** L2 regularisation of factors (per update); default 0.01 */
  reg: number;
  /** L2 regularisation of biases (per update); default 0.001 */
  regBias: number;
  /** std of the N(0, std) factor initialisation; default 0.1 */
  initStd: number;
  /** sampled negatives per positive event; default 4 */
  negatives: number;
  /** confidence of each sampled negative relative to a weight-1 positive; default 0.25 */
  negativeWeight: number;
  /** half-life (ms) over which a resource's bias decays towards 0 when nobody engages with it, so the bias tracks
   * recent popularity; Infinity disables; default 60 days */
  itemBiasHalfLifeMs: number;
  /** half-life (ms) over which a learner's factors shrink towards 0 between their events (old taste fades);
   * Infinity disables; default 2 years */
  learnerHalfLifeMs: number;
  /** seed for initialisation and negative sampling; default 1 */
  seed: number;
  /** event-type weights; positive = implicit positive with that confidence, negative = negative feedback */
  weights: EventWeights;
}

/** Confidence per interaction kind. `rating` is resolved by {@link eventWeight} from the value. */
export interface EventWeights {
  complete: number;
  bookmark: number;
  click: number;
  view: number;
  dwell: number;
  quiz: number;
  dislike: number;
  skip: number;
  /** weight of a rating >= 4 (scaled up to 1.5x for a 5) */
  ratingPositive: number;
  /** weight of a rating < 4 (0 = ignore low ratings, negative = treat them as negative feedback) */
  ratingLow: number;
}

export const DEFAULT_WEIGHTS: EventWeights = {
  complete: 1,
  bookmark: 0.7,
  click: 0.4,
  view: 0.15,
  dwell: 0.3,
  quiz: 0.6,
  dislike: -1,
  skip: -0.3,
  ratingPositive: 1,
  ratingLow: -0.2,
};

export const DEFAULT_COLLAB_OPTIONS: CollabOptions = {
  dim: 32,
  lr: 0.05,
  reg: 0.01,
  regBias: 0.001,
  initStd: 0.1,
  negatives: 4,
  negativeWeight: 0.25,
  itemBiasHalfLifeMs: 60 * 86400_000,
  learnerHalfLifeMs: 2 * 365 * 86400_000,
  seed: 1,
  weights: DEFAULT_WEIGHTS,
};

export function resolveOptions(partial: Partial<CollabOptions> = {}): CollabOptions {
  return { ...DEFAULT_COLLAB_OPTIONS, ...partial, weights: { ...DEFAULT_WEIGHTS, ...(partial.weights ?? {}) } };
}

/**
 * Signed confidence of one interaction: > 0 positive, < 0 negative, 0 ignored.
 * complete > bookmark > click > view; dislike and skip negative; ratings >= 4 positive.
 */
export function eventWeight(ev: Pick<Interaction, 'kind' | 'value'>, w: EventWeights): number {
  switch (ev.kind) {
    case 'rating': {
      const r = ev.value ?? 0;
      if (r >= 4) return w.ratingPositive * (1 + (r - 4) * 0.5);
      return w.ratingLow;
    }
    case 'dwell': {
      // longer dwell, more confidence, saturating after ~5 minutes
      const secs = Math.max(0, ev.value ?? 0);
      return w.dwell * Math.min(1, secs / 300);
    }
    case 'quiz':
      return w.quiz;
    default:
      return w[ev.kind];
  }
}
