/**
 * @jest-environment ./test/helpers/ort-environment.js
 */
/**
 * The benchmark helpers whose output the docs quote: the hand-written ONNX graph must rank like the JS kernel, IVF
 * must return exact results when it probes every partition, and the quantiles must be nearest-rank.
 */
import * as ort from 'onnxruntime-node';
import { buildScoreTopKModel } from '../../bench/lib/onnx';
import { buildIvf, ivfScratch, searchIvf } from '../../models/kernel/ivf';
import { makeItems, makeTopics, makeUsers } from '../../bench/lib/factors';
import { quantileSorted, summarize } from '../../bench/lib/stats';
import { dotAll, topK } from '../../models/kernel';

const dim = 16;
const n = 3000;
const topics = makeTopics(dim, 32, 1);
const items = makeItems(topics, n, 2);
const users = makeUsers(topics, 4, 3);

function exact(u: Float32Array, k: number): Int32Array {
  const scores = new Float32Array(n);
  dotAll(u, items, n, dim, scores);
  return topK(scores, n, k);
}

describe('bench helpers', () => {
  it('the ONNX Gemm+TopK graph (items as initializer or as input) returns the JS kernel top-10', async () => {
    for (const baked of [true, false]) {
      const session = await ort.InferenceSession.create(buildScoreTopKModel(baked ? items : null, n, dim, 10));
      const feeds: Record<string, ort.Tensor> = { users: new ort.Tensor('float32', users, [4, dim]) };
      if (!baked) feeds.items = new ort.Tensor('float32', items, [n, dim]);
      const out = await session.run(feeds);
      const idx = out.indices.data as BigInt64Array;
      for (let b = 0; b < 4; b++) {
        const want = Array.from(exact(users.subarray(b * dim, (b + 1) * dim), 10));
        expect(Array.from(idx.subarray(b * 10, (b + 1) * 10), Number)).toEqual(want);
      }
      await session.release();
    }
  });

  it('IVF probing every partition is exact, and probing a few keeps most of the top-10', async () => {
    const index = await buildIvf(items, n, dim, { nlist: 16, iters: 4, seed: 5 });
    expect(index.offsets[16]).toBe(n);
    const s = ivfScratch(index);
    let hits = 0;
    for (let b = 0; b < 4; b++) {
      const u = users.subarray(b * dim, (b + 1) * dim);
      const want = exact(u, 10);
      expect(Array.from(searchIvf(index, u, 10, 16, s))).toEqual(Array.from(want));
      const some = new Set(searchIvf(index, u, 10, 4, s));
      hits += Array.from(want).filter((i) => some.has(i)).length;
    }
    expect(hits / 40).toBeGreaterThan(0.7);
  });

  it('quantiles are nearest-rank', () => {
    const v = Float64Array.from({ length: 100 }, (_, i) => i + 1);
    expect(quantileSorted(v, 0.5)).toBe(50);
    expect(quantileSorted(v, 0.99)).toBe(99);
    expect(summarize([3, 1, 2]).max).toBe(3);
  });
});
