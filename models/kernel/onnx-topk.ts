import * as ort from 'onnxruntime-node';
import { scoreModel, scoreTopKModel } from './onnx-graph';
import { topKSelect } from './select';

/** Scores per batched call at most (floats of the b x n matrix onnxruntime returns): 64 MiB. */
const MAX_SCORES = 1 << 24;

/**
 * Rows up to which the batched call selects in JS: measured per learner at k = 300, dim 32 (scores + topKSelect
 * against onnxruntime's TopK): 0.09 vs 0.12 ms at 10k rows, 0.21 vs 0.18 at 30k, 0.74 vs 0.36 at 100k, 9.8 vs 4.4
 * at 1M (the JS pass over every score outgrows TopK's saving).
 */
const SELECT_MAX_ROWS = 16_384;

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

  private constructor(
    private readonly session: ort.InferenceSession,
    /** Gemm alone (scores out): the batched call selects its top k in JS */
    private readonly scores: ort.InferenceSession,
    readonly dim: number,
  ) {}

  /** @param threads intra-op threads; default 1 (a pipeline stage runs one per core) */
  static async create(dim: number, threads = 1): Promise<OnnxTopK> {
    const options = { intraOpNumThreads: threads, interOpNumThreads: 1 };
    const session = await ort.InferenceSession.create(scoreTopKModel(dim), options);
    const scores = await ort.InferenceSession.create(scoreModel(dim), options);
    return new OnnxTopK(session, scores, dim);
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
   * Top `k` for `b` learners: up to SELECT_MAX_ROWS rows one Gemm call (per MAX_SCORES scores) and a JS selection,
   * beyond one Gemm + TopK call. `users` holds `b` row-major vectors (`users[j * dim + f]`),
   * `mask` either `n` values shared by all (item bias, -Infinity = excluded) or `b * n` (row j for learner j, for
   * per-learner exclusions). One result per learner, in order, each without the -Infinity tail.
   */
  async topKBatch(users: Float32Array, b: number, items: Float32Array, n: number, k: number, mask: Float32Array): Promise<TopKResult[]> {
    const d = this.dim;
    if (b === 0) return [];
    if (n === 0) return Array.from({ length: b }, () => ({ indices: new Int32Array(0), scores: new Float32Array(0) }));
    const shared = mask.length < b * n;
    const kk = Math.min(k, n);
    if (n > SELECT_MAX_ROWS) return this.topKBatchTopK(users, b, items, n, kk, mask, shared);
    // onnxruntime's TopK costs ~6x the product at the learner stage's k (300 of 10k rows): the scores come back and
    // the top k are selected in JS (topKSelect: the same indices, order and ties as TopK). The score matrix is
    // bounded per call (MAX_SCORES); every call is issued at once, so they all run in the same turn, as one would.
    const per = Math.max(1, Math.floor(MAX_SCORES / n));
    const Q = new ort.Tensor('float32', items.subarray(0, n * d), [n, d]);
    const calls: Promise<ort.InferenceSession.OnnxValueMapType>[] = [];
    for (let j0 = 0; j0 < b; j0 += per) {
      const bb = Math.min(per, b - j0);
      calls.push(
        this.scores.run({
          U: new ort.Tensor('float32', users.subarray(j0 * d, (j0 + bb) * d), [bb, d]),
          Q,
          M: shared
            ? new ort.Tensor('float32', mask.subarray(0, n), [1, n])
            : new ort.Tensor('float32', mask.subarray(j0 * n, (j0 + bb) * n), [bb, n]),
        }),
      );
    }
    const results = await Promise.all(calls);
    const out: TopKResult[] = [];
    for (const res of results) {
      const S = res.S.data as Float32Array;
      const bb = S.length / n;
      for (let j = 0; j < bb; j++) {
        const at = j * n;
        const indices = topKSelect(S, at, n, kk);
        const scores = new Float32Array(indices.length);
        for (let r = 0; r < indices.length; r++) scores[r] = S[at + indices[r]];
        out.push({ indices, scores });
      }
    }
    return out;
  }

  /** The same in one Gemm + TopK call (long rows, where onnxruntime's TopK beats a JS pass over the scores). */
  private async topKBatchTopK(
    users: Float32Array,
    b: number,
    items: Float32Array,
    n: number,
    kk: number,
    mask: Float32Array,
    shared: boolean,
  ): Promise<TopKResult[]> {
    const d = this.dim;
    const rows = shared ? 1 : b;
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
    await this.scores.release();
  }
}
