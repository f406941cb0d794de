import { dot } from '../content/vector';
import type { Candidate, Features, LearnerContext, PredictSuccess, RankOptions } from './types';

/**
 * Percentile of each defined score among the defined scores, in [0, 1] (ties share their mean rank). Percentiles
 * rather than raw logits: the collaborative score's scale drifts as the model learns, the other components are
 * already in [0, 1].
 */
export function percentiles(scores: readonly (number | undefined)[]): (number | undefined)[] {
  const idx = scores.map((s, i) => (s === undefined || Number.isNaN(s) ? -1 : i)).filter((i) => i >= 0);
  idx.sort((a, b) => scores[a]! - scores[b]! || a - b);
  const out: (number | undefined)[] = new Array<number | undefined>(scores.length).fill(undefined);
  const n = idx.length;
  for (let r = 0; r < n; ) {
    let e = r;
    while (e + 1 < n && scores[idx[e + 1]] === scores[idx[r]]) e++;
    const p = n === 1 ? 1 : (r + e) / 2 / (n - 1);
    for (let j = r; j <= e; j++) out[idx[j]] = p;
    r = e + 1;
  }
  return out;
}

/** Bell-shaped fit of a success probability to the target: 1 at the target, ~0.6 one `width` away. */
export function difficultyFit(p: number, target: number, width: number): number {
  const z = (p - target) / width;
  return Math.exp(-0.5 * z * z);
}

/** Best content matches of a candidate: against the learner's interests, and against their recent resources. */
function contentMatch(c: Candidate, learner: LearnerContext): Pick<Features, 'interest' | 'recent'> {
  if (!c.content) return c.interestMatch ? { interest: { ...c.interestMatch } } : {};
  let interest: Features['interest'] = c.interestMatch ? { ...c.interestMatch } : undefined;
  let recent: Features['recent'];
  for (const it of learner.interests ?? []) {
    const s = dot(c.content, it.vector); // both unit length
    if (!interest || s > interest.cosine) interest = { label: it.label, cosine: s };
  }
  for (const r of learner.recent ?? []) {
    if (!r.vector || r.resourceId === c.resourceId) continue;
    const s = dot(c.content, r.vector);
    if (!recent || s > recent.cosine) recent = { resourceId: r.resourceId, title: r.title, cosine: s };
  }
  return { interest, recent };
}

/** All ranking features of every candidate, in candidate order. */
export function computeFeatures(candidates: readonly Candidate[], learner: LearnerContext, predictSuccess: PredictSuccess | undefined, o: RankOptions): Features[] {
  const collab = percentiles(candidates.map((c) => c.collabScore));
  const popPct = percentiles(candidates.map((c) => c.popularity ?? 0));
  let maxPop = 0;
  for (const c of candidates) maxPop = Math.max(maxPop, c.popularity ?? 0);
  const logMax = Math.log1p(maxPop);
  const recentRank = new Map((learner.recent ?? []).map((r, i) => [r.resourceId, i]));
  const w = o.weights;
  return candidates.map((c, i) => {
    const { interest, recent } = contentMatch(c, learner);
    const success = predictSuccess?.(learner.userId, c.resourceId);
    const difficulty = success === undefined || Number.isNaN(success) ? undefined : difficultyFit(success, o.targetSuccess, o.difficultyWidth);
    const popularity = logMax > 0 ? Math.log1p(Math.max(0, c.popularity ?? 0)) / logMax : 0;
    const prereqs = c.prerequisites ?? [];
    let unmet = 0;
    let nextAfter: Features['nextAfter'];
    let nextRank = Infinity;
    for (const p of prereqs) {
      if (!learner.completed.has(p) && !learner.mastered?.has(p)) {
        unmet++;
        continue;
      }
      // the most recently engaged satisfied prerequisite names the "next after" reason
      const r = recentRank.get(p) ?? Number.MAX_SAFE_INTEGER;
      if (r < nextRank || nextAfter === undefined) {
        nextRank = r;
        nextAfter = { resourceId: p, title: learner.recent?.[r]?.title };
      }
    }
    const unmetPrerequisites = prereqs.length === 0 ? 0 : unmet / prereqs.length;
    if (unmet > 0) nextAfter = undefined;
    const relevance =
      w.collab * (collab[i] ?? 0) +
      w.interest * Math.max(0, interest?.cosine ?? 0) +
      w.recent * Math.max(0, recent?.cosine ?? 0) +
      // unknown success is neutral: neither the reward of a good fit nor the penalty of a bad one
      w.difficulty * (difficulty ?? 0.5) +
      w.popularity * popularity -
      o.prerequisitePenalty * unmetPrerequisites;
    return { collab: collab[i], interest, recent, success, difficulty, popularity, popularityPercentile: popPct[i] ?? 0, unmetPrerequisites, nextAfter, relevance };
  });
}
