/**
 * The recommId and variant of a served list (issue 21). A list the learner stage ranked under a variant carries
 * that tag (RecommendationList.ref); it counts only while its experiment is the active one and still has that
 * variant. A fallback page (no list, or a list from before the experiment) names the learner's assigned variant: the
 * learner belongs to it whatever served them (intention to treat), and their clicks on it count for it.
 */
import { activeExperiment, assignVariant } from '../../models/experiments/assign';
import { makeRecommId, type ListRef } from '../../models/experiments/recomm-id';
import type { Experiment } from '../../models/experiments/types';

export interface ServedTag {
  /** Quoted by impression and click events (POST /v1/events) to attribute them to this list. */
  recommId: string;
  /** The active experiment and the learner's variant in it; null outside any experiment. */
  experiment: string | null;
  variant: string | null;
}

export function tagServedList(
  experiments: readonly Experiment[],
  userId: string,
  list: { generatedAt: number | null; modelVersion: string | null; ref?: ListRef | null },
): ServedTag {
  const active = activeExperiment(experiments);
  let ref: ListRef | undefined;
  if (active) {
    const stored = list.ref;
    ref =
      stored && stored.experiment === active.id && active.variants.some((v) => v.name === stored.variant)
        ? stored
        : { experiment: active.id, variant: assignVariant(active, userId).name };
  }
  return {
    recommId: makeRecommId(userId, list.generatedAt, list.modelVersion, ref),
    experiment: ref?.experiment ?? null,
    variant: ref?.variant ?? null,
  };
}
