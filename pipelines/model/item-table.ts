import { b64ToF32, f32ToB64 } from '../../consumers/state/codec';
import { ItemSignals, type ItemSignalsOptions } from '../../models/recommender/signals';
import { fingerprint } from './engaged';

/** Catalogue facts the ranker needs next to the factors (copied from catalog.resources by the catalogue stage). */
export interface ItemMeta {
  type?: string;
  topics?: string[];
  skills?: string[];
  prerequisites?: string[];
  difficulty?: number;
  title?: string;
}

/** One item as it travels on model.item-factors and sits in a replica. */
export interface ItemRow {
  itemId: string;
  factors: Float32Array;
  bias: number;
  /** Exact number of events on this resource learned from (owner side). */
  count: number;
  /** Event time (ms) of the last update; NaN before the first (bias decay reads it). */
  lastT: number;
  active: boolean;
  meta?: ItemMeta;
  /** The recommender's global signals of this item (owner's values): its transition row and popularity key. */
  signals?: RowSignals;
}

/** An item's transition row (targets by id, log keys, the row total's key) and its popularity key (models/recommender). */
export interface RowSignals {
  to: string[];
  key: number[];
  sumKey: number;
  /** popularity log key; -Infinity = none */
  pop: number;
}

/** What a table holds of one row's signals (ItemTable.signalTotals): totals, and targets as indices into `ids`. */
export interface HeldSignals {
  sumKey: number;
  pop: number;
  targets?: { ids: readonly string[]; to: ArrayLike<number>; len: number };
}

export interface ItemTableJSON {
  dim: number;
  rows: {
    id: string;
    f: string;
    b: number;
    n: number;
    t: number | null;
    a: boolean;
    m?: ItemMeta;
    s?: [string[], number[], number | null, number | null];
  }[];
}

/**
 * Item factors in one row-major Float32Array (`factors[i * dim + f]`) with dense indices, so a re-rank is one pass of
 * the models/kernel dot product over contiguous memory. Used both for the item stage's owned rows and for every
 * learner instance's full replica of model.item-factors. Removing an item keeps its slot (inactive) so indices stay
 * stable; a re-upsert reuses it.
 */
export class ItemTable {
  ids: string[] = [];
  private readonly index = new Map<string, number>();
  factors: Float32Array;
  bias: Float32Array;
  counts: Float64Array;
  lastT: Float64Array;
  active: Uint8Array;
  readonly meta: (ItemMeta | undefined)[] = [];
  /** Lower-cased topic -> rows having it, so interest matching touches only matching rows. */
  private readonly byTopic = new Map<string, Set<number>>();
  /** Resource id -> rows naming it as a prerequisite ("next after" candidates). */
  private readonly byPrerequisite = new Map<string, Set<number>>();
  private cap: number;
  /** The recommender's transitions and popularity, by row index (models/recommender). */
  readonly signals: ItemSignals;
  /**
   * 1 = a slot made only because a transition row names the item (`ensureRef`): no row of its own has arrived or been
   * created. Never broadcast, checkpointed or treated as a removed item; the first real row or update takes it over.
   */
  placeholder: Uint8Array;
  /** 32-bit fingerprint of each row's id (a learner's EngagedSet holds fingerprints) */
  fp: Int32Array;
  private readonly byFp = new Map<number, number>();
  /** Row writes so far (set, and the stages' in-place factor updates): the IVF index rebuilds on it. */
  writes = 0;

  constructor(
    readonly dim: number,
    capacity = 1024,
    signals?: ItemSignalsOptions,
  ) {
    this.cap = capacity;
    this.signals = new ItemSignals(signals);
    this.placeholder = new Uint8Array(capacity);
    this.fp = new Int32Array(capacity);
    this.factors = new Float32Array(capacity * dim);
    this.bias = new Float32Array(capacity);
    this.counts = new Float64Array(capacity);
    this.lastT = new Float64Array(capacity).fill(Number.NaN);
    this.active = new Uint8Array(capacity);
  }

  get size(): number {
    return this.ids.length;
  }

  indexOf(id: string): number {
    return this.index.get(id) ?? -1;
  }

