import { SparseRows } from './sparseRows';

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
    if (link && h.length > 0) {
      if (Number.isNaN(this.t0)) this.t0 = t;
      let exponent = (t - this.t0) / this.halfLifeSeconds;
      if (exponent > 400) {
        this.m.scaleAll(Math.pow(2, -exponent));
        this.t0 = t;
        exponent = 0;
      }
      const tw = Math.pow(2, exponent);
      for (let d = 0; d < h.length; d++) {
        const prev = h[h.length - 1 - d];
        if (prev === item) continue;
        const w = tw * this.posW[d];
        this.m.add(prev, item, w);
        if (this.reverseWeight > 0) this.m.add(item, prev, w * this.reverseWeight);
      }
    }
    h.push(item);
    if (h.length > this.window) h.shift();
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
