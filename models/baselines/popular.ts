import type { StreamEvent, StreamRecommender } from '../eval/types';

/** Which events count towards popularity. */
export type PopularityCounts = 'positives' | 'all';

/** Serialized state of {@link MostPopular}: plain JSON, restores to identical scores. */
export interface MostPopularState {
  version: 1;
  counting: PopularityCounts;
  /** count per item index, trailing zeros trimmed */
  counts: number[];
}

/** Serialized state of {@link RecentPopular}: plain JSON, restores to identical scores and further learning. */
export interface RecentPopularState {
  version: 1;
  halfLifeSeconds: number;
  /** reference time (seconds) of the scaled counts; null before the first positive */
  t0: number | null;
  /** scaled count per item index (weights relative to 2^((t - t0) / halfLife)), trailing zeros trimmed */
  counts: number[];
}

function isPositive(ev: StreamEvent): boolean {
  if (ev.kind === 'rating') return ev.value >= 4;
  return ev.kind !== 'dislike' && ev.kind !== 'skip' && ev.kind !== 'view';
}

/** Every learner gets the same scores: the counts, 0 for items the table has not grown to yet. */
function scoresFrom(counts: Float64Array, out: Float64Array, nItems: number): void {
  const m = Math.min(nItems, counts.length);
  for (let i = 0; i < m; i++) out[i] = counts[i];
  for (let i = m; i < nItems; i++) out[i] = 0;
}

/** Most popular so far: the number of (positive) interactions each item has had up to now. */
export class MostPopular implements StreamRecommender {
  readonly name = 'most-popular';
  private counts = new Float64Array(1024);

  constructor(private readonly counting: PopularityCounts = 'positives') {}

  score(_user: number, out: Float64Array, nItems: number): void {
    scoresFrom(this.counts, out, nItems);
  }

  learn(ev: StreamEvent): void {
    if (this.counting === 'positives' && !isPositive(ev)) return;
    if (ev.item >= this.counts.length) this.counts = grow(this.counts, ev.item + 1);
    this.counts[ev.item] += 1;
  }

  serialize(): MostPopularState {
    return { version: 1, counting: this.counting, counts: trimmed(this.counts) };
  }

  static deserialize(state: MostPopularState): MostPopular {
    checkVersion(state.version, 'most-popular');
    const m = new MostPopular(state.counting);
    m.counts = restored(state.counts);
    return m;
  }
}

/**
 * Recent popularity: counts decayed exponentially with a half-life in seconds of event time. Implemented with a
 * growing global scale (each new event adds 2^(t/halfLife)) so learning is O(1); the table is rescaled before the
 * scale overflows, which changes nothing in the ranking.
 */
export class RecentPopular implements StreamRecommender {
  readonly name = 'recent-popular';
  private counts = new Float64Array(1024);
  private t0 = Number.NaN;

  /** @param halfLifeSeconds half-life of an interaction's weight; default 30 days */
  constructor(private readonly halfLifeSeconds = 30 * 86400) {}

  score(_user: number, out: Float64Array, nItems: number): void {
    scoresFrom(this.counts, out, nItems);
  }

  learn(ev: StreamEvent): void {
    if (!isPositive(ev)) return;
    if (ev.item >= this.counts.length) this.counts = grow(this.counts, ev.item + 1);
    if (Number.isNaN(this.t0)) this.t0 = ev.t;
    let exponent = (ev.t - this.t0) / this.halfLifeSeconds;
    if (exponent > 500) {
      // rescale: move the reference time forward to keep the weights finite
      const f = Math.pow(2, -exponent);
      for (let i = 0; i < this.counts.length; i++) this.counts[i] *= f;
      this.t0 = ev.t;
      exponent = 0;
    }
    this.counts[ev.item] += Math.pow(2, exponent);
  }

  serialize(): RecentPopularState {
    return {
      version: 1,
      halfLifeSeconds: this.halfLifeSeconds,
      t0: Number.isNaN(this.t0) ? null : this.t0,
      counts: trimmed(this.counts),
    };
  }

  static deserialize(state: RecentPopularState): RecentPopular {
    checkVersion(state.version, 'recent-popular');
    const m = new RecentPopular(state.halfLifeSeconds);
    m.t0 = state.t0 ?? Number.NaN;
    m.counts = restored(state.counts);
    return m;
  }
}

// Float64 counts survive JSON exactly (numbers print with round-trip precision); capacity is not state, so only the
// used prefix is stored and the table is re-grown to at least its usual starting size.
function trimmed(a: Float64Array): number[] {
  let n = a.length;
  while (n > 0 && a[n - 1] === 0) n--;
  return Array.from(a.subarray(0, n));
}

function restored(counts: readonly number[]): Float64Array<ArrayBuffer> {
  const a = new Float64Array(Math.max(1024, counts.length));
  a.set(counts);
  return a;
}

function checkVersion(version: number, what: string): void {
  if (version !== 1) throw new Error(`unsupported ${what} state version ${String(version)}`);
}

export function grow<T extends Float64Array | Float32Array | Int32Array>(a: T, min: number): T {
  let n = Math.max(16, a.length);
  while (n < min) n *= 2;
  const b = new (a.constructor as new (n: number) => T)(n);
  b.set(a);
  return b;
}
