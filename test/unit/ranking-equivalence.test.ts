/**
 * rank() must return exactly what it returned before it was optimised: the same ids in the same order, the same
 * scores, reasons and features, for seeded inputs with tied scores, duplicates, missing and zero vectors,
 * prerequisites, completed and mastered resources, and varied options. The reference is a frozen copy of the
 * previous implementation (test/unit/rank-reference/).
 */
import { makeRankCase } from '../../bench/lib/rank-inputs';
import { mulberry32 } from '../../models/random/prng';
import { mmrSelect, rank } from '../../models/ranking';
import { percentileRanks } from '../../models/ranking/features';
import { selectByRelevance, selectKth, sortByRelevance } from '../../models/ranking/order';
import { percentileRanks as referencePercentileRanks } from './rank-reference/features';
import { mmrSelect as referenceMmrSelect } from './rank-reference/mmr';
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
  it('NaN and infinite inputs (NaN collab score, infinite popularity, NaN P(success)), 12 seeds', () => {
    for (let seed = 1; seed <= 12; seed++) {
      const { input, options } = makeRankCase(77_000 + seed, { n: 120, shape: 'mixed' });
      const candidates = input.candidates.map((c, i) =>
        i % 9 === 0 ? { ...c, collabScore: Number.NaN } : i % 31 === 5 && seed % 2 === 0 ? { ...c, popularity: Infinity } : c,
      );
      const predictSuccess = (_u: string, id: string) => (id.endsWith('3') ? Number.NaN : input.predictSuccess?.(_u, id));
      const withNaN = { ...input, candidates, predictSuccess };
      expect(JSON.stringify(rank(withNaN, options))).toBe(JSON.stringify(referenceRank(withNaN, options)));
    }
  });
  it('all relevances tied or in a few levels: order by id, 12 seeds', () => {
    for (let seed = 1; seed <= 12; seed++) {
      const { input, options } = makeRankCase(88_000 + seed, { n: 200, shape: 'mixed' });
      const candidates = input.candidates.map((c, i) => ({
        resourceId: c.resourceId,
        collabScore: seed % 2 === 0 ? undefined : i % 3,
        popularity: 1,
        prerequisites: c.prerequisites,
        similarity: c.similarity,
      }));
      const tied = { ...input, candidates, predictSuccess: undefined, similarity: undefined };
      expect(JSON.stringify(rank(tied, options))).toBe(JSON.stringify(referenceRank(tied, options)));
    }
  });
  it('a callback that re-enters rank() does not disturb the outer call', () => {
    const outer = makeRankCase(4242, { n: 350, shape: 'learner' });
    const inner = makeRankCase(4243, { n: 200, shape: 'mixed' });
    const ps = outer.input.predictSuccess!;
    const innerLists: string[] = [];
    const reentrant = {
      ...outer.input,
      predictSuccess: (u: string, id: string) => (innerLists.push(JSON.stringify(rank(inner.input, inner.options))), ps(u, id)),
    };
    expect(JSON.stringify(rank(reentrant, outer.options))).toBe(JSON.stringify(referenceRank(outer.input, outer.options)));
    expect(innerLists[innerLists.length - 1]).toBe(JSON.stringify(referenceRank(inner.input, inner.options)));
  });
  it('exploration picks far below the sorted head (rank() sorts only the first max(topN, pool) by relevance), 12 seeds', () => {
    for (let seed = 1; seed <= 12; seed++) {
      const { input, options } = makeRankCase(99_000 + seed, { n: 350, shape: 'learner' });
      // new interest-matched resources at the bottom of the relevance order: reserveNew has to read past the head
      const candidates = input.candidates.map((c, i) =>
        i % 37 === 3
          ? { ...c, isNew: true, popularity: 0, interestMatch: { label: 'deep', cosine: 0.36 }, collabScore: -50 - i }
          : { ...c, isNew: false },
      );
      const deep = { ...input, candidates };
      const got = rank(deep, { ...options, reserveNew: 3 });
      expect(got.items.filter((i) => i.reasons.some((r) => r.code === 'new-resource')).length).toBeGreaterThan(0);
      expect(JSON.stringify(got)).toBe(JSON.stringify(referenceRank(deep, { ...options, reserveNew: 3 })));
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
    expect([...codes].sort()).toEqual([
      'content-similar',
      'matches-interest',
      'new-resource',
      'next-after',
      'popular',
      'right-level',
      'similar-learners',
    ]);
    expect(tiedScores).toBeGreaterThan(10);
  });
});

