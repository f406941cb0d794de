import { SparseRows, type SparseRowsData } from './sparseRows';

/** A weighted link between two items, produced by a learner's sequence. */
export interface TransitionLink {
  from: number;
  to: number;
  weight: number;
  /** event time, seconds */
  t: number;
}

export interface TransitionState {
  t0: number | null;
  hist: number[][];
  rows: SparseRowsData;
}

/** Options of {@link ItemTransitions}. */
export interface TransitionOptions {
  /** how many of a learner's most recent items link to the next one (and are used when scoring); default 8 */
  window?: number;
  /** weight multiplier per step back in the learner's history (1 = no position decay); default 0.8 */
  positionDecay?: number;
  /** weight of the reverse link next -> previous relative to previous -> next (0 = purely directional); default 0.5 */
  reverseWeight?: number;
  /** half-life in seconds of event time after which a co-occurrence counts half; default 365 days */
  halfLifeSeconds?: number;
  /** exponent on the source row's total weight when normalising (0 = raw counts, 1 = conditional probability);
   * default 0.5 */
  rowNormPower?: number;
}

/**
 * Item-to-item transitions: what learners engaged with next after (and around) each item, weighted by how close the
 * two were in the learner's sequence and decayed with time. Scoring a learner sums the rows of their most recent
 * items, weighting recent ones more: "people who just did X went on to Y".
 */
export class ItemTransitions {
  readonly window: number;
  readonly positionDecay: number;
  readonly reverseWeight: number;
  readonly halfLifeSeconds: number;
  readonly rowNormPower: number;
  private m = new SparseRows();
  /** per learner: most recent items first is cheaper to score; stored oldest-first, bounded by `window` */
  private hist: number[][] = [];
  private t0 = Number.NaN;
  private posW: Float64Array;

  constructor(opts: TransitionOptions = {}) {
    this.window = opts.window ?? 8;
    this.positionDecay = opts.positionDecay ?? 0.8;
    this.reverseWeight = opts.reverseWeight ?? 0.5;
    this.halfLifeSeconds = opts.halfLifeSeconds ?? 365 * 86400;
    this.rowNormPower = opts.rowNormPower ?? 0.5;
    this.posW = new Float64Array(this.window);
    for (let d = 0; d < this.window; d++) this.posW[d] = Math.pow(this.positionDecay, d);
  }

  /**
   * Learn from one engagement of `user` with `item` at time `t` (seconds). `link` = false still records the item in
   * the learner's recent history (it shapes what comes next) without adding transitions into it.
   */
  observe(user: number, item: number, t: number, link = true): void {
    while (this.hist.length <= user) this.hist.push([]);
    const h = this.hist[user];
    if (link) this.applyLinks(this.linksFor(h, item, t));
    h.push(item);
    if (h.length > this.window) h.shift();
  }

  /**
   * The learner-side half of `observe`: the weighted links from a learner's recent items (oldest first) to the new
   * item. Pure, so a learner stage can compute them and send them (keyed by source item) to whoever owns the rows.
   * Weights are relative to time `t` ({@link ItemTransitions.applyLinks} adds the time decay).
   */
  linksFor(recent: readonly number[], item: number, t: number): TransitionLink[] {
    const links: TransitionLink[] = [];
    for (let d = 0; d < recent.length && d < this.window; d++) {
      const prev = recent[recent.length - 1 - d];
      if (prev === item) continue;
      const w = this.posW[d];
      links.push({ from: prev, to: item, weight: w, t });
      if (this.reverseWeight > 0) links.push({ from: item, to: prev, weight: w * this.reverseWeight, t });
    }
    return links;
  }

  /** The owner-side half: add links, scaled by 2^(t / halfLife) so older links weigh less than newer ones. */
  applyLinks(links: readonly TransitionLink[]): void {
    let lastT = Number.NaN;
    let scale = 1;
    for (const l of links) {
      if (Number.isNaN(this.t0)) this.t0 = l.t;
      if (l.t !== lastT) {
        // one pow per distinct time (links of one event share it), not one per link
        let exponent = (l.t - this.t0) / this.halfLifeSeconds;
        if (exponent > 400) {
          // rescale everything by the same factor: rankings are unchanged, numbers stay finite
          this.m.scaleAll(Math.pow(2, -exponent));
          this.t0 = l.t;
          exponent = 0;
        }
        scale = Math.pow(2, exponent);
        lastT = l.t;
      }
      this.m.add(l.from, l.to, l.weight * scale);
    }
  }

  /** Plain-data state: per-learner recent items, the transition rows and the time reference. */
  serialize(): TransitionState {
    return { t0: Number.isNaN(this.t0) ? null : this.t0, hist: this.hist.map((h) => [...h]), rows: this.m.toJSON() };
  }

  static deserialize(state: TransitionState, opts: TransitionOptions = {}): ItemTransitions {
    const tr = new ItemTransitions(opts);
    tr.t0 = state.t0 ?? Number.NaN;
    tr.hist = state.hist.map((h) => [...h]);
    tr.m = SparseRows.fromJSON(state.rows);
    return tr;
  }

  /** out[j] += weight * (transition score of j for this learner), for j < nItems. Returns false if no history. */
  addScores(user: number, out: Float64Array, nItems: number, weight = 1): boolean {
    const h = this.hist[user];
    if (!h || h.length === 0) return false;
    for (let d = 0; d < h.length; d++) {
      const prev = h[h.length - 1 - d];
      const sum = this.m.rowSum[prev] ?? 0;
      if (!(sum > 0)) continue;
      this.m.addRowInto(prev, (weight * this.posW[d]) / Math.pow(sum, this.rowNormPower), out, nItems);
    }
    return true;
  }

  /** the learner's recent items, oldest first */
  recent(user: number): readonly number[] {
    return this.hist[user] ?? [];
  }
}
