import { reasonsFor } from '../../../../models/ranking/reasons';
import { DEFAULT_RANK_OPTIONS, type Candidate, type Features, type RankOptions, type Reason } from '../../../../models/ranking/types';
import { mulberry32 } from '../../../../models/random/prng';

/** The fallback reason as it was built before the fast path: every component's reason, stable-sorted by share. */
function sortedFallback(c: Candidate, f: Features, o: RankOptions): Reason[] {
  const w = o.weights;
  const scored = c.relevance !== undefined;
  const parts: [number, Reason][] = [
    [
      (scored ? o.relevanceCollabShare : w.collab) * (f.collab ?? 0),
      { code: 'similar-learners', text: 'Learners like you engaged with this' },
    ],
    [(scored ? o.relevancePopularityShare : w.popularity) * f.popularity, { code: 'popular', text: 'Popular right now' }],
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

describe('reasonsFor, when no component clears its threshold', () => {
  it('names the strongest component as the sorted fallback did: ties to the first, infinities, NaN shares, zero weights', () => {
    const rng = mulberry32(7);
    // few distinct values, so that shares tie often; below every reason threshold
    const values = [0, 0.1, 0.2, 0.2, 0.3, -0.2, -Infinity];
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)];
    for (let n = 0; n < 5000; n++) {
      const weights = {
        ...DEFAULT_RANK_OPTIONS.weights,
        collab: pick([0, 1]),
        popularity: pick([0, 0.3]),
        interest: pick([0, 1]),
        recent: pick([0, 0.5]),
      };
      const o: RankOptions = {
        ...DEFAULT_RANK_OPTIONS,
        weights,
        relevanceCollabShare: pick([0, 0.2, 0.3]),
        relevancePopularityShare: pick([0, 0.3]),
      };
      const c: Candidate = { resourceId: `r${n}`, isNew: false, relevance: pick([undefined, 0.5]) };
      const f: Features = {
        collab: pick([undefined, 0, 0.1, 0.3, 0.5]),
        interest: rng() < 0.6 ? { label: pick(['algebra', 'music']), cosine: pick([...values, Number.NaN]) } : undefined,
        recent: rng() < 0.6 ? { resourceId: pick(['a', 'b']), title: pick([undefined, 'A title']), cosine: pick(values) } : undefined,
        success: undefined,
        difficulty: undefined,
        popularity: pick([0, 0.2, 0.3, 1]),
        popularityPercentile: 0,
        unmetPrerequisites: 0,
        relevance: 0,
      };
      expect(reasonsFor(c, f, o)).toEqual(sortedFallback(c, f, o));
    }
  });
});
