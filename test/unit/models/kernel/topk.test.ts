import { mulberry32 } from '../../../../models/random/prng';
import { dotAll, rankOf, topK } from '../../../../models/kernel/index';
import { bestKUnordered, topKSelect } from '../../../../models/kernel/select';

function reference(scores: Float64Array, n: number, k: number): number[] {
  const idx = [...Array(n).keys()].filter((i) => scores[i] !== -Infinity);
  idx.sort((a, b) => scores[b] - scores[a] || a - b);
  return idx.slice(0, k);
}

describe('topK', () => {
  it('matches a full sort, ties to the lower index, -Infinity excluded', () => {
    const rng = mulberry32(7);
    for (let trial = 0; trial < 200; trial++) {
      const n = 1 + Math.floor(rng() * 300);
      const s = new Float64Array(n);
      // few distinct values so ties are common
      for (let i = 0; i < n; i++) s[i] = rng() < 0.1 ? -Infinity : Math.floor(rng() * 8);
      const k = 1 + Math.floor(rng() * 15);
      expect(Array.from(topK(s, n, k))).toEqual(reference(s, n, k));
      const target = Math.floor(rng() * n);
      const ref = reference(s, n, n);
      expect(rankOf(s, n, target)).toBe(ref.indexOf(target) + 1);
    }
  });

  it('returns fewer than k when fewer candidates exist', () => {
    const s = new Float64Array([1, -Infinity, 3]);
    expect(Array.from(topK(s, 3, 10))).toEqual([2, 0]);
  });
});

describe('topKSelect', () => {
  it('returns what topK returns on long rows: ties, -Infinity, offsets, guesses that miss', () => {
    const rng = mulberry32(11);
    for (let trial = 0; trial < 60; trial++) {
      const n = 2048 + Math.floor(rng() * 8000);
      const at = Math.floor(rng() * 50);
      const row = new Float32Array(at + n);
      const mode = trial % 4;
      for (let i = 0; i < at + n; i++) {
        const x =
          mode === 0
            ? Math.floor(rng() * 12)
            : mode === 1
              ? rng() - 0.5
              : mode === 2
                ? rng() < 0.5
                  ? 1
                  : rng()
                : i % 7 === 0
                  ? rng()
                  : -Infinity;
        row[i] = rng() < 0.05 ? -Infinity : x;
      }
      // a few rows with the best scores all at the end: the strided sample sees none of them
      if (trial % 10 === 9) for (let i = at + n - 400; i < at + n; i++) row[i] = 10 + (i % 3);
      const k = 1 + Math.floor(rng() * 500);
      expect(Array.from(topKSelect(row, at, n, k))).toEqual(Array.from(topK(row.subarray(at, at + n), n, k)));
    }
  });

  it('keeps the heap order for a row holding NaN, and 0 ties -0', () => {
    const row = Float32Array.from({ length: 4096 }, (_, i) => (i % 5) / 5);
    row[100] = Number.NaN;
    expect(Array.from(topKSelect(row, 0, 4096, 300))).toEqual(Array.from(topK(row, 4096, 300)));
    const zeros = Float32Array.from({ length: 4096 }, (_, i) => (i % 2 ? -0 : 0) - (i % 3 === 0 ? 1 : 0));
    expect(Array.from(topKSelect(zeros, 0, 4096, 500))).toEqual(Array.from(topK(zeros, 4096, 500)));
  });
});

