import type { ItemSignals } from './signals';

/**
 * Options of {@link Recommender}. The defaults were chosen on the first 30,000 events of movielens-latest-small only
 * (docs/evaluation.md, `--methods tuning-grid`); nothing was fitted on the rest of that stream or on any other.
 */
export interface RecommenderOptions {
  /** How many of a learner's most recent items link to the next one and are used when scoring. Default 16. */
  window?: number;
  /** Weight multiplier per step back in the learner's recent items. Default 0.8. */
  positionDecay?: number;
  /** Weight of the reverse link next → previous relative to previous → next. Default 0.5. */
  reverseWeight?: number;
  /** Exponent on a row's total weight when normalising it (0 = raw counts, 1 = conditional probability). Default 0.5. */
  rowNormPower?: number;
  /** Weight of recent popularity (max-normalised) beside transitions (max-normalised, weight 1). Default 0.15. */
  popularityWeight?: number;
  /** Weight of the collaborative score, z-scored over the candidate pool; 0 = no MF. Default 0.005. */
  collabWeight?: number;
}

/** One candidate's relevance and its parts, for reasons and diagnostics. */
export interface RelevanceParts {
  /** transitions from the learner's recent items, max-normalised over the pool, in [0, 1] */
  transition: Float64Array;
  /** the recent item contributing most to `transition` (dense index), -1 = none */
  because: Int32Array;
  /** recent popularity relative to the pool's most popular, in [0, 1] */
  popularity: Float64Array;
}

/** A weighted link, learner side: `from` → `to` with weight `w`, to be added at the event's time. */
export interface Link {
  from: number;
  to: number;
  w: number;
}

/**
 * The one recommender, used by `npm run eval` (models/hybrid) and by the learner stage (pipelines/learner): relevance =
 * item-to-item transitions from the learner's recent items (max-normalised) + recent popularity (max-normalised,
 * weighted) + the online collaborative score (z-scored over the pool, weighted). Global state (transitions,
 * popularity) lives in {@link ItemSignals}, owned by whoever owns the items; the learner side is only its recent items.
 * The pool a learner is scored over: targets of their recent items' transition rows, the most popular items, and the
 * caller's extra candidates (the collaborative model's best, the learning layer's extras).
 */
export class Recommender {
  readonly window: number;
  readonly positionDecay: number;
  readonly reverseWeight: number;
  readonly rowNormPower: number;
  readonly popularityWeight: number;
  readonly collabWeight: number;
  private readonly logPosW: Float64Array;
  private readonly posW: Float64Array;
  private acc = new Float64Array(0);
  private bestC = new Float64Array(0);
  private bestFrom = new Int32Array(0);
  private mark = new Uint8Array(0);
  private popKey = new Float64Array(0);
  /**
   * Per item: the popularity term 2^(key - max) last computed, and the key and pool maximum it was computed from. An
   * item's key moves only when it is engaged with (or its row is copied), the pool's maximum only when the most
   * popular item is, so most of a pool's terms are a comparison instead of a Math.pow. Exact: the same inputs give
   * the same double.
   */
  private popTermKey = new Float64Array(0);
  private popTermMax = new Float64Array(0);
  private popTerm = new Float64Array(0);

  constructor(o: RecommenderOptions = {}) {
    this.window = o.window ?? 16;
    this.positionDecay = o.positionDecay ?? 0.8;
    this.reverseWeight = o.reverseWeight ?? 0.5;
    this.rowNormPower = o.rowNormPower ?? 0.5;
    this.popularityWeight = o.popularityWeight ?? 0.15;
    this.collabWeight = o.collabWeight ?? 0.005;
    this.posW = new Float64Array(this.window);
    this.logPosW = new Float64Array(this.window);
    for (let d = 0; d < this.window; d++) {
      this.posW[d] = Math.pow(this.positionDecay, d);
      this.logPosW[d] = Math.log2(this.posW[d]);
    }
  }

  /**
   * The learner-side half of learning: the links one engagement with `item` adds, from the learner's recent items
   * (oldest first, before this event) to it, and back at `reverseWeight`. Pure: a learner stage sends them to the
   * owners of the source items.
   */
  links(recent: readonly number[], item: number): Link[] {
    const out: Link[] = [];
    for (let d = 0; d < recent.length && d < this.window; d++) {
      const prev = recent[recent.length - 1 - d];
      if (prev === item) continue;
      const w = this.posW[d];
      out.push({ from: prev, to: item, w });
      if (this.reverseWeight > 0) out.push({ from: item, to: prev, w: w * this.reverseWeight });
    }
    return out;
  }

  /**
   * Learning from one engagement where the caller owns `signals` (offline, or a single-process stage): the links, and
   * +1 popularity when `positive`. `t` in seconds of event time.
   */
  learn(signals: ItemSignals, recent: readonly number[], item: number, t: number, positive: boolean): void {
    for (const l of this.links(recent, item)) signals.addLink(l.from, l.to, l.w, t);
    if (positive) signals.addPopularity(item, 1, t);
  }

