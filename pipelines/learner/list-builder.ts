import type { LiveIvf, LiveIvfOptions } from './ivf';
import type { Logger } from '../../lib/log';
import type { Emitter } from '../../lib/metrics/instrumentation';
import type { RecommendationList, ServingStore } from '../../serving/types';
import { CandidateGenerator } from './candidates';
import { MAX_INTERESTS, type LearnerRanker } from './rank';
import { Reranker } from './rerank';
import type { VariantRankers } from './variants';
import type { InterestIndex } from './interests';
import type { LearnerReviews } from './reviews';
import type { ItemSource } from './item-source';
import type { Learner, LearnerGroup } from './state';

export interface ListBuilderOptions {
  store: ServingStore;
  emit: Emitter;
  logger: Logger;
  items: ItemSource;
  ranker: LearnerRanker;
  variants: VariantRankers<LearnerRanker>;
  reviews: LearnerReviews;
  interests?: InterestIndex;
  /** The learner and the group holding them, when this instance holds them. */
  find: (userId: string) => { l: Learner; group: LearnerGroup } | undefined;
  /** Whether `group` is still one this instance holds (not revoked while a batch was scored). */
  holds: (group: LearnerGroup) => boolean;
  modelVersion: string;
  dim: number;
  kernel?: 'auto' | 'js';
  onnxMinWork?: number;
  ivf?: LiveIvfOptions;
  rerankIntervalMs: number;
  maxPendingReranks?: number;
  now: () => number;
  manualReranks?: boolean;
  /** Records still waiting in a partition after a batch above which its re-ranks coalesce with the next batches' (config pipeline.lagHoldRecords). */
  lagHoldRecords: number;
  /** ... for at most this many batch ends of the partition (config pipeline.lagHoldBatches) ... */
  lagHoldBatches: number;
  /** ... or this long as a safety net (config pipeline.lagHoldMs). */
  lagHoldMs: number;
  /**
   * Learners ranked between event-loop turns within one scoring batch (config pipeline.rerankChunk): each chunk's
   * lists are written as soon as it is ranked. 0 = the whole batch in one block. Default 0 (chunks did not make freshness better in an A/B: docs/benchmarks.md).
   */
  rerankChunk?: number;
}

/** Default of {@link ListBuilderOptions.rerankChunk}. */
export const DEFAULT_RERANK_CHUNK = 0;

/**
 * Builds and writes the learners' lists: the coalescing re-rank queue (./rerank.ts), batched candidate scoring (one
 * scoring call for every learner due at once), ranking under the learner's experiment variant, review slots, and the
 * serving facts written beside a list (knowledge, review cards) when they changed.
 */
export class ListBuilder {
  readonly reranker: Reranker;
  private readonly candidates: CandidateGenerator;
  private readonly knowledgeDirty = new Set<string>();
  private readonly reviewsDirty = new Set<string>();
  /** Batch ends under lag since the group's held learners were last released. */
  private readonly lagBatches = new Map<number, number>();

  constructor(private readonly o: ListBuilderOptions) {
    this.candidates = new CandidateGenerator({
      dim: o.dim,
      logger: o.logger,
      kernel: o.kernel,
      minOnnxWork: o.onnxMinWork,
      emit: o.emit,
      ivf: o.ivf,
    });
    // until the session is ready (tens of ms) re-ranks use the JS kernel
    void this.candidates.init();
    this.reranker = new Reranker({
      store: o.store,
      buildChunks: (users) => this.buildLists(users),
      emit: o.emit,
      logger: o.logger,
      intervalMs: o.rerankIntervalMs,
      maxPending: o.maxPendingReranks,
      now: o.now,
      manual: o.manualReranks,
    });
  }

  /** Learners scored by each candidate kernel so far (which path ran). */
  get scoredBy(): { readonly onnx: number; readonly js: number; readonly ivf: number } {
    return this.candidates.scored;
  }

  /** The inverted-file candidate index (null when off). */
  get candidateIndex(): LiveIvf | null {
    return this.candidates.ivf;
  }

  /** Whether the onnxruntime kernel is loaded (false: not yet, or it failed once and JS scores from then on). */
  get usesOnnx(): boolean {
    return this.candidates.usesOnnx;
  }

  /** The learner's knowledge changed: written with their next list. */
  knowledgeChanged(userId: string): void {
    this.knowledgeDirty.add(userId);
  }

  /** The learner's review cards changed: written with their next list. */
  reviewsChanged(userId: string): void {
    this.reviewsDirty.add(userId);
  }

  /** The learner is erased: nothing of theirs is written again. */
  forget(userId: string): void {
    this.knowledgeDirty.delete(userId);
    this.reviewsDirty.delete(userId);
    this.reranker.forget(userId);
  }

  /**
   * End of a fetched batch: every learner its events touched is re-ranked once now, from the state after their last
   * event (the events only held them: Reranker.hold), in scoring batches of many learners and one pipelined write each.
   */
  batchEnd(group?: number, behind?: number): void {
    // Under lag (a backlog: more records already waiting than a few batches hold) a list rebuilt now would be rebuilt
    // again within milliseconds by the learner's next batch: the held learners wait (up to lagHoldMs, the
    // Reranker's hold timer) and are re-ranked once for all those batches. Counted in batches, not in time: a
    // wall-clock bound re-ranked nearly every event on a loaded machine (62 events/s wall: 1 s held ~60 events of ~60
    // learners; 10 s fired inside every 11 s batch). Caught up, every batch end releases.
    const g = group ?? -1;
    const holdRecords = this.o.lagHoldRecords;
    if (behind !== undefined && behind > holdRecords) {
      const n = (this.lagBatches.get(g) ?? 0) + 1;
      if (n < this.o.lagHoldBatches) {
        this.lagBatches.set(g, n);
        this.reranker.holdFor(this.o.lagHoldMs);
        return;
      }
    }
    this.lagBatches.delete(g);
    if (behind !== undefined && behind <= holdRecords) this.reranker.caughtUp();
    this.reranker.release(group);
  }

