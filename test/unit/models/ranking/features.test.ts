import { computeFeatures, percentiles } from '../../../../models/ranking/features';
import { resolveRankOptions } from '../../../../models/ranking/rank';
import type { Candidate } from '../../../../models/ranking/types';
import { mulberry32 } from '../../../../models/random/prng';

describe('scoreCandidates percentiles', () => {
  it('gives every candidate the percentiles of percentiles(), with the collaborative weight on or off (computed lazily)', () => {
    const rng = mulberry32(11);
    for (let round = 0; round < 30; round++) {
      const n = 1 + Math.floor(rng() * 400);
      // few distinct values (ties), undefined scores, -0 and infinities among them
      const values = [Number.NEGATIVE_INFINITY, -1, -0, 0, 0.25, 0.5, 3, Number.POSITIVE_INFINITY];
      const cands: Candidate[] = Array.from({ length: n }, (_, i) => ({
        resourceId: `r${i}`,
        collabScore: rng() < 0.2 ? undefined : values[Math.floor(rng() * values.length)],
        popularity: Math.floor(rng() * 5),
      }));
      const collabPct = percentiles(cands.map((c) => c.collabScore));
      const popPct = percentiles(cands.map((c) => c.popularity));
      for (const collab of [0, 1]) {
        const o = resolveRankOptions({ weights: { collab } });
        const f = computeFeatures(cands, { userId: 'u', completed: new Set() }, undefined, o);
        expect(f.map((x) => x.collab)).toEqual(collabPct);
        expect(f.map((x) => x.popularityPercentile)).toEqual(popPct.map((p) => p ?? 0));
      }
    }
  });
});
