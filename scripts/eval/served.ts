/**
 * The served-path evaluation: the production learner stage (LearnerProcessor, the configuration `npm start` runs, in
 * synchronous item mode so that it runs in-process without Kafka) with the in-memory serving store, driven over a
 * movielens stream in time order. Each test point is scored against what the read API (serveRecommendations, the
 * same function the express route calls) answers for that learner just before the event: the list in the store, with
 * the re-ranks due for every earlier event completed. Re-ranks coalesce in event time (config
 * pipeline.rerankIntervalMs): a re-rank asked for by an event is due at once, or at the end of the learner's
 * coalescing interval; a learner's next event in the same instant sees the list from before the coalesced ones.
 */
import { MemoryServingStore } from '../../serving/memory-store';
import { loadConfig } from '../../lib/config';
import { createLogger } from '../../lib/log';
import { noopEmitter } from '../../lib/metrics/instrumentation';
import { serveRecommendations } from '../../api/recommend/serve';
import { hitAt, ndcgAt, WindowedMean } from '../../models/eval/metrics';
import { defaultIsTestPoint, type PrequentialResult } from '../../models/eval/prequential';
import type { StreamEvent } from '../../models/eval/types';
import type { InteractionEvent } from '../../consumers/event-types';
import { LearnerProcessor } from '../../pipelines/learner/processor';
import type { LearnerRankOptions } from '../../pipelines/learner/rank';
import { learnerStageSettings } from '../../pipelines/pipeline';
import type { MovielensStream } from './movielens';
import { assignVariant } from '../../models/experiments/assign';
import type { Experiment } from '../../models/experiments/types';

/**
 * Events per emulated fetched batch (--batch-events): at 1,000 events/s a fetch returns tens of records. A batch also
 * ends before an event of a learner it already holds, so each test point is scored against the list built from that
 * learner's state after their previous event, as in live traffic (one event per learner per batch); only the global
 * rows (other learners' gradients and transitions) may be up to a batch newer than at that event.
 */
const DEFAULT_BATCH_EVENTS = 64;

/** Served variants by CLI name: the learning layer's switches (the ablation of docs/evaluation.md). */
export const SERVED_VARIANTS: Record<string, Omit<LearnerRankOptions, 'topN'>> = {
  // the default configuration: difficulty fit, interests, exploration, MMR diversity and reasons on
  served: {},
  'served-relevance-only': { learningLayer: false },
  // relevance + one part of the learning layer at a time
  'served-relevance+difficulty': { learningLayer: false, rank: { weights: { difficulty: 0.5 } } },
  'served-relevance+interests': { learningLayer: false, rank: { weights: { interest: 1, recent: 0.5 } } },
  'served-relevance+exploration': { learningLayer: false, reserveNew: 3 },
  'served-relevance+mmr': { learningLayer: false, rank: { mmrLambda: 0.75 } },
};

export function isServedMethod(name: string): boolean {
  return name in SERVED_VARIANTS;
}

export interface ServedResult extends PrequentialResult {
  /** test points answered from the learner's own list (the rest got the API's labelled fallback) */
  personal: number;
  /** re-ranks run (coalesced in event time) */
  reranks: number;
  cpuSeconds: number;
  /** Learners whose candidates each kernel scored (`ivf`: the inverted-file index of a catalogue above pipeline.ivfMinRows). */
  candidates: { js: number; onnx: number; ivf: number };
  /** With an experiment: the same figures per variant, each over the test points of the learners assigned to it. */
  variants?: { experiment: string; variant: string; learners: number; testPoints: number; recall: number; ndcg: number }[];
}

