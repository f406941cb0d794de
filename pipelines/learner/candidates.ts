import { dotAll } from '../../models/kernel/dot';
import { topK } from '../../models/kernel/topk';
import type { OnnxTopK, TopKResult } from '../../models/kernel/onnx-topk';
import type { Logger } from '../../lib/log';
import type { Emitter } from '../../lib/metrics/instrumentation';
import type { ItemTable } from '../model/item-table';
import { LiveIvf, nearestJsSliced, type LiveIvfOptions } from './ivf';
import { negHalfSquaredNorms, type NearestFn } from '../../models/kernel/ivf';

export type { TopKResult };

/**
 * Adjusts one learner's mask row before scoring: the row arrives as the item bias with inactive items at -Infinity;
 * set -Infinity to exclude an item (history), or add to a score. `j` is the learner's position in the batch.
 */
export type MaskAdjust = (j: number, row: Float32Array) => void;

/**
 * The same exclusions as a predicate over rows, for learner `j` (true = may be offered): lets the IVF path check only
 * the rows it selected instead of building a mask row over the whole catalogue (4 MB per learner at 1M rows).
 */
export type RowFilter = (j: number) => (i: number) => boolean;

export interface CandidateGeneratorOptions {
  dim: number;
  logger: Logger;
  /**
   * 'auto' (default): onnxruntime when it loads, the synchronous JS kernel for small work and until the session is
   * ready; 'js': never load onnxruntime (tests, platforms without it).
   */
  kernel?: 'auto' | 'js';
  /**
   * Below this many item rows x learners a batch is scored with the JS kernel: an onnxruntime call has a fixed cost
   * (tensor setup, a setImmediate hop) that a few thousand JS dot products beat. Default 4096.
   */
  minOnnxWork?: number;
  /** `candidates.scored` per scoring call (which kernel ran). */
  emit?: Emitter;
  /**
   * Inverted-file candidates for large catalogues (pipeline.ivf): from `minRows` rows (default 200,000) a learner's
   * candidates are the best rows of the partitions nearest to it instead of a product with every row.
   */
  ivf?: LiveIvfOptions;
}

/**
 * Collaborative candidate generation for a batch of learners: bias + user . item over every active row of the table,
 * per-learner exclusions, top-k. One onnxruntime Gemm + TopK call for the whole batch when onnxruntime is available
 * (the kernel benchmark measured 0.014 ms per learner at 10k x 32 batched, against ~0.55 ms for the JS loop per
 * learner); the JS dotAll + topK otherwise. Both give the same indices up to float summation order.
 */
export class CandidateGenerator {
  private onnx: OnnxTopK | null = null;
  private loading: Promise<void> | null = null;
  private scratch = new Float32Array(0);
  private maskBuf = new Float32Array(0);
  private onnxBusy = false;
  private base = new Float32Array(0);
  private readonly minOnnxWork: number;
  /** Learners scored by each kernel so far (tests and diagnostics: which path ran). */
  readonly scored = { onnx: 0, js: 0, ivf: 0 };
  /** The inverted-file index of large catalogues (null when pipeline.ivf.minRows is 0). */
  readonly ivf: LiveIvf | null;
  private ivfRow = new Float32Array(0);

  constructor(private readonly o: CandidateGeneratorOptions) {
    this.minOnnxWork = o.minOnnxWork ?? 4096;
    const ivf = new LiveIvf(o.ivf ?? {}, () => this.nearest(), o.logger);
    this.ivf = ivf.minRows > 0 ? ivf : null;
  }

  /** k-means assignment for the IVF build: a batched onnxruntime product when loaded, sliced JS otherwise. */
  private nearest(): NearestFn {
    const onnx = this.onnx;
    if (!onnx) return nearestJsSliced;
    return async (points, n, centroids, nc, dim) => {
      const half = negHalfSquaredNorms(centroids, nc, dim);
      const out = new Int32Array(n);
      const chunk = 8192;
      for (let a = 0; a < n; a += chunk) {
        const m = Math.min(chunk, n - a);
        const r = await onnx.topKBatch(points.subarray(a * dim, (a + m) * dim), m, centroids, nc, 1, half);
        for (let i = 0; i < m; i++) out[a + i] = r[i].indices[0] ?? 0;
      }
      return out;
    };
  }

  /** Loads onnxruntime in the background (dynamic import: a platform without it falls back to JS instead of failing). */
  init(): Promise<void> {
    if (this.o.kernel === 'js') return Promise.resolve();
    this.loading ??= (async () => {
      try {
        // require() at first use, not a static import: a platform whose onnxruntime-node native addon does not load
        // keeps a working (JS) learner stage; a dynamic import() would need --experimental-vm-modules under jest
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const { OnnxTopK: Kernel } = require('../../models/kernel/onnx-topk') as { OnnxTopK: typeof OnnxTopK };
        this.onnx = await Kernel.create(this.o.dim, 1);
      } catch (err) {
        this.o.logger.warn('onnxruntime unavailable, ranking with the JS kernel', { err });
      }
    })();
    return this.loading;
  }

  get usesOnnx(): boolean {
    return this.onnx !== null;
  }