describe('the ranker parts equal the reference on hostile inputs', () => {
  // values drawn from a small set (ties), with -0, infinities and NaN mixed in
  function values(rng: () => number, n: number, special: boolean): Float64Array {
    const pool = [0, -0, 1, 2, 2.5, -3, 0.125, 7, 1e-9];
    if (special) pool.push(Infinity, -Infinity, Number.NaN);
    return Float64Array.from({ length: n }, () =>
      rng() < 0.5 ? pool[Math.floor(rng() * pool.length)] : Math.round((rng() - 0.5) * 1000) / 100,
    );
  }
  const sizes = [0, 1, 2, 3, 15, 16, 17, 40, 200, 701];

  it('percentileRanks', () => {
    const rng = mulberry32(7);
    for (const n of sizes) {
      for (let t = 0; t < 20; t++) {
        const v = values(rng, n, t % 2 === 0);
        const got = new Float64Array(n);
        const want = new Float64Array(n);
        percentileRanks(v, got);
        referencePercentileRanks(v, want);
        expect(Array.from(got)).toEqual(Array.from(want));
      }
    }
  });

  it('selectByRelevance then a sort of the prefix gives the first k of a full sortByRelevance (ties by id)', () => {
    const rng = mulberry32(10);
    for (const n of sizes.filter((s) => s > 0)) {
      for (let t = 0; t < 20; t++) {
        // ties in relevance (ids decide), -0 beside 0, infinities; no NaN (rank() keeps the built-in sort for it)
        const rel = values(rng, n, false).map((x) => (rng() < 0.05 ? (rng() < 0.5 ? Infinity : -Infinity) : x));
        const ids = Array.from({ length: n }, (_, i) => ({ resourceId: `r${Math.floor(rng() * 1e6)}-${i}` }));
        const fullKeys = Float64Array.from(rel);
        const fullOrder = Int32Array.from({ length: n }, (_, i) => i);
        sortByRelevance(fullKeys, fullOrder, 0, n, ids);
        for (const k of [0, 1, Math.floor(rng() * n), n - 1, n, n + 3]) {
          const keys = Float64Array.from(rel);
          const order = Int32Array.from({ length: n }, (_, i) => i);
          selectByRelevance(keys, order, 0, n, k, ids);
          const head = Math.min(Math.max(k, 0), n);
          // the first k are the best k, in any order; sorted they are the full sort's prefix
          expect(new Set(order.subarray(0, head))).toEqual(new Set(fullOrder.subarray(0, head)));
          sortByRelevance(keys, order, 0, head, ids);
          expect(Array.from(order.subarray(0, head))).toEqual(Array.from(fullOrder.subarray(0, head)));
          // and sorting the rest completes the full order
          sortByRelevance(keys, order, head, n, ids);
          expect(Array.from(order)).toEqual(Array.from(fullOrder));
          for (let i = 0; i < n; i++) expect(keys[i]).toBe(rel[order[i]]);
        }
      }
    }
  });

  it('selectKth gives the value a sort places at k', () => {
    const rng = mulberry32(8);
    for (const n of sizes.filter((s) => s > 0)) {
      for (let t = 0; t < 20; t++) {
        const v = values(rng, n, false).map((x) => (Number.isNaN(x) ? 0 : x));
        const sorted = v.slice().sort();
        const k = Math.floor(rng() * n);
        // -0 and 0 are the same key: compare as numbers
        expect(selectKth(v.slice(), n, k) === sorted[k]).toBe(true);
      }
    }
  });

  it('mmrSelect, NaN and infinite relevance, zero and missing vectors, every lambda', () => {
    const rng = mulberry32(9);
    for (const n of [0, 1, 2, 5, 30, 100]) {
      for (let t = 0; t < 30; t++) {
        const rel = values(rng, n, t % 3 === 0);
        const dim = 1 + Math.floor(rng() * 9);
        const vecs = Array.from({ length: n }, () => {
          const r = rng();
          if (r < 0.1) return undefined;
          if (r < 0.2) return new Float32Array(dim);
          // some shorter vectors: MMR pads to the longest
          return Float32Array.from({ length: r < 0.25 ? Math.max(1, dim - 2) : dim }, () => Math.round((rng() - 0.5) * 4) / 2);
        });
        for (const lambda of [0, 0.3, 0.75, 1]) {
          const k = Math.floor(rng() * (n + 2));
          expect(mmrSelect(rel, vecs, k, lambda)).toEqual(referenceMmrSelect(rel, vecs, k, lambda));
        }
      }
    }
  });
});
