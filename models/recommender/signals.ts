import { keyOf, logAdd2 } from './decayed';

/** One item's outgoing transitions: at most `capacity` targets with their decayed weights (log keys), and the row total. */
export interface TransitionRow {
  to: Int32Array;
  key: Float64Array;
  len: number;
  /** log key of every weight ever added to the row (evicted targets included): the row's normaliser */
  sumKey: number;
}

/** Options of {@link ItemSignals}; every field has the default named. */
export interface ItemSignalsOptions {
  /** Targets kept per transition row (the strongest by decayed weight). Default 200. */
  rowCapacity?: number;
  /** Half-life of a transition's weight, seconds of event time. Default 365 days. */
  transitionHalfLifeSeconds?: number;
  /** Half-life of a popularity count, seconds of event time. Default 30 days. */
  popularityHalfLifeSeconds?: number;
  /** How many of the most popular items are kept in order (candidates for every learner). Default 200. */
  topPopular?: number;
}

/** Plain-JSON state: rows and popularity by dense index. */
export interface ItemSignalsState {
  rows: [number, number[], number[], number][];
  popularity: [number, number][];
  /** the most-popular order as it was (ties keep their order, so a restored pool is the same pool) */
  top?: number[];
}

/**
 * The global, item-keyed state of the recommender: "learners who did A next did B" (bounded transition rows, one per
 * source item) and recent popularity, both exponentially decayed in event time and kept as log keys (decayed.ts), so
 * an owner can apply updates in any process and a replica can copy rows verbatim. Indices are dense item indices of
 * the caller (the offline stream's item index, or an ItemTable row).
 */
export class ItemSignals {
  readonly rowCapacity: number;
  readonly transitionHalfLifeSeconds: number;
  readonly popularityHalfLifeSeconds: number;
  readonly topPopularSize: number;
  private rows: (TransitionRow | undefined)[] = [];
  private pop = new Float64Array(1024).fill(-Infinity);
  /** indices of the most popular items, best first (keys only grow, so a bounded ordered list stays exact) */
  private top: number[] = [];
  private inTop = new Uint8Array(1024);

  constructor(o: ItemSignalsOptions = {}) {
    this.rowCapacity = o.rowCapacity ?? 200;
    this.transitionHalfLifeSeconds = o.transitionHalfLifeSeconds ?? 365 * 86400;
    this.popularityHalfLifeSeconds = o.popularityHalfLifeSeconds ?? 30 * 86400;
    this.topPopularSize = o.topPopular ?? 200;
  }

  /** Adds weight `w` to the transition from → to at time `t` (seconds); the weakest target leaves a full row. */
  addLink(from: number, to: number, w: number, t: number): void {
    const k = keyOf(w, t, this.transitionHalfLifeSeconds);
    let r = this.rows[from];
    if (!r) {
      while (this.rows.length <= from) this.rows.push(undefined);
      r = this.rows[from] = { to: new Int32Array(8), key: new Float64Array(8), len: 0, sumKey: -Infinity };
    }
    r.sumKey = logAdd2(r.sumKey, k);
    for (let e = 0; e < r.len; e++) {
      if (r.to[e] === to) {
        r.key[e] = logAdd2(r.key[e], k);
        return;
      }
    }
    if (r.len < this.rowCapacity) {
      if (r.len === r.to.length) {
        const cap = Math.min(this.rowCapacity, 2 * r.len);
        const nt = new Int32Array(cap);
        nt.set(r.to);
        const nk = new Float64Array(cap);
        nk.set(r.key);
        r.to = nt;
        r.key = nk;
      }
      r.to[r.len] = to;
      r.key[r.len++] = k;
      return;
    }
    // full: the new target replaces the weakest one if it is stronger (space-bounded top-K; the total keeps both)
    let min = 0;
    for (let e = 1; e < r.len; e++) if (r.key[e] < r.key[min]) min = e;
    if (k > r.key[min]) {
      r.to[min] = to;
      r.key[min] = k;
    }
  }

