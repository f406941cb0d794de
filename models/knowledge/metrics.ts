/**
 * Binary-prediction quality metrics for knowledge tracing: ROC AUC, RMSE and log-loss, accumulated along a stream.
 * Labels may be soft (0..1): RMSE and log-loss use them as they are, AUC thresholds them at `positiveAt`.
 */

export interface BinaryScores {
  n: number;
  auc: number;
  rmse: number;
  logLoss: number;
  /** Mean label and mean prediction: a calibration check. */
  meanLabel: number;
  meanPrediction: number;
}

/** Clamp used by log-loss so one confident miss cannot make the figure infinite. */
const EPS = 1e-7;

/** Growable store of (prediction, label) pairs; Float64Array halves memory versus number[] of objects. */
export class BinaryMetrics {
  private preds = new Float64Array(1024);
  private labels = new Float64Array(1024);
  private count = 0;

  /** @param positiveAt soft labels >= this count as positives for AUC (default 0.5). */
  constructor(private readonly positiveAt = 0.5) {}

  get size(): number {
    return this.count;
  }

  add(prediction: number, label: number): void {
    if (this.count === this.preds.length) {
      const grow = (a: Float64Array<ArrayBuffer>): Float64Array<ArrayBuffer> => {
        const b = new Float64Array(a.length * 2);
        b.set(a);
        return b;
      };
      this.preds = grow(this.preds);
      this.labels = grow(this.labels);
    }
    this.preds[this.count] = prediction;
    this.labels[this.count] = label;
    this.count++;
  }

  /** Scores over pairs [from, to) (default: all); used for metrics along the stream. */
  scores(from = 0, to = this.count): BinaryScores {
    const p = this.preds.subarray(from, to);
    const y = this.labels.subarray(from, to);
    const n = p.length;
    let se = 0;
    let ll = 0;
    let sy = 0;
    let sp = 0;
    for (let i = 0; i < n; i++) {
      const pi = Math.min(1 - EPS, Math.max(EPS, p[i]));
      se += (p[i] - y[i]) ** 2;
      ll -= y[i] * Math.log(pi) + (1 - y[i]) * Math.log(1 - pi);
      sy += y[i];
      sp += p[i];
    }
    return {
      n,
      auc: auc(p, y, this.positiveAt),
      rmse: n ? Math.sqrt(se / n) : NaN,
      logLoss: n ? ll / n : NaN,
      meanLabel: n ? sy / n : NaN,
      meanPrediction: n ? sp / n : NaN,
    };
  }
}

/**
 * ROC AUC by the rank-sum (Mann-Whitney) formula with average ranks for ties, so a constant predictor scores exactly
 * 0.5. NaN when only one class is present.
 */
export function auc(pred: ArrayLike<number>, label: ArrayLike<number>, positiveAt = 0.5): number {
  const n = pred.length;
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => pred[a] - pred[b]);
  let rankSumPos = 0;
  let nPos = 0;
  let i = 0;
  while (i < n) {
    let j = i;
    while (j + 1 < n && pred[order[j + 1]] === pred[order[i]]) j++;
    const avgRank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) {
      if (label[order[k]] >= positiveAt) {
        rankSumPos += avgRank;
        nPos++;
      }
    }
    i = j + 1;
  }
  const nNeg = n - nPos;
  if (nPos === 0 || nNeg === 0) return NaN;
  return (rankSumPos - (nPos * (nPos + 1)) / 2) / (nPos * nNeg);
}

/**
 * The last `capacity` (prediction, label) pairs of a stream in a ring buffer: rolling AUC and mean label over a
 * sliding window, in constant memory, for online quality gauges (a cumulative figure since process start would hide
 * a recent drop behind hours of history).
 */
export class SlidingBinaryWindow {
  private readonly preds: Float64Array;
  private readonly labels: Float64Array;
  private filled = 0;
  private next = 0;

  constructor(
    readonly capacity: number,
    private readonly positiveAt = 0.5,
  ) {
    if (!(capacity >= 1)) throw new Error(`window capacity must be >= 1, got ${capacity}`);
    this.preds = new Float64Array(capacity);
    this.labels = new Float64Array(capacity);
  }

  get size(): number {
    return this.filled;
  }

  add(prediction: number, label: number): void {
    this.preds[this.next] = prediction;
    this.labels[this.next] = label;
    this.next = (this.next + 1) % this.capacity;
    if (this.filled < this.capacity) this.filled++;
  }

  /** ROC AUC of the pairs in the window (order does not matter); NaN when only one class is present. */
  auc(): number {
    return auc(this.preds.subarray(0, this.filled), this.labels.subarray(0, this.filled), this.positiveAt);
  }

  /** Mean label in the window (a hit rate when labels are 0/1); NaN when empty. */
  meanLabel(): number {
    let s = 0;
    for (let i = 0; i < this.filled; i++) s += this.labels[i];
    return this.filled ? s / this.filled : NaN;
  }
}
