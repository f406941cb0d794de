import type { RecommendedItem } from '../../lib/serving/types';
import { computeFeatures } from './features';
import { mmrSelect } from './mmr';
import { reasonsFor } from './reasons';
import { DEFAULT_RANK_OPTIONS, type Candidate, type Features, type LearnerContext, type PredictSuccess, type RankOptions } from './types';

/** Options as given by callers: any subset, weights merged field by field. */
export type RankOptionsInput = Partial<Omit<RankOptions, 'weights'>> & { weights?: Partial<RankOptions['weights']> };

export function resolveRankOptions(input: RankOptionsInput = {}): RankOptions {
  return { ...DEFAULT_RANK_OPTIONS, ...input, weights: { ...DEFAULT_RANK_OPTIONS.weights, ...(input.weights ?? {}) } };
}

export interface RankInput {
  candidates: readonly Candidate[];
  learner: LearnerContext;
  /** Knowledge model's P(success); omitted = difficulty fit is neutral for every candidate. */
  predictSuccess?: PredictSuccess;
}

export interface RankResult {
  items: RecommendedItem[];
  /** Features of the returned items, same order (for explanations, debugging and tests). */
  features: Features[];
}

/**
 * The product ranker. Pure and deterministic: the same input gives the same list.
 * 1. drop completed resources (and duplicates);
 * 2. relevance = weighted collaborative percentile + content match to interests/recent resources + difficulty fit
 *    (P(success) near the target) + log popularity − a penalty for unmet prerequisites (demoted, not hidden: a learner
 *    may still want to look ahead);
 * 3. MMR over content vectors (or the candidates' `similarity` vectors) among the best `mmrPool × head` by relevance,
 *    so the list is not ten variants of the same course; `head` = `mmrHead` (default topN), the rest by relevance;
 * 4. reason codes for every item.
 */
export function rank(input: RankInput, options: RankOptionsInput = {}): RankResult {
  const o = resolveRankOptions(options);
  const seen = new Set<string>();
  const candidates = input.candidates.filter((c) => {
    if (input.learner.completed.has(c.resourceId) || seen.has(c.resourceId)) return false;
    seen.add(c.resourceId);
    return true;
  });
  const features = computeFeatures(candidates, input.learner, input.predictSuccess, o);
  // stable pre-selection by relevance, ties by id so candidate order never matters
  const order = candidates.map((_, i) => i).sort((a, b) => features[b].relevance - features[a].relevance || (candidates[a].resourceId < candidates[b].resourceId ? -1 : 1));
  const head = Math.min(o.topN, o.mmrHead ?? o.topN);
  const pool = order.slice(0, Math.max(head, head * o.mmrPool));
  let picked = o.mmrLambda >= 1 ? order.slice(0, head) : mmrSelect(pool.map((i) => features[i].relevance), pool.map((i) => candidates[i].similarity ?? candidates[i].content), head, o.mmrLambda).map((j) => pool[j]);
  if (head < o.topN) {
    // the tail after the diversified head: the remaining candidates by relevance
    const inHead = new Set(picked);
    picked = picked.concat(order.filter((i) => !inHead.has(i)).slice(0, o.topN - picked.length));
  }
  const reserve = Math.min(o.reserveNew ?? 0, o.topN);
  if (reserve > 0) {
    const explore = (i: number) => candidates[i].isNew === true && (features[i].interest?.cosine ?? 0) >= o.reasonCosine;
    const inList = new Set(picked);
    const have = picked.filter(explore).length;
    const keep = order.filter((i) => !inList.has(i) && explore(i)).slice(0, Math.max(0, reserve - have));
    if (keep.length > 0) {
      // make room at the end, never dropping a reserved one already listed
      let drop = picked.length + keep.length - o.topN;
      for (let r = picked.length - 1; r >= 0 && drop > 0; r--) {
        if (explore(picked[r])) continue;
        picked.splice(r, 1);
        drop--;
      }
      picked = picked.concat(keep);
    }
  }
  return {
    items: picked.map((i) => {
      const c = candidates[i];
      const item: RecommendedItem = { resourceId: c.resourceId, score: Math.round(features[i].relevance * 1e6) / 1e6, reasons: reasonsFor(c, features[i], o) };
      if (c.type !== undefined) item.type = c.type;
      if (c.topics) item.topics = [...c.topics];
      if (c.skills) item.skills = [...c.skills];
      return item;
    }),
    features: picked.map((i) => features[i]),
  };
}
