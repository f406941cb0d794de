import { topK } from '../kernel';
import { hitAt, ndcgAt, WindowedMean } from './metrics';
import type { StreamEvent, StreamRecommender } from './types';

/** Options of {@link runPrequential}. */
export interface PrequentialOptions {
  /** cutoff for hit and NDCG; default 10 */
  k?: number;
  /** which events are test points; default: rating >= 4 (movielens), or any non-rating positive kind */
  isTestPoint?: (ev: StreamEvent) => boolean;
  /** window size in stream events for the along-the-stream curve; default 5000 */
  windowEvents?: number;
  /** events before this stream position are learned but not tested (a tuning prefix); default 0 */
  firstTestEvent?: number;
  /** monotonic clock in milliseconds, passed in so the core stays free of globals; default performance.now */
  clock?: () => number;
}

/** Results of one recommender over one stream. */
export interface PrequentialResult {
  name: string;
  events: number;
  testPoints: number;
  /** HR@k = Recall@k with one held-out item per test point */
  recall: number;
  ndcg: number;
  /** distinct items that appeared in any top-k list / items in the catalogue at the end */
  coverage: number;
  /** stream events per second, test + learn, measured by `clock` */
  eventsPerSecond: number;
  seconds: number;
  /** Recall@k and NDCG@k per window of `windowEvents` stream events */
  windows: { endEvent: number; recall: number; ndcg: number; testPoints: number }[];
}

export function defaultIsTestPoint(ev: StreamEvent): boolean {
  if (ev.kind === 'rating') return ev.value >= 4;
  return ev.kind === 'complete' || ev.kind === 'bookmark' || ev.kind === 'click';
}

/**
 * Prequential (test-then-learn) evaluation. For every test point, before the model learns from it, rank every item
 * seen so far in the stream that the learner has not interacted with yet (any event counts as an interaction, also
 * low ratings), and score hit@k and NDCG@k of the item actually chosen. Then the model learns from every event.
 * Items first seen in the current event cannot be recommended and count as misses.
 */
export function runPrequential(events: readonly StreamEvent[], model: StreamRecommender, opts: PrequentialOptions = {}): PrequentialResult {
  const k = opts.k ?? 10;
  const isTest = opts.isTestPoint ?? defaultIsTestPoint;
  const clock = opts.clock ?? (() => performance.now());
  const windowEvents = opts.windowEvents ?? 5000;
  const firstTest = opts.firstTestEvent ?? 0;

  let maxItem = -1;
  let maxUser = -1;
  for (const ev of events) {
    if (ev.item > maxItem) maxItem = ev.item;
    if (ev.user > maxUser) maxUser = ev.user;
  }
  const scores = new Float64Array(maxItem + 1);
  const seenItem = new Uint8Array(maxItem + 1);
  const recommended = new Uint8Array(maxItem + 1);
  const history: number[][] = Array.from({ length: maxUser + 1 }, () => []);
  const interacted = new Set<number>(); // user * (maxItem+1) + item
  const stride = maxItem + 1;
  const topBuf = new Int32Array(k);
  const recall = new WindowedMean(windowEvents);
  const ndcg = new WindowedMean(windowEvents);
  let nSeen = 0; // items are dense in first-appearance order, so "seen" = index < nSeen
  let nRecommended = 0;

  const start = clock();
  for (let e = 0; e < events.length; e++) {
    const ev = events[e];
    if (e >= firstTest && isTest(ev) && !interacted.has(ev.user * stride + ev.item)) {
      model.score(ev.user, scores, nSeen, ev.t);
      const hist = history[ev.user];
      for (let h = 0; h < hist.length; h++) scores[hist[h]] = -Infinity;
      const top = topK(scores, nSeen, k, topBuf);
      let rank = 0;
      for (let r = 0; r < top.length; r++) {
        const it = top[r];
        if (it === ev.item) rank = r + 1;
        if (!recommended[it]) {
          recommended[it] = 1;
          nRecommended++;
        }
      }
      recall.add(hitAt(rank, k));
      ndcg.add(ndcgAt(rank, k));
    }
    model.learn(ev);
    if (!interacted.has(ev.user * stride + ev.item)) {
      interacted.add(ev.user * stride + ev.item);
      history[ev.user].push(ev.item);
    }
    if (!seenItem[ev.item]) {
      seenItem[ev.item] = 1;
      if (ev.item === nSeen) nSeen++;
      else nSeen = Math.max(nSeen, ev.item + 1); // tolerate non-dense input: unseen gaps then just score as-is
    }
    recall.tick(e);
    ndcg.tick(e);
  }
  const seconds = (clock() - start) / 1000;
  if (events.length % windowEvents !== 0) {
    recall.flush(events.length);
    ndcg.flush(events.length);
  }
  return {
    name: model.name,
    events: events.length,
    testPoints: recall.n,
    recall: recall.mean,
    ndcg: ndcg.mean,
    coverage: nSeen === 0 ? 0 : nRecommended / nSeen,
    eventsPerSecond: seconds > 0 ? events.length / seconds : 0,
    seconds,
    windows: recall.windows.map((w, i) => ({
      endEvent: w.endEvent,
      recall: w.mean,
      ndcg: ndcg.windows[i]?.mean ?? 0,
      testPoints: w.count,
    })),
  };
}
