import { selectKth, sortNumbers, sortPairs } from './order';
import type { Candidate, Features, LearnerContext, PredictSuccess, RankOptions } from './types';

/**
 * Percentile of each defined score among the defined scores, in [0, 1] (ties share their mean rank). Percentiles
 * rather than raw logits: the collaborative score's scale drifts as the model learns, the other components are
 * already in [0, 1].
 */
export function percentiles(scores: readonly (number | undefined)[]): (number | undefined)[] {
  const v = Float64Array.from(scores, (s) => (s === undefined ? Number.NaN : s));
  const out = new Float64Array(v.length);
  percentileRanks(v, out);
  return Array.from(out, (p, i) => (Number.isNaN(v[i]) ? undefined : p));
}

/**
 * `percentiles` over typed arrays (NaN = undefined, stays NaN in `out`): the defined values are sorted once with their
 * indices, then each run of equal values gets its mean rank in one pass, as the comparator sort gave (the re-rank
 * does this for every candidate pool, twice).
 */
export function percentileRanks(values: Float64Array, out: Float64Array): void {
  const n = values.length;
  const { keys, ids } = scratchPairs(n);
  let m = 0;
  for (let i = 0; i < n; i++) {
    const x = values[i];
    if (Number.isNaN(x)) {
      out[i] = Number.NaN;
      continue;
    }
    keys[m] = x;
    ids[m++] = i;
  }
  if (m === 1) {
    out[ids[0]] = 1;
    return;
  }
  sortPairs(keys, ids, 0, m);
  for (let a = 0; a < m;) {
    const x = keys[a];
    let b = a + 1;
    while (b < m && keys[b] === x) b++;
    // ranks a .. b-1 share the value: their mean rank
    const p = (a + b - 1) / 2 / (m - 1);
    for (let r = a; r < b; r++) out[ids[r]] = p;
    a = b;
  }
}

/**
 * The defined values of `values[0, n)` into `sorted`, ascending; returns how many. With {@link percentileIn}, the
 * percentile percentileRanks gives a value, for the few values asked (a re-rank lists 100 of ~350 candidates).
 */
function sortDefined(values: Float64Array, n: number, sorted: Float64Array): number {
  let m = 0;
  for (let i = 0; i < n; i++) if (!Number.isNaN(values[i])) sorted[m++] = values[i];
  sortNumbers(sorted, 0, m);
  return m;
}

/** percentileRanks' value for `x` among the `m` sorted defined values: the mean rank of its run of equals. */
function percentileIn(sorted: Float64Array, m: number, x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  if (m === 1) return 1;
  let lo = 0;
  let hi = m;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  let end = lo;
  hi = m;
  while (end < hi) {
    const mid = (end + hi) >>> 1;
    if (sorted[mid] <= x) end = mid + 1;
    else hi = mid;
  }
  // ranks lo .. end-1 share the value
  return (lo + end - 1) / 2 / (m - 1);
}

/** matchCosines' two outputs, read right after each call. */
const cos = new Float64Array(2);

/** Scratch for percentileRanks, grown on demand: the re-rank calls it twice per event, synchronously. */
let pairKeys = new Float64Array(512);
let pairIds = new Int32Array(512);
function scratchPairs(n: number): { keys: Float64Array; ids: Int32Array } {
  if (pairKeys.length < n) {
    pairKeys = new Float64Array(n);
    pairIds = new Int32Array(n);
  }
  return { keys: pairKeys, ids: pairIds };
}

/** Bell-shaped fit of a success probability to the target: 1 at the target, ~0.6 one `width` away. */
export function difficultyFit(p: number, target: number, width: number): number {
  const z = (p - target) / width;
  return Math.exp(-0.5 * z * z);
}

