import { assignNearest, buildIvf, negHalfSquaredNorms, type IvfIndex, type NearestFn } from '../../models/kernel/ivf';
import { dotAll } from '../../models/kernel/dot';
import { topK } from '../../models/kernel/topk';
import type { TopKResult } from '../../models/kernel/onnx-topk';
import type { Logger } from '../../lib/log';
import type { ItemTable } from '../model/item-table';

/** Rows selected beyond `k` from the index's copy before the learner's mask is applied (history, completed). */
const OVERFETCH = 256;

export interface LiveIvfOptions {
  /**
   * Catalogue rows from which candidates come from the IVF index instead of a product with every row. Default
   * 200,000; 0 = never. Below it the exact kernel is cheap enough (`npm run bench -- learner --growth`: 1.26 ms per
   * re-rank at 100k rows, 3.84 ms at 1M exact).
   */
  minRows?: number;
  /** Partitions scanned per learner (default 16: recall@10 0.998 at 1M x 64 with 1,024 lists, `npm run bench -- kernel`). */
  nprobe?: number;
  /** Partitions; default the power of two nearest sqrt(rows), within 64 .. 4,096. */
  nlist?: number;
  /**
   * Rebuild once the rows written since the build reach this fraction of the indexed rows (default 1: on average
   * every row moved once). Online updates move a row's factors away from its partition's centroid; the scan scores
   * the live rows, so a stale assignment only changes which rows are scanned, not their scores.
   */
  rebuildWrites?: number;
}

/**
 * Inverted-file candidate generation over the live item table of a learner stage (models/kernel/ivf builds it):
 * k-means partitions of the item factors with a contiguous copy of the rows per partition; a search selects from the
 * rows of the `nprobe` partitions whose centroids score best for the learner, plus every row added since the build,
 * and returns live scores (see {@link LiveIvf.search}). Memory: the copy, 4 * (dim + 2) bytes per row (136 MB at
 * 1M x 32). The index is built, and rebuilt when due, in the background; until the first build completes the
 * caller keeps its exact kernel. Not thread-safe across tables: one per candidate generator.
 */
export class LiveIvf {
  private index: IvfIndex | null = null;
  private building: Promise<void> | null = null;
  private writesAtBuild = 0;
  private cs = new Float32Array(0);
  private scores = new Float32Array(0);
  private rows = new Int32Array(0);
  /** The indexed rows' bias in partition order, as at the build (selection only; returned scores are live). */
  private bias = new Float32Array(0);
  /** Searches that fell back to a masked scan (the mask removed more than OVERFETCH of the best rows). */
  maskedScans = 0;
  readonly minRows: number;
  private readonly nprobe: number;
  private readonly rebuildWrites: number;
  private readonly nlistOption: number | undefined;
  /** Completed builds (tests and diagnostics). */
  builds = 0;
  /** Wall ms of the last build. */
  lastBuildMs = 0;

  constructor(
    o: LiveIvfOptions,
    private readonly nearest: () => NearestFn,
    private readonly logger: Logger,
  ) {
    this.minRows = o.minRows ?? 200_000;
    this.nprobe = o.nprobe ?? 16;
    this.rebuildWrites = o.rebuildWrites ?? 1;
    this.nlistOption = o.nlist;
  }

  /** Rows indexed by the current build (0 before the first). */
  get indexed(): number {
    return this.index?.n ?? 0;
  }

  /** The build in progress, if any (tests await it). */
  get pending(): Promise<void> | null {
    return this.building;
  }

  /** Whether the index serves `table` now; starts a build in the background when one is due. */
  ready(table: ItemTable): boolean {
    if (this.minRows <= 0 || table.size < this.minRows) return false;
    const ix = this.index;
    const due =
      ix === null ||
      ix.dim !== table.dim ||
      table.size - ix.n > Math.max(256, 0.02 * ix.n) ||
      table.writes - this.writesAtBuild > this.rebuildWrites * ix.n;
    if (due && this.building === null) {
      this.building = this.build(table).finally(() => {
        this.building = null;
      });
    }
    return ix !== null && ix.dim === table.dim;
  }

  private async build(table: ItemTable): Promise<void> {
    const n = table.size;
    const writes = table.writes;
    const nlist = this.nlistOption ?? Math.min(4096, Math.max(64, 2 ** Math.round(Math.log2(Math.sqrt(n)))));
    const t0 = performance.now();
    try {
      // the build reads the table's factor buffer as it is now; a grow() swaps in a new buffer with the same rows, and
      // updates meanwhile only make the assignment a little stale (rows are scored live)
      const index = await buildIvf(table.factors, n, table.dim, {
        nlist,
        sample: 24 * nlist,
        iters: 6,
        nearest: this.nearest(),
      });
      const bias = new Float32Array(n);
      for (let pos = 0; pos < n; pos++) bias[pos] = table.bias[index.ids[pos]];
      this.index = index;
      this.bias = bias;
      this.writesAtBuild = writes;
      this.builds++;
      this.lastBuildMs = performance.now() - t0;
      this.logger.info('IVF candidate index built', { rows: n, nlist, nprobe: this.nprobe, ms: Math.round(this.lastBuildMs) });
    } catch (err) {
      // the exact kernel keeps serving; the next due check tries again
      this.logger.warn('IVF candidate index build failed; candidates from the exact kernel', { err });
    }
  }

