/**
 * Cold-start evaluation (issue 4): hold back every interaction of a random fraction of resources until a cut-over
 * time; at the cut-over those resources are published (they exist in the catalogue, with their text, but nobody has
 * interacted with them); then, prequentially as everywhere else, measure Recall@k / NDCG@k on their first positive
 * interactions. Comparing a recommender with and without the content encoder on the same split shows what the text
 * buys. Also reported: all positives on held-back resources after the cut-over, and all positives after the cut-over
 * (any resource), to show the gain on new resources is not bought with losses elsewhere.
 */
import { rankOf } from '../kernel';
import { mulberry32 } from '../random/prng';
import { hitAt, ndcgAt } from './metrics';
import type { StreamEvent, StreamRecommender } from './types';

export interface ColdStartSplitOptions {
  /** Fraction of resources held back; default 0.2. */
  heldFraction: number;
  /** Cut-over at this quantile of the stream's events (by position in time order); default 0.5. */
  cutoverQuantile: number;
  seed: number;
}

export interface ColdStartSplit {
  /** 1 for held-back resources, by dense index. */
  held: Uint8Array;
  heldItems: number[];
  /** Event time (seconds) of the cut-over. */
  cutoverT: number;
  /** The stream with held-back resources' events before the cut-over removed. */
  events: StreamEvent[];
  droppedEvents: number;
  nItems: number;
}

export function splitColdStart(events: readonly StreamEvent[], opts: Partial<ColdStartSplitOptions> = {}): ColdStartSplit {
  const o: ColdStartSplitOptions = { heldFraction: 0.2, cutoverQuantile: 0.5, seed: 1, ...opts };
  let nItems = 0;
  for (const ev of events) if (ev.item + 1 > nItems) nItems = ev.item + 1;
  // Fisher-Yates with a seeded PRNG: the same seed holds back the same resources in every run and variant
  const order = Array.from({ length: nItems }, (_, i) => i);
  const rng = mulberry32(o.seed);
  for (let i = nItems - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  const held = new Uint8Array(nItems);
  const heldItems = order.slice(0, Math.round(o.heldFraction * nItems)).sort((a, b) => a - b);
  for (const i of heldItems) held[i] = 1;
  const cutoverT = events.length === 0 ? 0 : events[Math.min(events.length - 1, Math.floor(o.cutoverQuantile * events.length))].t;
  const kept = events.filter((ev) => !(held[ev.item] && ev.t < cutoverT));
  return { held, heldItems, cutoverT, events: kept, droppedEvents: events.length - kept.length, nItems };
}

/** A recommender under cold-start evaluation; `publish` is told which resources appear at the cut-over. */
export interface ColdStartCandidate extends StreamRecommender {
  /** @param t event time (seconds) of the cut-over */
  publish?(items: readonly number[], t: number): void;
}

export interface HitStats {
  recall: number;
  ndcg: number;
  n: number;
}

export interface ColdStartResult {
  name: string;
  /** First positive interaction of each held-back resource after the cut-over. */
  first: HitStats;
  /** First `firstN` positive interactions of each held-back resource. */
  firstN: HitStats;
  /** Every positive interaction with a held-back resource after the cut-over. */
  heldAll: HitStats;
  /** Every positive interaction after the cut-over (sampled every `overallEvery`-th). */
  overall: HitStats;
  /** Recall@k / NDCG@k on the p-th positive of held-back resources, p = 1..`curveN` (index p - 1): how fast a new
   * resource becomes recommendable as its evidence accumulates. */
  byPositive: HitStats[];
  seconds: number;
}

export interface ColdStartRunOptions {
  k: number;
  firstN: number;
  /** Evaluate every n-th post-cut-over positive for the overall figure (bounds the run time); default 1. */
  overallEvery: number;
  /** Length of the `byPositive` curve; default 10 (twice `firstN`, so it shows where the curves meet again). */
  curveN: number;
  isPositive: (ev: StreamEvent) => boolean;
  clock: () => number;
}

class Acc {
  private hits = 0;
  private gains = 0;
  n = 0;
  add(rank: number, k: number): void {
    this.hits += hitAt(rank, k);
    this.gains += ndcgAt(rank, k);
    this.n++;
  }
  get stats(): HitStats {
    return { recall: this.n ? this.hits / this.n : 0, ndcg: this.n ? this.gains / this.n : 0, n: this.n };
  }
}

/**
 * Runs one recommender over the split. Candidates at each test point: every resource seen so far in the (filtered)
 * stream plus, from the cut-over on, every held-back resource; minus what the learner already interacted with.
 */
export function runColdStart(split: ColdStartSplit, model: ColdStartCandidate, opts: Partial<ColdStartRunOptions> = {}): ColdStartResult {
  const o: ColdStartRunOptions = {
    k: 10,
    firstN: 5,
    overallEvery: 1,
    curveN: 10,
    isPositive: (ev) => (ev.kind === 'rating' ? ev.value >= 4 : ev.kind === 'complete' || ev.kind === 'bookmark' || ev.kind === 'click'),
    clock: () => performance.now(),
    ...opts,
  };
  const n = split.nItems;
  const available = new Uint8Array(n);
  const positives = new Uint32Array(n);
  const scores = new Float64Array(n);
  const interacted = new Set<number>();
  const history = new Map<number, number[]>();
  const first = new Acc(),
    firstN = new Acc(),
    heldAll = new Acc(),
    overall = new Acc();
  const byPositive = Array.from({ length: o.curveN }, () => new Acc());
  let published = false;
  let postPositives = 0;
  const start = o.clock();
  for (const ev of split.events) {
    if (!published && ev.t >= split.cutoverT) {
      for (const i of split.heldItems) available[i] = 1;
      model.publish?.(split.heldItems, ev.t);
      published = true;
    }
    const key = ev.user * n + ev.item;
    if (published && o.isPositive(ev) && !interacted.has(key)) {
      const isHeld = split.held[ev.item] === 1;
      const p = isHeld ? ++positives[ev.item] : 0;
      const sampled = postPositives++ % o.overallEvery === 0;
      if (isHeld || sampled) {
        model.score(ev.user, scores, n, ev.t);
        for (let i = 0; i < n; i++) if (!available[i]) scores[i] = -Infinity;
        for (const h of history.get(ev.user) ?? []) scores[h] = -Infinity;
        const rank = rankOf(scores, n, ev.item);
        if (sampled) overall.add(rank, o.k);
        if (isHeld) {
          heldAll.add(rank, o.k);
          if (p <= o.firstN) firstN.add(rank, o.k);
          if (p === 1) first.add(rank, o.k);
          if (p <= o.curveN) byPositive[p - 1].add(rank, o.k);
        }
      }
    }
    model.learn(ev);
    if (!interacted.has(key)) {
      interacted.add(key);
      let h = history.get(ev.user);
      if (!h) history.set(ev.user, (h = []));
      h.push(ev.item);
    }
    available[ev.item] = 1;
  }
  return {
    name: model.name,
    first: first.stats,
    firstN: firstN.stats,
    heldAll: heldAll.stats,
    overall: overall.stats,
    byPositive: byPositive.map((a) => a.stats),
    seconds: (o.clock() - start) / 1000,
  };
}
