/**
 * @jest-environment ./test/helpers/ort-environment.js
 */
import { mulberry32 } from '../../../../models/random/prng';
import { dotAll, OnnxTopK, topK } from '../../../../models/kernel/index';

describe('OnnxTopK (onnxruntime Gemm + TopK)', () => {
  it('returns the same top-k as the Float32Array kernel, honouring -Infinity exclusions', async () => {
    const rng = mulberry32(12);
    const dim = 16;
    const n = 3000;
    const items = Float32Array.from({ length: (n + 5) * dim }, () => rng() - 0.5); // extra rows beyond n are ignored
    const kernel = await OnnxTopK.create(dim);
    try {
      for (let trial = 0; trial < 5; trial++) {
        const user = Float32Array.from({ length: dim }, () => rng() - 0.5);
        const bias = Float32Array.from({ length: n }, () => (rng() < 0.2 ? -Infinity : rng() * 0.1));
        const scores = new Float64Array(n);
        dotAll(user, items, n, dim, scores, bias);
        const expected = Array.from(topK(scores, n, 10));
        const got = await kernel.topK(user, items, n, 10, bias);
        expect(Array.from(got.indices)).toEqual(expected);
      }
      const all = new Float32Array(4).fill(-Infinity);
      all[2] = 0;
      expect(Array.from((await kernel.topK(new Float32Array(dim), items, 4, 10, all)).indices)).toEqual([2]);
    } finally {
      await kernel.release();
    }
  });
});

describe('OnnxTopK.topKBatch', () => {
  // 500 rows: scores + JS selection; 20,000: onnxruntime's TopK (above SELECT_MAX_ROWS)
  it.each([500, 20_000])('ranks a batch of learners like one call each, with shared or per-learner masks (%i rows)', async (n) => {
    const rng = mulberry32(5);
    const dim = 8;
    const b = 7;
    const items = Float32Array.from({ length: n * dim }, () => rng() - 0.5);
    const users = Float32Array.from({ length: b * dim }, () => rng() - 0.5);
    const shared = Float32Array.from({ length: n }, () => (rng() < 0.1 ? -Infinity : rng() * 0.1));
    const perLearner = new Float32Array(b * n);
    for (let j = 0; j < b; j++) {
      perLearner.set(shared, j * n);
      for (let x = 0; x < 20; x++) perLearner[j * n + Math.floor(rng() * n)] = -Infinity;
    }
    const kernel = await OnnxTopK.create(dim);
    try {
      for (const mask of [shared, perLearner]) {
        const got = await kernel.topKBatch(users, b, items, n, 15, mask);
        expect(got).toHaveLength(b);
        for (let j = 0; j < b; j++) {
          const scores = new Float64Array(n);
          dotAll(
            users.subarray(j * dim, (j + 1) * dim),
            items,
            n,
            dim,
            scores,
            mask === shared ? shared : perLearner.subarray(j * n, (j + 1) * n),
          );
          expect(Array.from(got[j].indices)).toEqual(Array.from(topK(scores, n, 15)));
        }
      }
      // fewer valid items than k: the -Infinity tail is dropped per learner
      const few = new Float32Array(2 * 4).fill(-Infinity);
      few[1] = 0;
      few[4 + 2] = 0;
      few[4 + 3] = 0;
      const r = await kernel.topKBatch(users, 2, items, 4, 10, few);
      expect(r.map((x) => x.indices.length)).toEqual([1, 2]);
    } finally {
      await kernel.release();
    }
  });
});