  /** Ranks one learner synchronously with the JS kernel (prequential evaluation from state). */
  rankSync(g: LearnerGroup, userId: string, l: Learner) {
    const table = this.o.items.table();
    const ranker = this.o.ranker;
    const [top] = this.candidates.generateSync(
      table,
      [l.cf.vector],
      (_j, row) => ranker.mask(l, table, row),
      ranker.k,
      () => ranker.filter(l, table),
    );
    const now = this.o.now();
    return this.o.reviews.slot(l, table, this.o.variants.for(userId).ranker.rank(userId, l, table, g.knowledge, top, now), now);
  }

  /** Stops re-ranking (waits for writes in flight) and releases the scoring kernel. */
  async stop(): Promise<void> {
    await this.reranker.stop();
    await this.candidates.release();
  }

  /**
   * The lists of a batch of due learners: one scoring call for all of them, then per-learner list building in chunks
   * of rerankChunk learners with a macrotask turn between chunks. Ranking a learner costs ~1 ms: a batch of ~100
   * ranked in one block held the event loop for ~100 ms, so its first learner's list (and every acknowledgement, timer
   * and batch of this process) waited for its last. Yields the lists of consecutive slices of `userIds`.
   */
  private async *buildLists(userIds: string[]): AsyncGenerator<(RecommendationList | null)[]> {
    const found = userIds.map((u) => this.o.find(u));
    const live = found.flatMap((f, j) => (f ? [{ ...f, j }] : []));
    if (live.length === 0) {
      yield userIds.map(() => null);
      return;
    }
    const table = this.o.items.table();
    const ranker = this.o.ranker;
    const tops = await this.candidates.generate(
      table,
      live.map((x) => x.l.cf.vector),
      (j, row) => ranker.mask(live[j].l, table, row),
      ranker.k,
      (j) => ranker.filter(live[j].l, table),
    );
    const now = this.o.now();
    const chunk = this.o.rerankChunk ?? DEFAULT_RERANK_CHUNK;
    const step = chunk > 0 ? chunk : userIds.length;
    let b = 0; // next entry of `live` (in userIds order)
    for (let from = 0; from < userIds.length; from += step) {
      // between chunks: acknowledgements, timers and other partitions' batches run
      if (from > 0) await new Promise<void>((r) => setImmediate(r));
      const to = Math.min(userIds.length, from + step);
      const out: (RecommendationList | null)[] = [];
      for (let j = from; j < to; j++) {
        out.push(null);
        if (b >= live.length || live[b].j !== j) continue;
        const { l, group } = live[b];
        const top = tops[b++];
        const userId = userIds[j];
        // erased (or its group revoked) while the batch was scored or an earlier chunk ranked: nothing to write
        if (group.learners.get(userId) !== l || !this.o.holds(group)) continue;
        const { ranker: variant, ref } = this.o.variants.for(userId);
        const items = this.o.reviews.slot(l, table, variant.rank(userId, l, table, group.knowledge, top, now), now);
        const list = this.list(userId, l, group, items);
        if (ref) list.ref = ref;
        out[j - from] = list;
        this.embedRestored(userId, l);
      }
      yield out;
    }
  }

  /**
   * A learner restored from a checkpoint has interest strings but no vectors in this process yet: they are embedded
   * once (off the re-rank, which used topic matches meanwhile) and the learner is ranked again.
   */
  private embedRestored(userId: string, l: Learner): void {
    const ix = this.o.interests;
    if (!ix?.enabled || l.interests.length === 0) return;
    const ranked = l.interests.slice(0, MAX_INTERESTS);
    if (ranked.every((x) => ix.has(x))) return;
    void ix.ensure(ranked).then((ok) => {
      if (ok && this.o.find(userId)?.l === l) this.reranker.request(userId);
    });
  }

  private list(userId: string, l: Learner, group: LearnerGroup, items: RecommendationList['items']): RecommendationList {
    if (this.knowledgeDirty.delete(userId)) {
      const skills = group.knowledge.mastery(userId);
      void this.o.store
        .putKnowledge({ userId, skills, updatedAt: Date.now() })
        .catch((err) => this.o.logger.warn('putKnowledge failed', { err }));
    }
    if (this.reviewsDirty.delete(userId)) {
      void this.o.store
        .putReviews(this.o.reviews.state(userId, l, Date.now()))
        .catch((err) => this.o.logger.warn('putReviews failed', { err }));
    }
    // A learner known only by declared interests gets an interest-based start, labelled so the API can say so.
    const source = l.interactions === 0 && l.quizzes === 0 && l.interests.length > 0 ? 'cold-start:interests' : 'personal';
    return { userId, items, modelVersion: this.o.modelVersion, generatedAt: Date.now(), eventTime: l.lastEventAt || undefined, source };
  }
}
