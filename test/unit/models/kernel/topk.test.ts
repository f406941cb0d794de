import { mulberry32 } from '../../../../models/random/prng';
import { dotAll, rankOf, topK } from '../../../../models/kernel/index';

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
