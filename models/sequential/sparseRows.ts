/**
 * A growable sparse matrix of item-to-item weights, one row per source item. Rows are parallel typed arrays plus a
 * Map from column to slot, so scoring (the hot path) iterates plain arrays and updates stay O(1).
 */
export class SparseRows {
  private cols: Int32Array[] = [];
  private vals: Float64Array[] = [];
  private lens: number[] = [];
  private slots: Map<number, number>[] = [];
  /** sum of each row's weights, kept for normalisation */
  rowSum = new Float64Array(0);

  get rows(): number {
    return this.cols.length;
  }

  private ensureRow(r: number): void {
    while (this.cols.length <= r) {
      this.cols.push(new Int32Array(4));
      this.vals.push(new Float64Array(4));
      this.lens.push(0);
      this.slots.push(new Map());
    }
    if (this.rowSum.length <= r) {
      const s = new Float64Array(Math.max(1024, 2 * this.rowSum.length, r + 1));
      s.set(this.rowSum);
      this.rowSum = s;
    }
  }

  add(r: number, c: number, w: number): void {
    this.ensureRow(r);
    const slots = this.slots[r];
    let s = slots.get(c);
    if (s === undefined) {
      s = this.lens[r]++;
      if (s >= this.cols[r].length) {
        const nc = new Int32Array(this.cols[r].length * 2);
        nc.set(this.cols[r]);
        this.cols[r] = nc;
        const nv = new Float64Array(this.vals[r].length * 2);
        nv.set(this.vals[r]);
        this.vals[r] = nv;
      }
      this.cols[r][s] = c;
      this.vals[r][s] = 0;
      slots.set(c, s);
    }
    this.vals[r][s] += w;
    this.rowSum[r] += w;
  }

  get(r: number, c: number): number {
    if (r >= this.cols.length) return 0;
    const s = this.slots[r].get(c);
    return s === undefined ? 0 : this.vals[r][s];
  }

  /** out[c] += scale * row[r][c] for every stored column (columns >= limit are skipped). */
  addRowInto(r: number, scale: number, out: Float64Array, limit: number): void {
    if (r >= this.cols.length) return;
    const cols = this.cols[r];
    const vals = this.vals[r];
    const n = this.lens[r];
    for (let s = 0; s < n; s++) {
      const c = cols[s];
      if (c < limit) out[c] += scale * vals[s];
    }
  }

  /** Multiply every weight by f (used to rescale time-decay weights before they overflow). */
  scaleAll(f: number): void {
    for (let r = 0; r < this.cols.length; r++) {
      const v = this.vals[r];
      for (let s = 0; s < this.lens[r]; s++) v[s] *= f;
      this.rowSum[r] *= f;
    }
  }

  /** Plain-data snapshot (columns and weights per row). */
  toJSON(): SparseRowsData {
    return {
      rowSum: Array.from(this.rowSum.subarray(0, this.cols.length)),
      cols: this.cols.map((c, r) => Array.from(c.subarray(0, this.lens[r]))),
      vals: this.vals.map((v, r) => Array.from(v.subarray(0, this.lens[r]))),
    };
  }

  static fromJSON(data: SparseRowsData): SparseRows {
    const m = new SparseRows();
    data.cols.forEach((cols, r) => {
      m.ensureRow(r);
      cols.forEach((c, s) => m.add(r, c, data.vals[r][s]));
    });
    // restore the sums as saved: re-adding in a different order could change the last bit
    m.rowSum.set(data.rowSum);
    return m;
  }
}

export interface SparseRowsData {
  rowSum: number[];
  cols: number[][];
  vals: number[][];
}
