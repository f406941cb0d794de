import * as ort from 'onnxruntime-node';
import { scoreTopKModel } from './onnx-graph';

/** Result of one ranking: item indices best first, and their scores. */
export interface TopKResult {
  indices: Int32Array;
  scores: Float32Array;
}

/**
 * One learner against all items on onnxruntime: Gemm (u . Q^T + bias) and TopK in one graph. Measured faster
 * than the Float32Array loop per ranking at dim 10-32 over ~10k items (`npm run eval -- --dataset kernels`), but
 * asynchronous, so it suits the learner stage (async anyway) more than the synchronous prequential harness, whose
 * full model ranks a blend of sparse signals where the dot product is a small share of the cost.
 */
export class OnnxTopK {
  private zeros = new Float32Array(0);

  private constructor(private readonly session: ort.InferenceSession, readonly dim: number) {}

  /** @param threads intra-op threads; default 1 (a pipeline stage runs one per core) */
  static async create(dim: number, threads = 1): Promise<OnnxTopK> {
    const session = await ort.InferenceSession.create(scoreTopKModel(dim), {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
    });
    return new OnnxTopK(session, dim);
  }

  /**
   * Top `k` of `bias[i] + user . items[i]` over the first `n` rows of the row-major `items`. Put -Infinity in `bias`
   * to exclude an item. Ties go to the lower index (ONNX TopK semantics, same as the JS kernel).
   */
  async topK(user: Float32Array, items: Float32Array, n: number, k: number, bias?: Float32Array): Promise<TopKResult> {
    const d = this.dim;
    if (n === 0) return { indices: new Int32Array(0), scores: new Float32Array(0) };
    if (!bias && this.zeros.length < n) this.zeros = new Float32Array(Math.max(n, 2 * this.zeros.length));
    const m = bias ? bias.subarray(0, n) : this.zeros.subarray(0, n);
    const kk = Math.min(k, n);
    const res = await this.session.run({
      U: new ort.Tensor('float32', user.subarray(0, d), [1, d]),
      Q: new ort.Tensor('float32', items.subarray(0, n * d), [n, d]),
      M: new ort.Tensor('float32', m, [1, n]),
      K: new ort.Tensor('int64', BigInt64Array.from([BigInt(kk)]), [1]),
    });
    const idx = res.indices.data as BigInt64Array;
    const vals = res.values.data as Float32Array;
    // excluded items come back last with -Infinity when fewer than k remain: drop them, like the JS kernel
    let count = 0;
    while (count < kk && vals[count] !== -Infinity) count++;
    return { indices: Int32Array.from(idx.subarray(0, count), Number), scores: Float32Array.from(vals.subarray(0, count)) };
  }

  /**
   * Top `k` for `b` learners in one Gemm + TopK call: `users` holds `b` row-major vectors (`users[j * dim + f]`),
   * `mask` either `n` values shared by all (item bias, -Infinity = excluded) or `b * n` (row j for learner j, for
   * per-learner exclusions). One result per learner, in order, each without the -Infinity tail.
   */
  async topKBatch(users: Float32Array, b: number, items: Float32Array, n: number, k: number, mask: Float32Array): Promise<TopKResult[]> {
    const d = this.dim;
    if (b === 0) return [];
    if (n === 0) return Array.from({ length: b }, () => ({ indices: new Int32Array(0), scores: new Float32Array(0) }));
    const rows = mask.length >= b * n ? b : 1;
    const kk = Math.min(k, n);
    const res = await this.session.run({
      U: new ort.Tensor('float32', users.subarray(0, b * d), [b, d]),
      Q: new ort.Tensor('float32', items.subarray(0, n * d), [n, d]),
      M: new ort.Tensor('float32', mask.subarray(0, rows * n), [rows, n]),
      K: new ort.Tensor('int64', BigInt64Array.from([BigInt(kk)]), [1]),
    });
    const idx = res.indices.data as BigInt64Array;
    const vals = res.values.data as Float32Array;
    const out: TopKResult[] = [];
    for (let j = 0; j < b; j++) {
      const at = j * kk;
      let count = 0;
      while (count < kk && vals[at + count] !== -Infinity) count++;
      out.push({ indices: Int32Array.from(idx.subarray(at, at + count), Number), scores: vals.slice(at, at + count) });
    }
    return out;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