describe("topKSelect, edge cases: the heap's answer in every one", () => {
  const same = (row: Float32Array, at: number, n: number, k: number) =>
    expect(Array.from(topKSelect(row, at, n, k))).toEqual(Array.from(topK(row.subarray(at, at + n), n, k)));

  it('k > n, k = n, k above a quarter of n, k = 0', () => {
    const rng = mulberry32(21);
    const row = Float32Array.from({ length: 5000 }, () => Math.floor(rng() * 50) / 7);
    for (const k of [5001, 9000, 5000, 1251, 1250, 0]) same(row, 0, 5000, k);
  });

  it('ties everywhere: equal scores go to the lower index, also across the k-th', () => {
    const rng = mulberry32(22);
    for (const levels of [1, 2, 3, 40]) {
      const row = Float32Array.from({ length: 6000 }, () => Math.floor(rng() * levels));
      for (const k of [1, 17, 300, 1000]) same(row, 0, 6000, k);
    }
  });

  it('-Infinity: never returned, fewer finite scores than k, a row of -Infinity only', () => {
    const rng = mulberry32(23);
    const sparse = Float32Array.from({ length: 8000 }, (_, i) => (i % 97 === 0 ? rng() : -Infinity));
    for (const k of [10, 82, 83, 300]) same(sparse, 0, 8000, k);
    expect(Array.from(topKSelect(new Float32Array(8000).fill(-Infinity), 0, 8000, 300))).toEqual([]);
    // the sample sees only -Infinity, the rest of the row is finite
    const hidden = Float32Array.from({ length: 8000 }, (_, i) => (i % 16 === 0 ? -Infinity : rng()));
    same(hidden, 0, 8000, 300);
  });

  it('NaN inside or outside the sampled positions, +Infinity, negative scores, -0 beside 0', () => {
    const rng = mulberry32(24);
    for (const at of [0, 3]) {
      const base = Float32Array.from({ length: at + 8192 }, () => (rng() - 0.7) * 4);
      for (const nanAt of [at + 16 * 5, at + 16 * 5 + 1, at + 8191]) {
        const row = base.slice();
        row[nanAt] = Number.NaN;
        same(row, at, 8192, 300);
      }
      const signed = base.slice();
      for (let i = at; i < at + 8192; i += 3) signed[i] = i % 2 ? -0 : 0;
      signed[at + 77] = Infinity;
      signed[at + 78] = Infinity;
      for (const k of [1, 2, 300, 2000]) same(signed, at, 8192, k);
    }
  });

  it('a guess far below the k-th (many more collected than k): the selection before the sort keeps the order', () => {
    const rng = mulberry32(25);
    // the sampled positions hold the row's lowest scores, so the guess lets nearly the whole row through
    const row = Float32Array.from({ length: 10000 }, (_, i) => (i % 16 === 0 ? -5 - rng() : rng()));
    for (const k of [1, 33, 300, 2500]) same(row, 0, 10000, k);
  });
});

describe('bestKUnordered', () => {
  it('is the set topK returns, in index order (ties to the lower index, -Infinity excluded)', () => {
    const rng = mulberry32(13);
    for (let trial = 0; trial < 300; trial++) {
      const n = 1 + Math.floor(rng() * 500);
      const s = Float64Array.from({ length: n }, () => (rng() < 0.1 ? -Infinity : trial % 2 ? Math.floor(rng() * 6) : rng()));
      const k = 1 + Math.floor(rng() * 400);
      const want = Array.from(topK(s, n, k)).sort((a, b) => a - b);
      expect(Array.from(bestKUnordered(s, n, k))).toEqual(want);
    }
  });
});

describe('dotAll', () => {
  it.each([10, 16, 7])('equals the naive product at dim %i, with bias', (dim) => {
    const rng = mulberry32(dim);
    const n = 50;
    const u = Float32Array.from({ length: dim }, () => rng() - 0.5);
    const items = Float32Array.from({ length: n * dim }, () => rng() - 0.5);
    const bias = Float32Array.from({ length: n }, () => rng());
    const out = new Float64Array(n);
    dotAll(u, items, n, dim, out, bias);
    for (let i = 0; i < n; i++) {
      let s = bias[i];
      for (let f = 0; f < dim; f++) s += u[f] * items[i * dim + f];
      expect(out[i]).toBeCloseTo(s, 5);
    }
  });
});
