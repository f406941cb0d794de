/**
 * @jest-environment ./test/helpers/ort-environment.js
 */
/**
 * The learner stage's batched candidate generation: one onnxruntime call for a batch of learners returns what the
 * synchronous JS kernel returns learner by learner, with per-learner exclusions and inactive rows masked.
 */
import { createLogger } from '../../lib/log';
import { mulberry32 } from '../../models/random/prng';
import { CandidateGenerator } from '../../pipelines/learner/candidates';
import { ItemTable } from '../../pipelines/model/item-table';

const logger = createLogger({ level: 'error' });

describe('CandidateGenerator', () => {
  it('scores a batch on onnxruntime exactly like the JS kernel, exclusions and removals masked', async () => {
    const rng = mulberry32(3);
    const dim = 16;
    const table = new ItemTable(dim);
    for (let i = 0; i < 2000; i++)
      table.set({
        itemId: `r${i}`,
        factors: Float32Array.from({ length: dim }, () => rng() - 0.5),
        bias: rng() * 0.1,
        count: 1,
        lastT: 0,
        active: i % 97 !== 0,
      });
    const users = Array.from({ length: 9 }, () => Float32Array.from({ length: dim }, () => rng() - 0.5));
    const excluded = users.map(() => Array.from({ length: 30 }, () => Math.floor(rng() * 2000)));
    const adjust = (j: number, row: Float32Array) => {
      for (const i of excluded[j]) row[i] = -Infinity;
    };
    const onnx = new CandidateGenerator({ dim, logger, minOnnxWork: 0 });
    await onnx.init();
    expect(onnx.usesOnnx).toBe(true);
    const js = new CandidateGenerator({ dim, logger, kernel: 'js' });
    try {
      const a = await onnx.generate(table, users, adjust, 50);
      const b = js.generateSync(table, users, adjust, 50);
      expect(a.map((r) => Array.from(r.indices))).toEqual(b.map((r) => Array.from(r.indices)));
      for (let j = 0; j < users.length; j++) {
        for (const i of a[j].indices) {
          expect(table.active[i]).toBe(1);
          expect(excluded[j]).not.toContain(i);
        }
      }
    } finally {
      await onnx.release();
    }
  });
});