  /** Adds `w` to the popularity of item `i` at time `t` (seconds). */
  addPopularity(i: number, w: number, t: number): void {
    this.setPopularityKey(i, logAdd2(this.popularityKey(i), keyOf(w, t, this.popularityHalfLifeSeconds)));
  }

  row(i: number): TransitionRow | undefined {
    return this.rows[i];
  }

  /** Replaces a whole row (a replica copying the owner's row). */
  setRow(i: number, to: ArrayLike<number>, key: ArrayLike<number>, sumKey: number): void {
    while (this.rows.length <= i) this.rows.push(undefined);
    const n = Math.min(to.length, this.rowCapacity);
    if (n === 0 && sumKey === -Infinity) {
      this.rows[i] = undefined;
      return;
    }
    // plain loops: TypedArray.from with a mapping function takes the generic iterator path (a replica copies ~17 rows of
    // up to 200 targets per event)
    const t = new Int32Array(n);
    const k = new Float64Array(n);
    for (let e = 0; e < n; e++) {
      t[e] = to[e];
      k[e] = key[e];
    }
    this.rows[i] = { to: t, key: k, len: n, sumKey };
  }

  popularityKey(i: number): number {
    return i < this.pop.length ? this.pop[i] : -Infinity;
  }

  /** Sets the popularity key of `i` (owner updates, or a replica copying the owner's value). */
  setPopularityKey(i: number, key: number): void {
    if (i >= this.pop.length) {
      const cap = Math.max(i + 1, 2 * this.pop.length);
      const p = new Float64Array(cap).fill(-Infinity);
      p.set(this.pop);
      this.pop = p;
      const m = new Uint8Array(cap);
      m.set(this.inTop);
      this.inTop = m;
    }
    const old = this.pop[i];
    this.pop[i] = key;
    if (key === old) return;
    const top = this.top;
    if (this.inTop[i] === 1) {
      let at = top.indexOf(i);
      if (key < old) {
        // only a replica copying an older value moves down: rebuild the order from scratch, it is rare
        top.splice(at, 1);
        this.inTop[i] = 0;
      } else {
        while (at > 0 && this.pop[top[at - 1]] < key) {
          top[at] = top[at - 1];
          at--;
        }
        top[at] = i;
        return;
      }
    }
    if (key === -Infinity) return;
    if (top.length >= this.topPopularSize && key <= this.pop[top[top.length - 1]]) return;
    let at = top.length;
    top.push(i);
    while (at > 0 && this.pop[top[at - 1]] < key) {
      top[at] = top[at - 1];
      at--;
    }
    top[at] = i;
    this.inTop[i] = 1;
    if (top.length > this.topPopularSize) this.inTop[top.pop()!] = 0;
  }

  /** The most popular items, best first (at most topPopular). */
  topPopular(): readonly number[] {
    return this.top;
  }

  /** Memory held, bytes (rows' typed arrays and the popularity array; the benchmark's per-resource figure). */
  bytes(): number {
    let b = this.pop.byteLength + this.inTop.byteLength + 8 * this.rows.length;
    for (const r of this.rows) if (r) b += r.to.byteLength + r.key.byteLength + 48;
    return b;
  }

  serialize(): ItemSignalsState {
    const rows: ItemSignalsState['rows'] = [];
    this.rows.forEach((r, i) => {
      if (r) rows.push([i, Array.from(r.to.subarray(0, r.len)), Array.from(r.key.subarray(0, r.len)), r.sumKey]);
    });
    const popularity: [number, number][] = [];
    for (let i = 0; i < this.pop.length; i++) if (this.pop[i] !== -Infinity) popularity.push([i, this.pop[i]]);
    return { rows, popularity, top: [...this.top] };
  }

  static deserialize(state: ItemSignalsState, o: ItemSignalsOptions = {}): ItemSignals {
    const s = new ItemSignals(o);
    for (const [i, to, key, sum] of state.rows) s.setRow(i, to, key, sum);
    for (const [i, k] of state.popularity) s.setPopularityKey(i, k);
    if (state.top) {
      s.inTop.fill(0);
      s.top = [...state.top];
      for (const i of s.top) s.inTop[i] = 1;
    }
    return s;
  }
}
