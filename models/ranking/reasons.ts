import type { Candidate, Features, LearnerContext, Reason, RankOptions } from './types';

/**
 * Reason texts by the name they are built around, one map per template: the same name gives the same string every
 * time, so the text is not rebuilt per list item and every lookup keyed by it (the list dictionary numbers reasons by
 * text) hashes it once. Names are titles, ids, labels and skills of the catalogue: bounded, and cleared when large.
 */
const TEXT_CACHE_LIMIT = 100_000;
function cachedText(template: (name: string) => string): (name: string) => string {
  const cache = new Map<string, string>();
  return (name) => {
    let t = cache.get(name);
    if (t === undefined) {
      if (cache.size >= TEXT_CACHE_LIMIT) cache.clear();
      cache.set(name, (t = template(name)));
    }
    return t;
  };
}
const nextAfterText = cachedText((name) => `Next after ${name}`);
const becauseText = cachedText((name) => `Learners who did ${name} went on to this`);
const interestText = cachedText((name) => `Matches your interest "${name}"`);
const similarText = cachedText((name) => `Similar to ${name}`);
const relatedInterestText = cachedText((name) => `Related to your interest "${name}"`);
const relatedText = cachedText((name) => `Related to ${name}`);

/**
 * Reason codes for one recommendation, strongest first. Every item gets at least one: when no component clears its
 * threshold, the component that contributed most to the relevance names the reason.
 */
export function reasonsFor(c: Candidate, f: Features, o: RankOptions, learner?: LearnerContext): Reason[] {
  const out: Reason[] = [];
  if (f.nextAfter) {
    out.push({ code: 'next-after', text: nextAfterText(f.nextAfter.title ?? f.nextAfter.resourceId), ref: f.nextAfter.resourceId });
  }
  if (c.because) {
    out.push({ code: 'because-you-did', text: becauseText(c.because.title ?? c.because.resourceId), ref: c.because.resourceId });
  }
  // text matches, the closer one first
  const text: [number, Reason][] = [];
  if (f.interest && f.interest.cosine >= o.reasonCosine) {
    text.push([f.interest.cosine, { code: 'matches-interest', text: interestText(f.interest.label), ref: f.interest.label }]);
  }
  if (f.recent && f.recent.cosine >= o.reasonCosine) {
    text.push([
      f.recent.cosine,
      { code: 'content-similar', text: similarText(f.recent.title ?? f.recent.resourceId), ref: f.recent.resourceId },
    ]);
  }
  // at most two: the stable descending sort of before is one comparison (a NaN difference kept the order)
  if (text.length === 2 && text[1][0] - text[0][0] > 0) text.reverse();
  for (const [, r] of text) out.push(r);
  if (f.success !== undefined && Math.abs(f.success - o.targetSuccess) <= o.reasonLevelDistance) {
    // the skill named must be one the learner has attempts in: the estimate is theirs, not the population's
    const practised = learner?.practisedSkills;
    const skill = practised ? c.skills?.find((s) => practised.has(s)) : c.skills?.[0];
    if (!practised || skill !== undefined) {
      out.push({
        code: 'right-level',
        text: `Right level${skill ? ` for ${skill}` : ''}: expected success ${Math.round(f.success * 100)}%`,
        ref: skill,
      });
    }
  }
  if (!c.isNew && f.collab !== undefined && f.collab >= o.reasonCollabPercentile) {
    out.push({ code: 'similar-learners', text: 'Learners like you engaged with this' });
  }
  if (c.isNew) out.push({ code: 'new-resource', text: 'New resource' });
  if (f.popularity > 0 && f.popularityPercentile >= o.reasonPopularPercentile) out.push({ code: 'popular', text: 'Popular right now' });
  if (out.length > 0) return out;

  const w = o.weights;
  // A candidate scored by the recommender (relevance) has popularity and MF inside it at the recommender's own
  // weights, which the ranker's collab / popularity weights (0 then) do not show: compare them at those weights.
  const scored = c.relevance !== undefined;
  // The strongest component names the reason: the first of the largest share in the order below, which is what a
  // stable descending sort of the shares returns first. Most listed items end here, so without building the other
  // candidates' reasons; a NaN share (the sort's order is then its own) takes the sort.
  const collabShare = (scored ? o.relevanceCollabShare : w.collab) * (f.collab ?? 0);
  const popularShare = (scored ? o.relevancePopularityShare : w.popularity) * f.popularity;
  const interestShare = f.interest ? w.interest * f.interest.cosine : -Infinity;
  const recentShare = f.recent ? w.recent * f.recent.cosine : -Infinity;
  let best = 0;
  if (!hasNaN(collabShare, popularShare, interestShare, recentShare)) {
    let top = collabShare;
    if (popularShare > top) {
      best = 1;
      top = popularShare;
    }
    if (f.interest && interestShare > top) {
      best = 2;
      top = interestShare;
    }
    if (f.recent && recentShare > top) best = 3;
  } else {
    // a NaN share: the order is the stable sort's own, over the same shares in the same order
    const parts: [number, number][] = [
      [collabShare, 0],
      [popularShare, 1],
    ];
    if (f.interest) parts.push([interestShare, 2]);
    if (f.recent) parts.push([recentShare, 3]);
    parts.sort((a, b) => b[0] - a[0]);
    best = parts[0][1];
  }
  if (best === 0) return [{ code: 'similar-learners', text: 'Learners like you engaged with this' }];
  if (best === 1) return [{ code: 'popular', text: 'Popular right now' }];
  if (best === 2) return [{ code: 'matches-interest', text: relatedInterestText(f.interest!.label), ref: f.interest!.label }];
  return [{ code: 'content-similar', text: relatedText(f.recent!.title ?? f.recent!.resourceId), ref: f.recent!.resourceId }];
}

function hasNaN(a: number, b: number, c: number, d: number): boolean {
  return Number.isNaN(a) || Number.isNaN(b) || Number.isNaN(c) || Number.isNaN(d);
}