  /**
   * The pool one learner is scored over, as unique dense indices: transition targets of the recent items, the most
   * popular items, then `extra`; `allowed(i)` false drops an index (inactive, already engaged with). `n` bounds the
   * indices (the caller's item count). The transition scores are accumulated on the way (read by {@link score}).
   */
  pool(
    signals: ItemSignals,
    recent: readonly number[],
    extra: ArrayLike<number>,
    n: number,
    allowed: (i: number) => boolean,
    t: number,
  ): number[] {
    this.ensure(n);
    const acc = this.acc;
    const mark = this.mark;
    const out: number[] = [];
    this.release();
    const marked = this.marked;
    // first sight of an index: 1 = in the pool (accumulating from 0), 2 = not allowed (skipped from now on)
    const enter = (i: number) => {
      mark[i] = 1;
      marked.push(i);
      if (!allowed(i)) {
        mark[i] = 2;
        return;
      }
      acc[i] = 0;
      this.bestC[i] = -1;
      out.push(i);
    };
    const p = this.rowNormPower;
    const offset = (1 - p) * (t / signals.transitionHalfLifeSeconds);
    for (let d = 0; d < recent.length && d < this.window; d++) {
      const prev = recent[recent.length - 1 - d];
      const r = signals.row(prev);
      if (!r || r.len === 0) continue;
      // contribution of target e: posW[d] * w_e / sum^p, every weight decayed to t (keys are log2 w + t/halfLife)
      const base = this.logPosW[d] - p * r.sumKey - offset;
      for (let e = 0; e < r.len; e++) {
        const i = r.to[e];
        if (i >= n) continue;
        if (mark[i] === 0) enter(i);
        if (mark[i] === 2) continue;
        const c = Math.pow(2, r.key[e] + base);
        acc[i] += c;
        if (c > this.bestC[i]) {
          this.bestC[i] = c;
          this.bestFrom[i] = prev;
        }
      }
    }
    const add = (i: number) => {
      if (i >= 0 && i < n && mark[i] === 0) enter(i);
    };
    const top = signals.topPopular();
    for (let r = 0; r < top.length; r++) add(top[r]);
    for (let r = 0; r < extra.length; r++) add(extra[r]);
    return out;
  }

  /** every index the last pool marked (scratch to clear) */
  private readonly marked: number[] = [];

  /**
   * Relevance of each pool entry (the last {@link pool} call's result, same order) into `out`; `collab[j]` is the
   * collaborative score of `pool[j]` (undefined = no MF). Returns the parts of the score. Clears the pool's scratch.
   */
  score(
    signals: ItemSignals,
    pool: readonly number[],
    collab: ArrayLike<number> | undefined,
    out: Float64Array,
    parts?: RelevanceParts,
  ): void {
    const m = pool.length;
    const acc = this.acc;
    if (this.popKey.length < m) this.popKey = new Float64Array(Math.max(m, 2 * this.popKey.length));
    // each entry's popularity key, read once
    const popKey = this.popKey;
    let maxT = 0;
    let maxPop = -Infinity;
    for (let j = 0; j < m; j++) {
      const i = pool[j];
      if (acc[i] > maxT) maxT = acc[i];
      const k = signals.popularityKey(i);
      popKey[j] = k;
      if (k > maxPop) maxPop = k;
    }
    const fT = maxT > 0 ? 1 / maxT : 0;
    let mean = 0;
    let sd = 1;
    const cfW = collab ? this.collabWeight : 0;
    if (cfW > 0 && m > 0) {
      for (let j = 0; j < m; j++) mean += collab![j];
      mean /= m;
      let v = 0;
      for (let j = 0; j < m; j++) v += (collab![j] - mean) * (collab![j] - mean);
      sd = Math.sqrt(v / m) || 1;
    }
    const termKey = this.popTermKey;
    const termMax = this.popTermMax;
    const term = this.popTerm;
    for (let j = 0; j < m; j++) {
      const i = pool[j];
      const tr = acc[i] * fT;
      const k = popKey[j];
      let pop = 0;
      if (maxPop !== -Infinity && k !== -Infinity) {
        if (termKey[i] === k && termMax[i] === maxPop) pop = term[i];
        else {
          pop = term[i] = Math.pow(2, k - maxPop);
          termKey[i] = k;
          termMax[i] = maxPop;
        }
      }
      let s = tr + this.popularityWeight * pop;
      if (cfW > 0) s += (cfW * (collab![j] - mean)) / sd;
      out[j] = s;
      if (parts) {
        parts.transition[j] = tr;
        parts.popularity[j] = pop;
        parts.because[j] = tr > 0 ? this.bestFrom[i] : -1;
      }
    }
    this.release();
  }

  /** Clears the scratch marks of the last pool (score does it; call it when a pool is dropped unscored). */
  release(): void {
    const marked = this.marked;
    for (let r = 0; r < marked.length; r++) {
      const i = marked[r];
      this.mark[i] = 0;
      this.acc[i] = 0;
    }
    marked.length = 0;
  }

  private ensure(n: number): void {
    if (this.acc.length >= n) return;
    const cap = Math.max(n, 2 * this.acc.length, 1024);
    this.acc = new Float64Array(cap);
    this.bestC = new Float64Array(cap);
    this.bestFrom = new Int32Array(cap);
    this.mark = new Uint8Array(cap);
    // NaN never equals a key: every term is computed on first use
    const grow = (a: Float64Array) => {
      const b = new Float64Array(cap).fill(Number.NaN);
      b.set(a);
      return b;
    };
    this.popTermKey = grow(this.popTermKey);
    this.popTermMax = grow(this.popTermMax);
    this.popTerm = grow(this.popTerm);
  }
}