function dotN(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** Best content matches of a candidate: against the learner's interests, and against their recent resources. */
function contentMatch(c: Candidate, learner: LearnerContext): Pick<Features, 'interest' | 'recent'> {
  if (!c.content) return c.interestMatch ? { interest: { ...c.interestMatch } } : {};
  let interest: Features['interest'] = c.interestMatch ? { ...c.interestMatch } : undefined;
  let recent: Features['recent'];
  for (const it of learner.interests ?? []) {
    const s = dotN(c.content, it.vector); // both unit length
    if (!interest || s > interest.cosine) interest = { label: it.label, cosine: s };
  }
  for (const r of learner.recent ?? []) {
    if (!r.vector || r.resourceId === c.resourceId) continue;
    const s = dotN(c.content, r.vector);
    if (!recent || s > recent.cosine) recent = { resourceId: r.resourceId, title: r.title, cosine: s };
  }
  return { interest, recent };
}

/** The cosines of `contentMatch` without building its objects (NaN = no match), for the scoring pass. */
function matchCosines(c: Candidate, learner: LearnerContext, out: Float64Array): void {
  let interest = c.interestMatch ? c.interestMatch.cosine : Number.NaN;
  let recent = Number.NaN;
  if (c.content) {
    for (const it of learner.interests ?? []) {
      const s = dotN(c.content, it.vector);
      if (Number.isNaN(interest) || s > interest) interest = s;
    }
    for (const r of learner.recent ?? []) {
      if (!r.vector || r.resourceId === c.resourceId) continue;
      const s = dotN(c.content, r.vector);
      if (Number.isNaN(recent) || s > recent) recent = s;
    }
  }
  out[0] = interest;
  out[1] = recent;
}

/**
 * The relevance of every candidate in typed arrays, and the full `Features` built on demand for the few that are
 * returned. `success` (the knowledge model's P(success), the costly part with real quiz evidence) is asked only for
 * the candidates whose relevance could reach the best `keep`, and for those `mustScore` names (e.g. exploration).
 */
export interface ScoredCandidates {
  /** Relevance per candidate; exact where `scored[i]` is 1, else only known to be below the best `keep`. */
  readonly relevance: Float64Array;
  readonly scored: Uint8Array;
  /** Interest cosine per candidate (NaN = none): what exploration and reasons test. */
  readonly interestCosine: Float64Array;
  features(i: number): Features;
}

export function scoreCandidates(
  candidates: readonly Candidate[],
  learner: LearnerContext,
  predictSuccess: PredictSuccess | undefined,
  o: RankOptions,
  keep = Infinity,
  mustScore?: (i: number, interestCosine: number) => boolean,
  /**
   * Where the per-candidate arrays live: `blockOf(size)` returns at least `size` doubles, any content. Default: a fresh
   * block. A caller that reuses one (rank()) must be done with the result before the next call.
   */
  blockOf: (size: number) => Float64Array = (size) => new Float64Array(size),
): ScoredCandidates {
  const n = candidates.length;
  const w = o.weights;
  // every per-candidate array is a view of one block: at most one allocation per call instead of fifteen. Each one
  // is written in full before it is read, except unmetFrac (zeroed below) and the sorted prefixes.
  const block = blockOf(15 * n);
  let at = 0;
  const view = () => block.subarray(at, (at += n));
  const collabScore = view();
  const pop = view();
  const base = view();
  let maxPop = 0;
  for (let i = 0; i < n; i++) {
    const c = candidates[i];
    collabScore[i] = c.collabScore === undefined ? Number.NaN : c.collabScore;
    base[i] = c.relevance ?? 0;
    pop[i] = c.popularity ?? 0;
    maxPop = Math.max(maxPop, pop[i]);
  }
  // Percentiles from the sorted values, per candidate asked: the collaborative one for every candidate only where it
  // weighs in the relevance (w.collab, 0 in the learner stage), else like the popularity one only for the features
  // of the returned items (reasons).
  const collabSorted = view();
  const popSorted = view();
  const mCollab = sortDefined(collabScore, n, collabSorted);
  const mPop = sortDefined(pop, n, popSorted);
  const collab = view();
  const eagerCollab = w.collab !== 0;
  for (let i = 0; i < n; i++) collab[i] = eagerCollab ? percentileIn(collabSorted, mCollab, collabScore[i]) : Number.NaN;
  const collabAt = (i: number): number => (eagerCollab ? collab[i] : percentileIn(collabSorted, mCollab, collabScore[i]));
  const logMax = Math.log1p(maxPop);
  const interestCos = view();
  const recentCos = view();
  const unmetFrac = view().fill(0);
  const popularity = view();
  const partial = view();
  // Without a popularity weight (the learner stage: popularity is inside the recommender's relevance) the log
  // popularity only feeds the returned items' features: computed for those alone. 0 × a finite value is the 0 the
  // relevance sum gets either way (logMax finite: every value is); NaN marks "not computed yet".
  const lazyPopularity = w.popularity === 0 && Number.isFinite(logMax);
  const popularityOf = (i: number): number => (logMax > 0 ? Math.log1p(Math.max(0, pop[i])) / logMax : 0);
  for (let i = 0; i < n; i++) {
    const c = candidates[i];
    matchCosines(c, learner, cos);
    interestCos[i] = cos[0];
    recentCos[i] = cos[1];
    popularity[i] = lazyPopularity ? Number.NaN : popularityOf(i);
    const prereqs = c.prerequisites;
    if (prereqs && prereqs.length > 0) {
      let unmet = 0;
      for (const p of prereqs) if (!learner.completed.has(p) && !learner.mastered?.has(p)) unmet++;
      unmetFrac[i] = unmet / prereqs.length;
    }
    partial[i] = relevanceOf(w, o, base[i], collab[i], interestCos[i], recentCos[i], 0, lazyPopularity ? 0 : popularity[i], unmetFrac[i]);
  }
  // Difficulty adds between min(0, w) and max(0, w): a candidate whose best case stays under the keep-th worst case
  // cannot reach the list, so its P(success) is never asked for.
  const scored = new Uint8Array(n);
  let threshold = -Infinity;
  if (predictSuccess && n > keep) {
    const lower = view();
    let nan = false;
    for (let i = 0; i < n; i++) {
      lower[i] = partial[i] + Math.min(0, w.difficulty);
      if (Number.isNaN(lower[i])) nan = true;
    }
    // the keep-th best lower bound: a selection, not a sort (NaN keeps the sort, which places NaN last)
    const kth = nan ? lower.sort()[n - keep] : selectKth(lower, n, n - keep);
    threshold = kth - 1e-9; // margin for the summation order of the exact relevance
  }
  const success = view().fill(Number.NaN);
  // difficulty fit where success is known (NaN = unknown), kept for features()
  const fit = view().fill(Number.NaN);
  const relevance = view();
  for (let i = 0; i < n; i++) {
    if (partial[i] + Math.max(0, w.difficulty) < threshold && !mustScore?.(i, interestCos[i])) {
      relevance[i] = partial[i];
      continue;
    }
    scored[i] = 1;
    const s = predictSuccess?.(learner.userId, candidates[i].resourceId, candidates[i]);
    if (s !== undefined) success[i] = s;
    if (!Number.isNaN(success[i])) fit[i] = difficultyFit(success[i], o.targetSuccess, o.difficultyWidth);
    relevance[i] = relevanceOf(
      w,
      o,
      base[i],
      collab[i],
      interestCos[i],
      recentCos[i],
      fit[i],
      lazyPopularity ? 0 : popularity[i],
      unmetFrac[i],
    );
  }
  const recentRank = new Map((learner.recent ?? []).map((r, i) => [r.resourceId, i]));
  return {
    relevance,
    scored,
    interestCosine: interestCos,
    features(i: number): Features {
      const c = candidates[i];
      const { interest, recent } = contentMatch(c, learner);
      let nextAfter: Features['nextAfter'];
      let nextRank = Infinity;
      for (const p of c.prerequisites ?? []) {
        if (!learner.completed.has(p) && !learner.mastered?.has(p)) continue;
        // the most recently engaged satisfied prerequisite names the "next after" reason
        const r = recentRank.get(p) ?? Number.MAX_SAFE_INTEGER;
        if (r < nextRank || nextAfter === undefined) {
          nextRank = r;
          nextAfter = { resourceId: p, title: learner.recent?.[r]?.title };
        }
      }
      if (unmetFrac[i] > 0) nextAfter = undefined;
      const s = Number.isNaN(success[i]) ? undefined : success[i];
      const collabPct = collabAt(i);
      const popPct = percentileIn(popSorted, mPop, pop[i]);
      if (lazyPopularity && Number.isNaN(popularity[i])) popularity[i] = popularityOf(i);
      return {
        collab: Number.isNaN(collabPct) ? undefined : collabPct,
        interest,
        recent,
        success: s,
        difficulty: s === undefined ? undefined : fit[i],
        popularity: popularity[i],
        popularityPercentile: Number.isNaN(popPct) ? 0 : popPct,
        unmetPrerequisites: unmetFrac[i],
        nextAfter,
        relevance: relevance[i],
      };
    },
  };
}

/** The relevance sum, in one place and one order, so the bound and the exact value cannot drift apart. */
function relevanceOf(
  w: RankOptions['weights'],
  o: RankOptions,
  base: number,
  collab: number,
  interest: number,
  recent: number,
  difficulty: number,
  popularity: number,
  unmet: number,
): number {
  return (
    w.relevance * base +
    w.collab * (Number.isNaN(collab) ? 0 : collab) +
    w.interest * Math.max(0, Number.isNaN(interest) ? 0 : interest) +
    w.recent * Math.max(0, Number.isNaN(recent) ? 0 : recent) +
    // unknown success is neutral: neither the reward of a good fit nor the penalty of a bad one
    w.difficulty * (Number.isNaN(difficulty) ? 0.5 : difficulty) +
    w.popularity * popularity -
    o.prerequisitePenalty * unmet
  );
}

/** All ranking features of every candidate, in candidate order. */
export function computeFeatures(
  candidates: readonly Candidate[],
  learner: LearnerContext,
  predictSuccess: PredictSuccess | undefined,
  o: RankOptions,
): Features[] {
  const s = scoreCandidates(candidates, learner, predictSuccess, o);
  return candidates.map((_, i) => s.features(i));
}
