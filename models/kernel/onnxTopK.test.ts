/**
 * @jest-environment ./test/helpers/ortEnvironment.js
 */
import { mulberry32 } from '../random/prng';
import { dotAll, OnnxTopK, topK } from './index';

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