  /** Top `k` candidates of each learner (`users[j]`), best first. Async only when onnxruntime scores the batch. */
  generate(
    table: ItemTable,
    users: readonly Float32Array[],
    adjust: MaskAdjust,
    k: number,
    filter?: RowFilter,
  ): TopKResult[] | Promise<TopKResult[]> {
    const n = table.size;
    const b = users.length;
    if (this.ivf?.ready(table)) return this.generateIvf(table, users, adjust, k, filter);
    if (!this.onnx || n * b < this.minOnnxWork || n === 0 || b === 0) return this.generateSync(table, users, adjust, k);
    const d = table.dim;
    const mask = this.masks(table, b, adjust);
    const u = new Float32Array(b * d);
    users.forEach((v, j) => u.set(v.subarray(0, d), j * d));
    // The tensors are built now from the live table; onnxruntime runs them in a setImmediate on this thread, so the
    // replica cannot change the rows underneath (a grow() would only leave the call reading the old, equal buffer).
    this.onnxBusy = true;
    const onnx = this.onnx;
    return onnx
      .topKBatch(u, b, table.factors, n, k, mask)
      .then((out) => {
        this.scored.onnx += b;
        this.o.emit?.emit('candidates.scored', { kernel: 'onnx', learners: b });
        return out;
      })
      .catch((err: unknown) => {
        // a session that fails once (e.g. typed arrays from another realm under jest) is not retried: JS from now on
        this.o.logger.warn('onnxruntime scoring failed, ranking with the JS kernel from now on', { err });
        if (this.onnx === onnx) this.onnx = null;
        void onnx.release().catch(() => undefined);
        return this.generateSync(table, users, adjust, k);
      })
      .finally(() => {
        this.onnxBusy = false;
      });
  }

  /** The JS kernel: same scores and selection, synchronous (prequential evaluation, small tables, fallback). */
  generateSync(table: ItemTable, users: readonly Float32Array[], adjust: MaskAdjust, k: number, filter?: RowFilter): TopKResult[] {
    if (this.ivf?.ready(table)) return this.generateIvf(table, users, adjust, k, filter);
    const n = table.size;
    const out: TopKResult[] = [];
    this.scored.js += users.length;
    if (users.length > 0) this.o.emit?.emit('candidates.scored', { kernel: 'js', learners: users.length });
    if (n === 0) return users.map(() => ({ indices: new Int32Array(0), scores: new Float32Array(0) }));
    const base = this.baseRow(table);
    if (this.scratch.length < 2 * n) this.scratch = new Float32Array(Math.max(2 * n, 2 * this.scratch.length));
    const row = this.scratch.subarray(0, n);
    const scores = this.scratch.subarray(n, 2 * n);
    users.forEach((v, j) => {
      row.set(base);
      adjust(j, row);
      dotAll(v, table.factors, n, table.dim, scores, row);
      const indices = topK(scores, n, k);
      out.push({ indices, scores: Float32Array.from(indices, (i) => scores[i]) });
    });
    return out;
  }

  /**
   * Candidates from the IVF index. With a row filter each learner's exclusions are checked on the rows the index
   * selected (bias and activity from the table); without, each learner's mask row is built over the whole table.
   */
  private generateIvf(
    table: ItemTable,
    users: readonly Float32Array[],
    adjust: MaskAdjust,
    k: number,
    filter: RowFilter | undefined,
  ): TopKResult[] {
    const n = table.size;
    const ivf = this.ivf!;
    this.scored.ivf += users.length;
    if (users.length > 0) this.o.emit?.emit('candidates.scored', { kernel: 'ivf', learners: users.length });
    if (filter) {
      const { active, bias } = table;
      return users.map((v, j) => {
        const ok = filter(j);
        return ivf.search(table, v, (i) => (active[i] === 1 && ok(i) ? bias[i] : -Infinity), k);
      });
    }
    const base = this.baseRow(table);
    if (this.ivfRow.length < n) this.ivfRow = new Float32Array(Math.max(n, 2 * this.ivfRow.length));
    const row = this.ivfRow.subarray(0, n);
    return users.map((v, j) => {
      row.set(base);
      adjust(j, row);
      return ivf.search(table, v, (i) => row[i], k);
    });
  }

  async release(): Promise<void> {
    await this.ivf?.pending;
    await this.loading;
    await this.onnx?.release();
    this.onnx = null;
  }

  /** bias, or -Infinity for an inactive row (a removed resource keeps its slot). */
  private baseRow(table: ItemTable): Float32Array {
    const n = table.size;
    if (this.base.length < n) this.base = new Float32Array(Math.max(n, 2 * this.base.length));
    const base = this.base.subarray(0, n);
    const bias = table.bias;
    const active = table.active;
    for (let i = 0; i < n; i++) base[i] = active[i] === 1 ? bias[i] : -Infinity;
    return base;
  }

  /** One mask row per learner, b x n, in a buffer reused across batches unless a call still holds it. */
  private masks(table: ItemTable, b: number, adjust: MaskAdjust): Float32Array {
    const n = table.size;
    const base = this.baseRow(table);
    let mask: Float32Array;
    if (this.onnxBusy) mask = new Float32Array(b * n);
    else {
      if (this.maskBuf.length < b * n) this.maskBuf = new Float32Array(Math.max(b * n, 2 * this.maskBuf.length));
      mask = this.maskBuf.subarray(0, b * n);
    }
    for (let j = 0; j < b; j++) {
      const row = mask.subarray(j * n, (j + 1) * n);
      row.set(base);
      adjust(j, row);
    }
    return mask;
  }
}
