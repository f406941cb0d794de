/**
 * rank() must return exactly what it returned before it was optimised: the same ids in the same order, the same
 * scores, reasons and features, for seeded inputs with tied scores, duplicates, missing and zero vectors,
 * prerequisites, completed and mastered resources, and varied options. The reference is a frozen copy of the
 * previous implementation (test/unit/rank-reference/).
 */
import { makeRankCase } from '../../bench/lib/rank-inputs';
import { rank } from '../../models/ranking';
import { rank as referenceRank } from './rank-reference/rank';

function both(seed: number, n: number, shape: 'learner' | 'mixed') {
  const { input, options } = makeRankCase(seed, { n, shape });
  // the candidates are the same objects for both: neither ranker may mutate them
  const got = rank(input, options);
  const want = referenceRank(input, options);
  return { got, want, options };
}

describe('rank() equals the reference implementation', () => {
  const sizes = [0, 1, 2, 7, 50, 120, 350];
  for (const n of sizes) {
    it(`mixed inputs, ${n} candidates, 12 seeds`, () => {
      for (let seed = 1; seed <= 12; seed++) {
        const { got, want } = both(1000 * n + seed, n, 'mixed');
        expect(got.items).toEqual(want.items);
        expect(got.features).toEqual(want.features);
        // byte-identical once serialised (key order, -0, undefined fields)
        expect(JSON.stringify(got)).toBe(JSON.stringify(want));
      }
    });
  }
  it('learner-stage inputs (350 candidates, topN 100, MMR head 20), 8 seeds', () => {
    for (let seed = 1; seed <= 8; seed++) {
      const { got, want } = both(seed, 350, 'learner');
      expect(got.items).toHaveLength(100);
      expect(got.items).toEqual(want.items);
      expect(JSON.stringify(got)).toBe(JSON.stringify(want));
    }
  });
  it('the mixed cases cover ties, reserve, prerequisites and every reason code', () => {
    const codes = new Set<string>();
    let tiedScores = 0;
    for (let seed = 1; seed <= 12; seed++) {
      const { got } = both(350_000 + seed, 350, 'mixed');
      for (const it of got.items) for (const r of it.reasons) codes.add(r.code);
      const scores = got.items.map((i) => i.score);
      tiedScores += scores.length - new Set(scores).size;
    }
    expect([...codes].sort()).toEqual(['content-similar', 'matches-interest', 'new-resource', 'next-after', 'popular', 'right-level', 'similar-learners']);
    expect(tiedScores).toBeGreaterThan(10);
  });
});
