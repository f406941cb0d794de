import type { Candidate, Features, Reason, RankOptions } from '../../../models/ranking/types';

/**
 * Reason codes for one recommendation, strongest first. Every item gets at least one: when no component clears its
 * threshold, the component that contributed most to the relevance names the reason.
 */
export function reasonsFor(c: Candidate, f: Features, o: RankOptions): Reason[] {
  const out: Reason[] = [];
  if (f.nextAfter) {
    out.push({ code: 'next-after', text: `Next after ${f.nextAfter.title ?? f.nextAfter.resourceId}`, ref: f.nextAfter.resourceId });
  }
  // text matches, the closer one first
  const text: [number, Reason][] = [];
  if (f.interest && f.interest.cosine >= o.reasonCosine) {
    text.push([
      f.interest.cosine,
      { code: 'matches-interest', text: `Matches your interest "${f.interest.label}"`, ref: f.interest.label },
    ]);
  }
  if (f.recent && f.recent.cosine >= o.reasonCosine) {
    text.push([
      f.recent.cosine,
      { code: 'content-similar', text: `Similar to ${f.recent.title ?? f.recent.resourceId}`, ref: f.recent.resourceId },
    ]);
  }
  text.sort((a, b) => b[0] - a[0]);
  for (const [, r] of text) out.push(r);
  if (f.success !== undefined && Math.abs(f.success - o.targetSuccess) <= o.reasonLevelDistance) {
    const skill = c.skills?.[0];
    out.push({
      code: 'right-level',
      text: `Right level${skill ? ` for ${skill}` : ''}: expected success ${Math.round(f.success * 100)}%`,
      ref: skill,
    });
  }
  if (!c.isNew && f.collab !== undefined && f.collab >= o.reasonCollabPercentile) {
    out.push({ code: 'similar-learners', text: 'Learners like you engaged with this' });
  }
  if (c.isNew) out.push({ code: 'new-resource', text: 'New resource' });
  if (f.popularity > 0 && f.popularityPercentile >= o.reasonPopularPercentile) out.push({ code: 'popular', text: 'Popular right now' });
  if (out.length > 0) return out;

  const w = o.weights;
  const parts: [number, Reason][] = [
    [w.collab * (f.collab ?? 0), { code: 'similar-learners', text: 'Learners like you engaged with this' }],
    [w.popularity * f.popularity, { code: 'popular', text: 'Popular right now' }],
  ];
  if (f.interest)
    parts.push([
      w.interest * f.interest.cosine,
      { code: 'matches-interest', text: `Related to your interest "${f.interest.label}"`, ref: f.interest.label },
    ]);
  if (f.recent)
    parts.push([
      w.recent * f.recent.cosine,
      { code: 'content-similar', text: `Related to ${f.recent.title ?? f.recent.resourceId}`, ref: f.recent.resourceId },
    ]);
  parts.sort((a, b) => b[0] - a[0]);
  return [parts[0][1]];
}