/** Runs one served variant over the stream (dense ids mapped back to the dataset's own ids). */
export async function runServed(
  stream: MovielensStream,
  name: string,
  opts: { k?: number; windowEvents?: number; firstTestEvent?: number; batchEvents?: number; experiment?: Experiment } = {},
): Promise<ServedResult> {
  const variant = SERVED_VARIANTS[name];
  const k = opts.k ?? 10;
  const windowEvents = opts.windowEvents ?? 5000;
  const batchEvents = opts.batchEvents ?? DEFAULT_BATCH_EVENTS;
  const config = loadConfig();
  const settings = learnerStageSettings(config);
  let clock = 0;
  const now = () => clock;
  const store = new MemoryServingStore({ now });
  const events = stream.events;
  let current: InteractionEvent | null = null;
  // when the learner stage's own learning layer differs from the default, the variant's switches apply on top of it
  // (a variant with learningLayer false starts from relevance alone and adds back one part)
  const chosen: Omit<LearnerRankOptions, 'topN'> =
    variant.learningLayer === false && name !== 'served-relevance-only' ? withPart(variant) : variant;
  // the stage's configured ranking options (target success), then the variant's switches
  const ranking: Omit<LearnerRankOptions, 'topN'> = { ...chosen, rank: { ...settings.ranking.rank, ...chosen.rank } };
  const p = new LearnerProcessor({
    decode: () => Promise.resolve(current),
    model: settings.model,
    store,
    emit: noopEmitter,
    logger: createLogger({ level: 'error' }),
    topics: { interactions: 'i', quizAttempts: 'q', profiles: 'p', erasures: 'e', itemUpdates: 'u' },
    tombstone: () => Promise.resolve(),
    topN: settings.topN,
    historyLength: settings.historyLength,
    rerankIntervalMs: settings.rerankIntervalMs,
    signalRefreshMs: settings.signalRefreshMs,
    modelVersion: 'served-eval',
    kernel: 'js',
    // large catalogues' inverted-file candidates as the stage runs them (LEARNSTREAM_IVF_MIN_ROWS / _NPROBE)
    ivf: { minRows: config.pipeline.ivfMinRows, nprobe: config.pipeline.ivfNprobe },
    now,
    manualReranks: true,
    ranking,
    tuning: settings.tuning,
    // the experiment as `npm start` would run it: every learner ranked under their variant (active or not here)
    ...(opts.experiment ? { experiments: [{ ...opts.experiment, active: true }] } : {}),
  });
  p.restore(0, null);
  const exp = opts.experiment;
  const perVariant = new Map<string, { learners: Set<number>; n: number; hits: number; ndcg: number }>(
    exp?.variants.map((v) => [v.name, { learners: new Set<number>(), n: 0, hits: 0, ndcg: 0 }]) ?? [],
  );
  const interacted = new Set<number>();
  const stride = stream.itemIds.length + 1;
  const recall = new WindowedMean(windowEvents);
  const ndcg = new WindowedMean(windowEvents);
  const recommended = new Set<string>();
  let personal = 0;
  let reranks = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const value = Buffer.alloc(1);
  let inBatch = 0;
  const batchUsers = new Set<string>();
  for (let e = 0; e < events.length; e++) {
    const ev: StreamEvent = events[e];
    clock = ev.t * 1000;
    const userId = stream.userIds[ev.user];
    if (inBatch >= batchEvents || batchUsers.has(userId)) {
      // the fetched batch ends: the learner stage re-ranks every learner it touched (Reranker.release), and what is
      // due by the coalescing interval runs too
      const before = p.reranker.pending;
      p.afterBatch();
      await p.reranker.runDue();
      // a large catalogue's candidate index builds in the background: waited for here, so the replay ranks as a
      // stage that has been running would (from the index once built), whatever the replay's wall-clock speed
      await p.candidateIndex?.pending;
      reranks += before - p.reranker.pending;
      inBatch = 0;
      batchUsers.clear();
    }
    const resourceId = stream.itemIds[ev.item];
    const key = ev.user * stride + ev.item;
    if (e >= (opts.firstTestEvent ?? 0) && defaultIsTestPoint(ev) && !interacted.has(key)) {
      await p.flushDerived();
      const served = await serveRecommendations(store, { userId, limit: k, explain: false });
      if (served.source === 'personal') personal++;
      let rank = 0;
      served.items.forEach((it, r) => {
        recommended.add(it.resourceId);
        if (it.resourceId === resourceId && rank === 0) rank = r + 1;
      });
      recall.add(hitAt(rank, k));
      ndcg.add(ndcgAt(rank, k));
      if (exp) {
        const v = perVariant.get(assignVariant(exp, userId).name)!;
        v.learners.add(ev.user);
        v.n++;
        v.hits += hitAt(rank, k);
        v.ndcg += ndcgAt(rank, k);
      }
    }
    current = { kind: 'interaction', eventId: `e${e}`, userId, resourceId, type: 'rate', value: ev.value, occurredAt: clock };
    await p.apply(0, { topic: 'i', partition: 0, offset: String(e), key: null, value, timestamp: clock, headers: {} });
    interacted.add(key);
    inBatch++;
    batchUsers.add(userId);
    recall.tick(e);
    ndcg.tick(e);
  }
  await p.stop();
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  if (events.length % windowEvents !== 0) {
    recall.flush(events.length);
    ndcg.flush(events.length);
  }
  return {
    name,
    events: events.length,
    testPoints: recall.n,
    recall: recall.mean,
    ndcg: ndcg.mean,
    coverage: stream.itemIds.length === 0 ? 0 : recommended.size / stream.itemIds.length,
    eventsPerSecond: seconds > 0 ? events.length / seconds : 0,
    seconds,
    windows: recall.windows.map((w, i) => ({
      endEvent: w.endEvent,
      recall: w.mean,
      ndcg: ndcg.windows[i]?.mean ?? 0,
      testPoints: w.count,
    })),
    personal,
    reranks,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    candidates: { ...p.scoredBy },
    ...(exp
      ? {
          variants: [...perVariant].map(([variant, v]) => ({
            experiment: exp.id,
            variant,
            learners: v.learners.size,
            testPoints: v.n,
            recall: v.n ? v.hits / v.n : 0,
            ndcg: v.n ? v.ndcg / v.n : 0,
          })),
        }
      : {}),
  };
}

/** Relevance alone plus the variant's one part: the ranker's zeroed weights are given back only where the variant names them. */
function withPart(v: Omit<LearnerRankOptions, 'topN'>): Omit<LearnerRankOptions, 'topN'> {
  return {
    ...v,
    learningLayer: true,
    reserveNew: v.reserveNew ?? 0,
    rank: { mmrLambda: 1, prerequisitePenalty: 0, ...v.rank, weights: { interest: 0, recent: 0, difficulty: 0, ...v.rank?.weights } },
  };
}
