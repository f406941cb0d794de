import { scoreCandidates } from './features';
import { mmrSelect } from './mmr';
import { selectByRelevance, sortByRelevance } from './order';
import { reasonsFor } from './reasons';
import {
  DEFAULT_RANK_OPTIONS,
  type Candidate,
  type Features,
  type LearnerContext,
  type PredictSuccess,
  type RankOptions,
  type RecommendedItem,
} from './types';

/** Options as given by callers: any subset, weights merged field by field. */
export type RankOptionsInput = Partial<Omit<RankOptions, 'weights'>> & { weights?: Partial<RankOptions['weights']> };

/** Options this function returned (complete): resolving one again would only copy it, on every rank() call. */
const resolved = new WeakSet<object>();

export function resolveRankOptions(input: RankOptionsInput = {}): RankOptions {
  if (resolved.has(input)) return input as RankOptions;
  const o: RankOptions = { ...DEFAULT_RANK_OPTIONS, ...input, weights: { ...DEFAULT_RANK_OPTIONS.weights, ...(input.weights ?? {}) } };
  resolved.add(o);
  return o;
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
  /** The caller guarantees every candidate its own resourceId (e.g. one per item-table row): no duplicate check. */
  uniqueIds?: boolean;
  /**
   * The caller guarantees no candidate is in `learner.completed` (e.g. it excluded them when it chose the candidates):
   * no completed check per candidate. The completed set still counts for prerequisites.
   */
  excludesCompleted?: boolean;
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
  // the shared buffers, unless a callback (predictSuccess, similarity) re-enters rank(): then fresh ones
  if (shared.busy) return rankWith(input, options, makeScratch());
  shared.busy = true;
  try {
    return rankWith(input, options, shared.scratch);
  } finally {
    shared.busy = false;
  }
}

function rankWith<C extends Candidate>(input: RankInput<C>, options: RankOptionsInput, scratch: Scratch): RankResult {
  const o = resolveRankOptions(options);
  const seen = input.uniqueIds ? null : new Set<string>();
  const completed = input.learner.completed;
  // nothing completed (or nothing completed among the candidates) and ids unique, the learner stage's case: nothing
  // to drop, no copy of the candidates
  const checkCompleted = completed.size > 0 && input.excludesCompleted !== true;
  let candidates: readonly C[] = input.candidates;
  if (seen !== null || checkCompleted) {
    const kept: C[] = [];
    for (let k = 0; k < input.candidates.length; k++) {
      const c = input.candidates[k];
      if (checkCompleted && completed.has(c.resourceId)) continue;
      if (seen) {
        // one hash lookup instead of has + add: the size grows only for an id not seen yet
        const size = seen.size;
        seen.add(c.resourceId);
        if (seen.size === size) continue;
      }
      kept.push(c);
    }
    candidates = kept;
  }
  const head = Math.min(o.topN, o.mmrHead ?? o.topN);
  const poolSize = Math.max(head, head * o.mmrPool);
  const reserve = Math.min(o.reserveNew ?? 0, o.topN);
  // every listed item is among the best max(topN, pool) by relevance, or an exploration pick
  const keep = Math.max(o.topN, poolSize);
  const explore = (i: number, interestCosine: number) =>
    candidates[i].isNew === true && (Number.isNaN(interestCosine) ? 0 : interestCosine) >= o.reasonCosine;
  const s = scoreCandidates(candidates, input.learner, input.predictSuccess, o, keep, reserve > 0 ? explore : undefined, scratch.block);
  const rel = s.relevance;
  // sorted only as far as the list can reach (the MMR pool and the tail), the rest on demand (exploration picks)
  const ranked = byRelevance(candidates, rel, s.scored, scratch, keep);
  const order = ranked.order;
  const n = candidates.length;
  const poolLen = Math.min(poolSize, order.length);
  let picked: number[];
  if (o.mmrLambda >= 1) {
    picked = Array.from(order.subarray(0, Math.min(head, order.length)));
  } else {
    const poolRel = scratch.rel(poolLen);
    const poolVectors: (ArrayLike<number> | undefined)[] = new Array<ArrayLike<number> | undefined>(poolLen);
    for (let j = 0; j < poolLen; j++) {
      const c = candidates[order[j]];
      poolRel[j] = rel[order[j]];
      poolVectors[j] = input.similarity ? input.similarity(c) : (c.similarity ?? c.content);
    }
    // the pool is a prefix of `order`: a pool index is an index into `order`
    picked = mmrSelect(poolRel, poolVectors, head, o.mmrLambda);
    for (let r = 0; r < picked.length; r++) picked[r] = order[picked[r]];
  }
  // marks over candidate indices instead of Sets of them: 1 = listed
  const listed = scratch.marks(n);
  for (const i of picked) listed[i] = 1;
  if (head < o.topN) {
    // the tail after the diversified head: the remaining candidates by relevance
    for (let r = 0; r < order.length && picked.length < o.topN; r++) {
      const i = order[r];
      if (listed[i] === 1) continue;
      listed[i] = 1;
      picked.push(i);
    }
  }
  if (reserve > 0) {
    const interestCos = s.interestCosine;
    let have = 0;
    for (const i of picked) if (explore(i, interestCos[i])) have++;
    const extra: number[] = [];
    for (let r = 0; r < order.length && extra.length < reserve - have; r++) {
      if (r === ranked.sorted) ranked.sortRest();
      const i = order[r];
      if (listed[i] !== 1 && explore(i, interestCos[i])) extra.push(i);
    }
    if (extra.length > 0) {
      // make room at the end, never dropping a reserved one already listed
      let drop = picked.length + extra.length - o.topN;
      for (let r = picked.length - 1; r >= 0 && drop > 0; r--) {
        if (explore(picked[r], interestCos[picked[r]])) continue;
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
      const item: RecommendedItem = {
        resourceId: c.resourceId,
        score: Math.round(f.relevance * 1e6) / 1e6,
        reasons: reasonsFor(c, f, o, input.learner),
      };
      if (c.type !== undefined) item.type = c.type;
      if (c.topics) item.topics = c.topics.slice();
      if (c.skills) item.skills = c.skills.slice();
      return item;
    }),
    features,
  };
}