  has(id: string): boolean {
    return this.index.has(id);
  }

  /** The row whose id has fingerprint `fp`, or -1. */
  rowOfFp(fp: number): number {
    return this.byFp.get(fp) ?? -1;
  }

  /** Index of `id` for a reference (a transition target), creating a placeholder slot when missing. */
  ensureRef(id: string): number {
    const had = this.index.get(id);
    if (had !== undefined) return had;
    const i = this.ensure(id);
    this.placeholder[i] = 1;
    return i;
  }

  /** Index of `id`, creating an (inactive, zero) row when missing. */
  ensure(id: string): number {
    let i = this.index.get(id);
    if (i !== undefined) return i;
    i = this.ids.length;
    if (i >= this.cap) this.grow();
    this.ids.push(id);
    this.meta.push(undefined);
    this.index.set(id, i);
    const f = fingerprint(id);
    this.fp[i] = f;
    if (!this.byFp.has(f)) this.byFp.set(f, i);
    return i;
  }

  private grow(): void {
    const cap = this.cap * 2;
    const f = new Float32Array(cap * this.dim);
    f.set(this.factors);
    const b = new Float32Array(cap);
    b.set(this.bias);
    const n = new Float64Array(cap);
    n.set(this.counts);
    const a = new Uint8Array(cap);
    a.set(this.active);
    const t = new Float64Array(cap).fill(Number.NaN);
    t.set(this.lastT);
    const ph = new Uint8Array(cap);
    ph.set(this.placeholder);
    this.placeholder = ph;
    const fp = new Int32Array(cap);
    fp.set(this.fp);
    this.fp = fp;
    this.lastT = t;
    this.factors = f;
    this.bias = b;
    this.counts = n;
    this.active = a;
    this.cap = cap;
  }

  row(i: number): Float32Array {
    return this.factors.subarray(i * this.dim, (i + 1) * this.dim);
  }

  set(r: ItemRow): number {
    const i = this.ensure(r.itemId);
    this.factors.set(r.factors.subarray(0, this.dim), i * this.dim);
    this.writes++;
    this.bias[i] = r.bias;
    this.counts[i] = r.count;
    this.lastT[i] = r.lastT;
    this.active[i] = r.active ? 1 : 0;
    this.placeholder[i] = 0;
    if (r.signals) this.setSignals(i, r.signals);
    // the same object again (a replica re-receiving unchanged facts) leaves the topic / prerequisite indexes as they are
    if (r.meta && r.meta !== this.meta[i]) this.setMeta(i, r.meta);
    return i;
  }

  /** Copies an owner's signals of row `i` (targets by id become indices of this table). */
  private refScratch = new Int32Array(256);

  setSignals(i: number, s: RowSignals): void {
    // into reused scratch (setRow copies it); a target already at the same place in the row held costs no lookup
    const n = s.to.length;
    if (this.refScratch.length < n) this.refScratch = new Int32Array(Math.max(n, 2 * this.refScratch.length));
    const to = this.refScratch.subarray(0, n);
    const held = this.signals.row(i);
    for (let e = 0; e < n; e++) {
      const id = s.to[e];
      const j = held && e < held.len ? held.to[e] : -1;
      to[e] = j >= 0 && this.ids[j] === id ? j : this.ensureRef(id);
    }
    this.signals.setRow(i, to, s.key, s.sumKey);
    this.signals.setPopularityKey(i, s.pop);
  }

  /**
   * The row total and popularity key of `id`'s signals (a replica compares them to skip an unchanged row's targets),
   * and the targets held (a decoder reuses the id strings of targets that did not move).
   */
  signalTotals(id: string): HeldSignals | undefined {
    const i = this.index.get(id);
    if (i === undefined) return undefined;
    const r = this.signals.row(i);
    return r
      ? { sumKey: r.sumKey, pop: this.signals.popularityKey(i), targets: { ids: this.ids, to: r.to, len: r.len } }
      : { sumKey: -Infinity, pop: this.signals.popularityKey(i) };
  }

