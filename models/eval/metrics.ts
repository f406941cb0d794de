/** Ranking metrics for a single held-out item (leave-one-out per event). */

/** 1 if the item's 1-based rank is within the cutoff, else 0. Rank 0 means "not ranked". */
export function hitAt(rank: number, k: number): number {
  return rank >= 1 && rank <= k ? 1 : 0;
}

/** NDCG@k with one relevant item: 1 / log2(rank + 1) inside the cutoff (the ideal DCG is 1). */
export function ndcgAt(rank: number, k: number): number {
  return rank >= 1 && rank <= k ? 1 / Math.log2(rank + 1) : 0;
}

/** Running mean that also keeps per-window means for plotting metrics along the stream. */
export class WindowedMean {
  private sum = 0;
  private count = 0;
  private wSum = 0;
  private wCount = 0;
  readonly windows: { endEvent: number; mean: number; count: number }[] = [];

  constructor(private readonly windowEvents: number) {}

  add(x: number): void {
    this.sum += x;
    this.count++;
    this.wSum += x;
    this.wCount++;
  }

  /** Call once per stream event (test point or not) with its 0-based position; closes windows on boundaries. */
  tick(eventIndex: number): void {
    if ((eventIndex + 1) % this.windowEvents === 0) this.flush(eventIndex + 1);
  }

  flush(endEvent: number): void {
    if (this.wCount > 0) this.windows.push({ endEvent, mean: this.wSum / this.wCount, count: this.wCount });
    this.wSum = 0;
    this.wCount = 0;
  }

  get mean(): number {
    return this.count === 0 ? 0 : this.sum / this.count;
  }

  get n(): number {
    return this.count;
  }
}