/**
 * The scored candidates' indices by relevance, ties by id, so candidate order never matters: the order of the
 * comparator `rel[b] - rel[a] || (id a < id b ? -1 : 1)`, sorted with inline comparisons (order.ts). A NaN relevance
 * (only from NaN inputs) makes that comparator inconsistent and its result the built-in sort's own: kept for it.
 */
function byRelevance(
  candidates: readonly Candidate[],
  rel: Float64Array,
  scored: Uint8Array,
  scratch: Scratch,
  limit: number,
): { order: Int32Array; sorted: number; sortRest: () => void } {
  const n = candidates.length;
  const idx = scratch.order(n);
  const keys = scratch.keys(n);
  let m = 0;
  let nan = false;
  for (let i = 0; i < n; i++) {
    if (scored[i] !== 1) continue;
    if (Number.isNaN(rel[i])) nan = true;
    keys[m] = rel[i];
    idx[m++] = i;
  }
  if (nan) {
    const order = Array.from(idx.subarray(0, m));
    order.sort((a, b) => rel[b] - rel[a] || (candidates[a].resourceId < candidates[b].resourceId ? -1 : 1));
    idx.set(order);
    return { order: idx.subarray(0, m), sorted: m, sortRest: () => undefined };
  }
  // Only the first `limit` need their order: a selection moves them to the front (the same strict order), then they
  // alone are sorted; order[limit, m) is sorted by sortRest() when a caller reads that far.
  const head = Math.min(limit, m);
  const out = { order: idx.subarray(0, m), sorted: head, sortRest: () => undefined as void };
  selectByRelevance(keys, idx, 0, m, head, candidates);
  sortByRelevance(keys, idx, 0, head, candidates);
  out.sortRest = () => {
    if (out.sorted < m) sortByRelevance(keys, idx, out.sorted, m, candidates);
    out.sorted = m;
  };
  return out;
}

/**
 * Per-call buffers, one set shared by successive calls: rank() is synchronous and none of them escapes (the order is
 * read before the call returns, the pool relevance by mmrSelect only). A call made from inside a callback gets its
 * own set (see rank). Views of the first n entries; `marks` comes zeroed.
 */
function makeScratch() {
  let f64 = new Float64Array(0);
  let i32 = new Int32Array(0);
  let u8 = new Uint8Array(0);
  let f64b = new Float64Array(0);
  let block = new Float64Array(0);
  return {
    /** scoreCandidates' arrays: read only until rank() returns (features are built before). */
    block: (size: number): Float64Array => {
      if (block.length < size) block = new Float64Array(Math.max(size, 2 * block.length));
      return block;
    },
    keys(n: number): Float64Array {
      if (f64.length < n) f64 = new Float64Array(Math.max(n, 2 * f64.length));
      return f64.subarray(0, n);
    },
    rel(n: number): Float64Array {
      if (f64b.length < n) f64b = new Float64Array(Math.max(n, 2 * f64b.length));
      return f64b.subarray(0, n);
    },
    order(n: number): Int32Array {
      if (i32.length < n) i32 = new Int32Array(Math.max(n, 2 * i32.length));
      return i32.subarray(0, n);
    },
    marks(n: number): Uint8Array {
      if (u8.length < n) u8 = new Uint8Array(Math.max(n, 2 * u8.length));
      return u8.subarray(0, n).fill(0);
    },
  };
}

type Scratch = ReturnType<typeof makeScratch>;
const shared = { busy: false, scratch: makeScratch() };
