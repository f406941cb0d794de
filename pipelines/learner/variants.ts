/**
 * The learner stage's rankers under an experiment (issue 21): one LearnerRanker per variant that changes ranking,
 * the stage's own ranker for the control and for everyone when no experiment is active (then nothing here runs and
 * the lists are exactly those ranked without experiments). A learner's variant is the deterministic assignment of
 * models/experiments, so every instance and every restart ranks a learner under the same variant.
 */
import { activeExperiment, assignVariant } from '../../models/experiments/assign';
import type { ListRef } from '../../models/experiments/recomm-id';
import type { Experiment, VariantRanking } from '../../models/experiments/types';
import type { LearnerRankOptions } from './rank';

export type BaseRankOptions = Omit<LearnerRankOptions, 'topN'>;

/** The stage's ranking options with a variant's changes on top. */
export function variantRankOptions(base: BaseRankOptions | undefined, r: VariantRanking): BaseRankOptions {
  const out: BaseRankOptions = { ...base, rank: { ...base?.rank, weights: { ...base?.rank?.weights, ...r.weights } } };
  if (r.learningLayer !== undefined) out.learningLayer = r.learningLayer;
  if (r.reserveNew !== undefined) out.reserveNew = r.reserveNew;
  if (r.mmrLambda !== undefined) out.rank!.mmrLambda = r.mmrLambda;
  if (r.targetSuccess !== undefined) out.rank!.targetSuccess = r.targetSuccess;
  return out;
}

export class VariantRankers<R> {
  private readonly experiment: Experiment | undefined;
  private readonly byVariant = new Map<string, R>();

  /** `make` builds a ranker from options; `base` is the stage's own ranker (control, and no experiment). */
  constructor(
    experiments: readonly Experiment[] | undefined,
    baseOptions: BaseRankOptions | undefined,
    make: (o: BaseRankOptions) => R,
    private readonly base: R,
  ) {
    this.experiment = activeExperiment(experiments ?? []);
    for (const v of this.experiment?.variants ?? [])
      if (v.ranking) this.byVariant.set(v.name, make(variantRankOptions(baseOptions, v.ranking)));
  }

  /** The ranker for the learner and the experiment/variant their list is ranked under (none without an experiment). */
  for(userId: string): { ranker: R; ref?: ListRef } {
    if (!this.experiment) return { ranker: this.base };
    const v = assignVariant(this.experiment, userId);
    return { ranker: this.byVariant.get(v.name) ?? this.base, ref: { experiment: this.experiment.id, variant: v.name } };
  }

  /** Every ranker besides the base (for notifications every ranker needs). */
  others(): Iterable<R> {
    return this.byVariant.values();
  }
}
