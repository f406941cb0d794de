/**
 * Frozen copy of models/ranking (rank, features, mmr, reasons) as of main b55a36f, before rank() was optimised: the
 * reference test/unit/ranking-equivalence.test.ts holds the optimised ranker to (same ids, order, scores, reasons
 * and features). Not used by the product; do not "fix" it, it is the definition of the expected output.
 */
import type { RecommendedItem } from '../../../serving/types';
import { scoreCandidates } from './features';
import { mmrSelect } from './mmr';
import { reasonsFor } from './reasons';
import {
  DEFAULT_RANK_OPTIONS,
  type Candidate,
  type Features,
  type LearnerContext,
  type PredictSuccess,
  type RankOptions,
} from '../../../models/ranking/types';

/** Options as given by callers: any subset, weights merged field by field. */
export type RankOptionsInput = Partial<Omit<RankOptions, 'weights'>> & { weights?: Partial<RankOptions['weights']> };

export function resolveRankOptions(input: RankOptionsInput = {}): RankOptions {
  return { ...DEFAULT_RANK_OPTIONS, ...input, weights: { ...DEFAULT_RANK_OPTIONS.weights, ...(input.weights ?? {}) } };
}

export interface RankInput<C extends Candidate = Candidate> {
  candidates: readonly C[];
  learner: LearnerContext;
  /** Knowledge model's P(success); omitted = difficulty fit is neutral for every candidate. */
  predictSuccess?: PredictSuccess;
  /**
   * MMR's vector of a candidate, asked only for the few that enter MMR (default `similarity ?? content`): lets a
   * caller hand out e.g. a view of a factor row instead of building a vector for every candidate.
   */
  similarity?: (c: C) => ArrayLike<number> | undefined;
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
 * Everything that can reach the list is computed exactly; P(success), features and reasons are not computed for
 * candidates that cannot (see scoreCandidates), which changes nothing in the result.
 */
export function rank<C extends Candidate>(input: RankInput<C>, options: RankOptionsInput = {}): RankResult {
  const o = resolveRankOptions(options);
  const seen = new Set<string>();
  const candidates: C[] = [];
  for (const c of input.candidates) {
    if (input.learner.completed.has(c.resourceId) || seen.has(c.resourceId)) continue;
    seen.add(c.resourceId);
    candidates.push(c);
  }
  const head = Math.min(o.topN, o.mmrHead ?? o.topN);
  const poolSize = Math.max(head, head * o.mmrPool);
  const reserve = Math.min(o.reserveNew ?? 0, o.topN);
  // every listed item is among the best max(topN, pool) by relevance, or an exploration pick
  const keep = Math.max(o.topN, poolSize);
  const explore = (i: number, interestCosine: number) =>
    candidates[i].isNew === true && (Number.isNaN(interestCosine) ? 0 : interestCosine) >= o.reasonCosine;
  const s = scoreCandidates(candidates, input.learner, input.predictSuccess, o, keep, reserve > 0 ? explore : undefined);
  const rel = s.relevance;
  const order: number[] = [];
  for (let i = 0; i < candidates.length; i++) if (s.scored[i] === 1) order.push(i);
  // stable pre-selection by relevance, ties by id so candidate order never matters
  order.sort((a, b) => rel[b] - rel[a] || (candidates[a].resourceId < candidates[b].resourceId ? -1 : 1));
  const pool = order.slice(0, poolSize);
  const vectorOf = input.similarity ?? ((c: C) => c.similarity ?? c.content);
  let picked =
    o.mmrLambda >= 1
      ? order.slice(0, head)
      : mmrSelect(
          pool.map((i) => rel[i]),
          pool.map((i) => vectorOf(candidates[i])),
          head,
          o.mmrLambda,
        ).map((j) => pool[j]);
  if (head < o.topN) {
    // the tail after the diversified head: the remaining candidates by relevance
    const inHead = new Set(picked);
    picked = picked.concat(order.filter((i) => !inHead.has(i)).slice(0, o.topN - picked.length));
  }
  if (reserve > 0) {
    const isExplore = (i: number) => explore(i, s.interestCosine[i]);
    const inList = new Set(picked);
    const have = picked.filter(isExplore).length;
    const extra = order.filter((i) => !inList.has(i) && isExplore(i)).slice(0, Math.max(0, reserve - have));
    if (extra.length > 0) {
      // make room at the end, never dropping a reserved one already listed
      let drop = picked.length + extra.length - o.topN;
      for (let r = picked.length - 1; r >= 0 && drop > 0; r--) {
        if (isExplore(picked[r])) continue;
        picked.splice(r, 1);
        drop--;
      }
      picked = picked.concat(extra);
    }
  }
  const features = picked.map((i) => s.features(i));
  return {
    items: picked.map((i, r) => {
      const c = candidates[i];
      const f = features[r];
      const item: RecommendedItem = { resourceId: c.resourceId, score: Math.round(f.relevance * 1e6) / 1e6, reasons: reasonsFor(c, f, o) };
      if (c.type !== undefined) item.type = c.type;
      if (c.topics) item.topics = [...c.topics];
      if (c.skills) item.skills = [...c.skills];
      return item;
    }),
    features,
  };
}