  /** Row `i`'s signals with targets as ids (what the owner broadcasts and checkpoints); undefined = none. */
  rowSignals(i: number): RowSignals | undefined {
    const r = this.signals.row(i);
    const pop = this.signals.popularityKey(i);
    if (!r && pop === -Infinity) return undefined;
    const to: string[] = [];
    const key: number[] = [];
    if (r)
      for (let e = 0; e < r.len; e++) {
        to.push(this.ids[r.to[e]]);
        key.push(r.key[e]);
      }
    return { to, key, sumKey: r ? r.sumKey : -Infinity, pop };
  }

  setMeta(i: number, meta: ItemMeta): void {
    for (const t of this.meta[i]?.topics ?? []) this.byTopic.get(t.toLowerCase())?.delete(i);
    for (const p of this.meta[i]?.prerequisites ?? []) this.byPrerequisite.get(p)?.delete(i);
    this.meta[i] = meta;
    for (const p of meta.prerequisites ?? []) {
      let set = this.byPrerequisite.get(p);
      if (!set) this.byPrerequisite.set(p, (set = new Set()));
      set.add(i);
    }
    for (const t of meta.topics ?? []) {
      const k = t.toLowerCase();
      let set = this.byTopic.get(k);
      if (!set) this.byTopic.set(k, (set = new Set()));
      set.add(i);
    }
  }

  /** Rows whose topics include `topic` (lower-cased). */
  rowsWithTopic(topic: string): ReadonlySet<number> | undefined {
    return this.byTopic.get(topic);
  }

  /** Rows that name resource `id` as a prerequisite. */
  rowsAfter(id: string): ReadonlySet<number> | undefined {
    return this.byPrerequisite.get(id);
  }

  /** The row; `withSignals` false leaves its signals out (a caller that has them encoded already). */
  get(id: string, withSignals = true): ItemRow | null {
    const i = this.index.get(id);
    if (i === undefined) return null;
    return {
      itemId: id,
      factors: this.row(i).slice(),
      bias: this.bias[i],
      count: this.counts[i],
      lastT: this.lastT[i],
      active: this.active[i] === 1,
      meta: this.meta[i],
      ...(withSignals ? { signals: this.rowSignals(i) } : {}),
    };
  }

  /** Tombstone: the item is gone; its slot stays (inactive, zeroed) so indices of others stay valid. */
  remove(id: string): void {
    const i = this.index.get(id);
    if (i === undefined) return;
    this.active[i] = 0;
    this.factors.fill(0, i * this.dim, (i + 1) * this.dim);
    this.bias[i] = 0;
  }

  toJSON(): ItemTableJSON {
    const rows: ItemTableJSON['rows'] = [];
    for (let i = 0; i < this.ids.length; i++) {
      if (this.placeholder[i] === 1) continue;
      const sg = this.rowSignals(i);
      // -Infinity is not JSON: null stands for "none"
      const s: [string[], number[], number | null, number | null] | undefined = sg
        ? [sg.to, sg.key, Number.isFinite(sg.sumKey) ? sg.sumKey : null, Number.isFinite(sg.pop) ? sg.pop : null]
        : undefined;
      rows.push({
        id: this.ids[i],
        f: f32ToB64(this.row(i)),
        b: this.bias[i],
        n: this.counts[i],
        t: Number.isNaN(this.lastT[i]) ? null : this.lastT[i],
        a: this.active[i] === 1,
        ...(this.meta[i] ? { m: this.meta[i] } : {}),
        ...(s ? { s } : {}),
      });
    }
    return { dim: this.dim, rows };
  }

  static fromJSON(j: ItemTableJSON, signals?: ItemSignalsOptions): ItemTable {
    const t = new ItemTable(j.dim, Math.max(1024, j.rows.length), signals);
    for (const r of j.rows)
      t.set({ itemId: r.id, factors: b64ToF32(r.f), bias: r.b, count: r.n, lastT: r.t ?? Number.NaN, active: r.a, meta: r.m });
    // signals after every row exists, so targets take their rows' indices rather than placeholders
    for (const r of j.rows)
      if (r.s) t.setSignals(t.indexOf(r.id), { to: r.s[0], key: r.s[1], sumKey: r.s[2] ?? -Infinity, pop: r.s[3] ?? -Infinity });
    return t;
  }
}