  /**
   * Top `k` of `row[i] + user . factors[i]` over the probed partitions' rows and the rows added since the build.
   * `mask(i)` is the learner's mask of row i: the row's bias, or -Infinity where excluded (history, inactive). The partitions are
   * scanned over the index's own contiguous copy of the rows and their bias (a gather from the live table cost a
   * cache miss per row: 3 ms per learner at 1M rows against ~0.5 ms contiguous); the best `k` + OVERFETCH of that scan
   * are then checked against the mask and scored from the live rows, so the scores returned are exact and only the
   * selection can lag the rows written since the build. When the mask removes so many of them that fewer than `k`
   * remain, the learner is scanned again with the mask on every probed row.
   */
  search(table: ItemTable, user: Float32Array, mask: (i: number) => number, k: number): TopKResult {
    const ix = this.index!;
    const d = table.dim;
    const n = table.size;
    const nlist = ix.nlist;
    if (this.cs.length < nlist) this.cs = new Float32Array(nlist);
    dotAll(user, ix.centroids, nlist, d, this.cs);
    const probe = topK(this.cs, nlist, Math.min(this.nprobe, nlist));
    let total = n - ix.n;
    for (const p of probe) total += ix.offsets[p + 1] - ix.offsets[p];
    if (this.scores.length < total) {
      this.scores = new Float32Array(2 * total);
      this.rows = new Int32Array(2 * total);
    }
    const scores = this.scores;
    const rows = this.rows;
    let at = 0;
    for (const p of probe) {
      const a = ix.offsets[p];
      const len = ix.offsets[p + 1] - a;
      dotAll(user, ix.vectors.subarray(a * d, (a + len) * d), len, d, scores.subarray(at, at + len), this.bias.subarray(a, a + len));
      rows.set(ix.ids.subarray(a, a + len), at);
      at += len;
    }
    for (let i = ix.n; i < n; i++) {
      scores[at] = table.bias[i] + this.dot(user, table.factors, i, d);
      rows[at++] = i;
    }
    const want = Math.min(at, k + OVERFETCH);
    const top = topK(scores, at, want);
    const keptRows = new Int32Array(top.length);
    const keptScores = new Float32Array(top.length);
    let kept = 0;
    for (let r = 0; r < top.length; r++) {
      const i = rows[top[r]];
      const m = mask(i);
      if (m === -Infinity) continue;
      keptRows[kept] = i;
      keptScores[kept++] = m + this.dot(user, table.factors, i, d);
    }
    if (kept < Math.min(k, at) && want < at) return this.searchMasked(table, user, mask, k, at);
    const order = topK(keptScores, kept, Math.min(k, kept));
    const outScores = new Float32Array(order.length);
    for (let r = 0; r < order.length; r++) {
      outScores[r] = keptScores[order[r]];
      order[r] = keptRows[order[r]];
    }
    return { indices: order, scores: outScores };
  }

  /** The probed rows (`rows[0..count)` of the last scan) scored live with the mask: the fallback of {@link search}. */
  private searchMasked(table: ItemTable, user: Float32Array, mask: (i: number) => number, k: number, count: number): TopKResult {
    const rows = this.rows;
    const scores = this.scores;
    let at = 0;
    for (let r = 0; r < count; r++) {
      const i = rows[r];
      const m = mask(i);
      if (m === -Infinity) continue;
      scores[at] = m + this.dot(user, table.factors, i, table.dim);
      rows[at++] = i;
    }
    const top = topK(scores, at, Math.min(k, at));
    const outScores = new Float32Array(top.length);
    for (let r = 0; r < top.length; r++) {
      outScores[r] = scores[top[r]];
      top[r] = rows[top[r]];
    }
    this.maskedScans++;
    return { indices: top, scores: outScores };
  }

  private dot(user: Float32Array, f: Float32Array, i: number, d: number): number {
    let s0 = 0,
      s1 = 0;
    const o = i * d;
    let q = 0;
    for (; q + 1 < d; q += 2) {
      s0 += user[q] * f[o + q];
      s1 += user[q + 1] * f[o + q + 1];
    }
    if (q < d) s0 += user[q] * f[o + q];
    return s0 + s1;
  }
}

/** k-means assignment in plain JS, in slices that give the event loop back between them (no onnxruntime). */
export const nearestJsSliced: NearestFn = async (points, n, centroids, nc, dim) => {
  const half = negHalfSquaredNorms(centroids, nc, dim);
  const scores = new Float32Array(nc);
  const out = new Int32Array(n);
  const slice = Math.max(64, Math.floor(4_000_000 / Math.max(1, nc * dim)));
  for (let a = 0; a < n; a += slice) {
    assignNearest(points, a, Math.min(n, a + slice), centroids, nc, dim, half, scores, out);
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return out;
};
