/**
 * Deterministic assignment: a learner's variant is a pure function of (experiment id, learner id, weights), so the
 * learner stage, the read API, the served-path evaluation and the report agree without sharing any state, and a
 * restart or a rebalance never moves a learner. The hash is FNV-1a (32 bit) over `<experimentId>\0<userId>` followed
 * by a murmur3 finaliser (FNV alone leaves its low bits poorly mixed for ids that differ in their last character);
 * an experiment id is part of the key so two experiments split learners independently.
 */
import { hash32 } from '../random/hash';
import type { Experiment, Variant } from './types';

export { hash32 };

/** The learner's point in [0, 1) for the experiment. */
export function bucket(experimentId: string, userId: string): number {
  return hash32(`${experimentId}\u0000${userId}`) / 2 ** 32;
}

/** The variant the learner is in: variants cover [0, 1) in configuration order, each by its share of the weights. */
export function assignVariant(experiment: Pick<Experiment, 'id' | 'variants'>, userId: string): Variant {
  const total = experiment.variants.reduce((s, v) => s + v.weight, 0);
  const x = bucket(experiment.id, userId) * total;
  let acc = 0;
  for (const v of experiment.variants) {
    acc += v.weight;
    if (x < acc) return v;
  }
  return experiment.variants[experiment.variants.length - 1];
}

/** The one active experiment of a configuration (the schema allows at most one), or undefined. */
export function activeExperiment(experiments: readonly Experiment[]): Experiment | undefined {
  return experiments.find((e) => e.active);
}
