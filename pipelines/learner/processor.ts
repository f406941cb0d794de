import type { LiveIvf, LiveIvfOptions } from './ivf';
import { KnowledgeModel } from '../../models/knowledge/model';
import { DEFAULT_RANK_OPTIONS } from '../../models/ranking/types';
import type { ServingStore } from '../../serving/types';
import type { Logger } from '../../lib/log';
import type { Emitter } from '../../lib/metrics/instrumentation';
import type { Decode, InteractionEvent, ProfileEvent, QuizEvent } from '../../consumers/event-types';
import type { GroupProcessor, InputRecord } from '../../consumers/runner/stage-runner';
import { eventWeight, type Interaction } from '../../models/collab';
import type { Experiment } from '../../models/experiments/types';
import { interactionKind, type CollabModel } from '../model/collab';
import type { ItemTable } from '../model/item-table';
import { EngagedSet } from '../model/engaged';
import type { ItemSink } from '../item/sink';
import { LearnerRanker, MAX_INTERESTS, type LearnerRankOptions } from './rank';
import type { Reranker } from './rerank';
import { VariantRankers } from './variants';
import type { InterestIndex } from './interests';
import { EventIdWindow } from './dedup';
import { LearnerReviews, type LearnerReviewOptions } from './reviews';
import { DerivedCounters } from './counters';
import { OnlineQuality } from './online-quality';
import { ListBuilder } from './list-builder';
import { itemSource, type ItemSource } from './item-source';
import { RerankTriggers } from './triggers';
import { erasedBefore, LearnerErasure } from './erasure';
import {
  COMPLETED_LENGTH,
  deserializeGroup,
  learnerChanged,
  pushHistory,
  serializeGroup,
  type Learner,
  type LearnerGroup,
  type LearnerGroupJSON,
} from './state';

/** Declared interests kept per learner (a profile event may name more). */
const MAX_INTERESTS_KEPT = 50;

/** The learner stage's tunables: config keys of the same names under `pipeline` (lib/config/schema.ts, docs/architecture.md). */
export interface LearnerTuning {
  /** Online quality: hits are counted in a list's top this many (the hit-rate gauges' k). */
  qualityHitK: number;
  /** Online quality gauges cover the most recent this many trials (sliding window) ... */
  qualityWindow: number;
  /** ... and are emitted every this many trials. */
  qualityEmitEvery: number;
  /** A new engagement is paired with the learner's this many most recent resources (co-engagement, for similar items). */
  coEngagementWindow: number;
  /** Popularity and co-engagement counts are written to the serving store every this many ms. */
  derivedFlushMs: number;
  /** Records still waiting in a partition after a batch above which the batch's re-ranks coalesce with the next ones ... */
  lagHoldRecords: number;
  /** ... for at most this many batch ends of the partition (~12k records at 256 KiB per fetch) ... */
  lagHoldBatches: number;
  /** ... or this long (ms) as a safety net. */
  lagHoldMs: number;
  /** Learners re-ranked per changed transition row at most (signal refresh): a popular resource must not start a re-rank storm. */
  refreshPerRow: number;
  /** Entries of the signal-refresh index (learners by their recent resources) at most: its memory bound. */
  refreshIndexEntries: number;
  /** Learners re-ranked at once for one new resource matching their declared interests at most. */
  interestRerankMax: number;
  /**
   * Learners ranked between event-loop turns within one scoring batch, each chunk's lists written as soon as it is
   * ranked (0 = the whole batch in one block).
   */
  rerankChunk: number;
}

export const DEFAULT_LEARNER_TUNING: Readonly<LearnerTuning> = {
  qualityHitK: 10,
  qualityWindow: 1000,
  qualityEmitEvery: 100,
  coEngagementWindow: 5,
  derivedFlushMs: 1000,
  lagHoldRecords: 500,
  lagHoldBatches: 8,
  lagHoldMs: 60_000,
  refreshPerRow: 200,
  refreshIndexEntries: 2_000_000,
  interestRerankMax: 10_000,
  rerankChunk: 0,
};

export interface LearnerProcessorOptions {
  decode: Decode;
  model: CollabModel;
  store: ServingStore;
  emit: Emitter;
  logger: Logger;
  /** Topic names, to tell the inputs apart. */
  topics: { interactions: string; quizAttempts: string; profiles: string; erasures: string; itemUpdates: string };
  /**
   * Distributed mode: item deltas go to model.item-updates through this sink and ranking reads `replica` (a follower
   * of model.item-factors). Synchronous mode (`sink` undefined): the learner stage owns the item table itself
   * (one partition group), applies deltas at once and consumes model.item-updates for catalogue upserts/removals.
   */
  sink?: ItemSink;
  replica?: ItemTable;
  /** Replica positions per item-updates partition (ItemReplica.reflected), for bounded staleness. */
  replicaReflected?: ReadonlyMap<number, bigint>;
  /**
   * Bounded staleness: consumption pauses while more than this many of our own acknowledged item updates (gradients,
   * per item-updates partition) are not yet reflected in the replica. Default 2000; 0 = off (no item stage anywhere). Keeps ranking quality independent of how far the
   * item stage lags, at the price of waiting for it.
   */
  maxReplicaLag?: number;
  /** Writes tombstones for an erased learner's keys in compacted topics (learners.profiles). */
  tombstone: (userId: string) => Promise<void>;
  topN: number;
  historyLength: number;
  rerankIntervalMs: number;
  modelVersion: string;
  /**
   * Prequential evaluation from state: every N-th positive interaction is first ranked from the learner's current
   * state (top-10) and scored as hit or miss, then learned. 0 = off (default; costs one full re-rank per sample).
   */
  evaluateEvery?: number;
  /** Pending re-ranks above which consumption pauses. Default 5000. */
  maxPendingReranks?: number;
  /** Buffered item updates above which consumption pauses. Default 20000. */
  maxSinkBacklog?: number;
  /** Candidate scoring kernel: 'auto' (default) = onnxruntime when it loads, else JS; 'js' = JS only. */
  kernel?: 'auto' | 'js';
  /** Item rows x learners from which a scoring batch runs on onnxruntime (config pipeline.onnxMinWork). Default 4096. */
  onnxMinWork?: number;
  /** Inverted-file candidates for large catalogues (config pipeline.ivfMinRows / ivfNprobe; default from 200k rows). */
  ivf?: LiveIvfOptions;
  /**
   * Declared interests embedded with the content encoder and matched to the catalogue's content vectors. Undefined,
   * or without an encoder: interests match by catalogue topic.
   */
  interests?: InterestIndex;
  /** How candidates are pooled and ranked (models/ranking); defaults in LearnerRankOptions. */
  ranking?: Omit<LearnerRankOptions, 'topN'>;
  /** Clock (epoch ms) of re-rank coalescing and ranking; default Date.now. The served-path eval passes event time. */
  now?: () => number;
  /** Re-ranks run only on reranker.runDue() (served-path eval); default false. */
  manualReranks?: boolean;
  /**
   * A learner whose recent resources gained transitions (learned from any learner, in any partition) is re-ranked at
   * most once per this many ms without an event of their own (config pipeline.signalRefreshMs); 0 = off. Default 0.
   */
  signalRefreshMs?: number;
  /**
   * Configured experiments (config `experiments`): the active one ranks each learner under their variant
   * (./variants.ts) and tags the list with it. None (default) = every learner ranked with `ranking`.
   */
  experiments?: readonly Experiment[];
  /** Spaced review (FSRS): reserved slots for due reviews, target retention (./reviews.ts); defaults there. */
  reviews?: LearnerReviewOptions;
  /** The stage's tunables (config pipeline.*, learnerStageSettings); each one defaults to DEFAULT_LEARNER_TUNING. */
  tuning?: Partial<LearnerTuning>;
}

/**
 * The learner stage's per-event logic: learn from the event at once (factors, knowledge, history, exact counts),
 * emit the item-side update, schedule a coalesced re-rank. State is per partition group, snapshotted by the runner.
 * This class dispatches; each other job is a part of its own: the item side (./item-source.ts: owned table or
 * replica), derived counts (./counters.ts), live quality gauges (./online-quality.ts), list building and batched
 * re-ranks (./list-builder.ts), re-ranks without an event of the learner's (./triggers.ts), erasure (./erasure.ts).
 */
export class LearnerProcessor implements GroupProcessor<LearnerGroupJSON> {
  readonly stage = 'learner';
  private readonly groups = new Map<number, LearnerGroup>();
  private readonly ranker: LearnerRanker;
  private readonly variants: VariantRankers<LearnerRanker>;
  /** FSRS review cards: rated per quiz attempt and review interaction, offered in reserved list slots. */
  readonly reviews: LearnerReviews;
  private readonly source: ItemSource;
  private readonly counters: DerivedCounters;
  /**
   * Completions of this batch not written to the serving store yet (userId -> resource ids, in order): written at the
   * batch end as one store call, not one Redis round trip per completion.
   */
  private completedPending = new Map<string, string[]>();
  readonly online: OnlineQuality;
  private readonly lists: ListBuilder;
  private readonly triggers: RerankTriggers;
  private readonly erasure: LearnerErasure;
  /** A new engagement is paired with this many of the learner's most recent resources (the serving-view rewrite recounts with it). */
  readonly coEngagementWindow: number;

  constructor(private readonly o: LearnerProcessorOptions) {
    const tuning: LearnerTuning = { ...DEFAULT_LEARNER_TUNING, ...o.tuning };
    this.coEngagementWindow = tuning.coEngagementWindow;
    const now = () => this.now();
    this.ranker = new LearnerRanker({ ...o.ranking, topN: o.topN }, o.interests);
    this.variants = new VariantRankers(
      o.experiments,
      o.ranking,
      (r) => new LearnerRanker({ ...r, topN: o.topN }, o.interests),
      this.ranker,
    );
    this.reviews = new LearnerReviews(o.reviews);
    const hooks = {
      model: o.model,
      ranker: this.ranker,
      signalsChanged: (id: string, except?: string) => this.triggers.signalsChanged(id, except),
      itemChanged: (id: string, wasActive: boolean) => this.triggers.itemChanged(id, wasActive),
    };
    this.source = itemSource(hooks, () => this.groups.get(0), {
      sink: o.sink,
      replica: o.replica,
      reflected: o.replicaReflected,
      maxReplicaLag: o.maxReplicaLag,
      maxSinkBacklog: o.maxSinkBacklog,
    });
    this.lists = new ListBuilder({
      store: o.store,
      emit: o.emit,
      logger: o.logger,
      items: this.source,
      ranker: this.ranker,
      variants: this.variants,
      reviews: this.reviews,
      interests: o.interests,
      find: (u) => this.find(u),
      holds: (g) => this.holds(g),
      modelVersion: o.modelVersion,
      dim: o.model.dim,
      kernel: o.kernel,
      onnxMinWork: o.onnxMinWork,
      ivf: o.ivf,
      rerankIntervalMs: o.rerankIntervalMs,
      maxPendingReranks: o.maxPendingReranks,
      now,
      manualReranks: o.manualReranks,
      lagHoldRecords: tuning.lagHoldRecords,
      lagHoldBatches: tuning.lagHoldBatches,
      lagHoldMs: tuning.lagHoldMs,
      rerankChunk: tuning.rerankChunk,
    });
    this.triggers = new RerankTriggers({
      reranker: this.lists.reranker,
      ranker: this.ranker,
      variants: this.variants,
      items: this.source,
      interests: o.interests,
      groups: () => this.groups.values(),
      learner: (u) => this.learner(u),
      now,
      signalRefreshMs: o.signalRefreshMs ?? 0,
      refreshPerRow: tuning.refreshPerRow,
      refreshIndexEntries: tuning.refreshIndexEntries,
      // a new resource this close to a declared interest re-ranks that learner at once: the ranker's reason threshold
      interestCosine: o.ranking?.rank?.reasonCosine ?? DEFAULT_RANK_OPTIONS.reasonCosine,
      interestRerankMax: tuning.interestRerankMax,
    });
    this.counters = new DerivedCounters({
      store: o.store,
      logger: o.logger,
      topicsOf: (id) => {
        const t = this.source.current();
        return t ? (t.meta[t.indexOf(id)]?.topics ?? []) : [];
      },
      coEngagementWindow: tuning.coEngagementWindow,
      flushMs: tuning.derivedFlushMs,
    });
    this.online = new OnlineQuality({
      emit: o.emit,
      hitK: tuning.qualityHitK,
      window: tuning.qualityWindow,
      emitEvery: tuning.qualityEmitEvery,
      evaluateEvery: o.evaluateEvery ?? 0,
    });
    this.erasure = new LearnerErasure({
      store: o.store,
      logger: o.logger,
      tombstone: o.tombstone,
      forget: (u, gone) => {
        this.triggers.forget(u, gone);
        this.lists.forget(u);
      },
      settle: (u) => this.lists.reranker.settle(u),
    });
  }

  /** The coalescing re-rank queue (./rerank.ts), owned by the list builder. */
  get reranker(): Reranker {
    return this.lists.reranker;
  }

  /** Prequential list quality: positive interactions, and how many hit the learner's cached top-K before learning. */
  get quality(): { readonly trials: number; readonly hits: number } {
    return this.online.quality;
  }

  /** Same, ranked from state at the event (evaluateEvery): independent of re-rank timing. */
  get evaluation(): { readonly trials: number; readonly hits: number } {
    return this.online.evaluation;
  }

  get popularWindow(): OnlineQuality['popularWindow'] {
    return this.online.popularWindow;
  }

  get quizWindow(): OnlineQuality['quizWindow'] {
    return this.online.quizWindow;
  }

  /** Learners scored by each candidate kernel so far (which path ran). */
  get scoredBy(): { readonly onnx: number; readonly js: number; readonly ivf: number } {
    return this.lists.scoredBy;
  }

  /** Whether the onnxruntime kernel is loaded (false: not yet, or it failed once and JS scores from then on). */
  get usesOnnx(): boolean {
    return this.lists.usesOnnx;
  }

  /** The inverted-file candidate index of a large catalogue (null when pipeline.ivfMinRows is 0). */
  get candidateIndex(): LiveIvf | null {
    return this.lists.candidateIndex;
  }

  get synchronous(): boolean {
    return this.source.synchronous;
  }

  /** The item table ranking reads: the owned one (synchronous) or the replica. */
  items(): ItemTable {
    return this.source.table();
  }

  restore(group: number, state: LearnerGroupJSON | null): void {
    const g: LearnerGroup = state
      ? deserializeGroup(state)
      : { learners: new Map<string, Learner>(), knowledge: new KnowledgeModel(), erased: new Map() };
    this.source.restore(group, g);
    this.groups.set(group, g);
    for (const [u, l] of g.learners) this.triggers.indexRecent(u, [], this.triggers.window(l.history));
    // Lists of restored learners may be stale relative to the restored state; they are rewritten on their next event.
  }

  /** `reuse` false: every row built afresh (tests compare the two). */
  snapshot(group: number, { reuse = true }: { reuse?: boolean } = {}): LearnerGroupJSON {
    return serializeGroup(this.groups.get(group)!, { reuse });
  }

  drop(group: number): void {
    const g = this.groups.get(group);
    if (g) {
      for (const [u, l] of g.learners) {
        this.reranker.forget(u);
        this.triggers.indexRecent(u, this.triggers.window(l.history), []);
      }
    }
    this.groups.delete(group);
  }

  async flush(): Promise<void> {
    await this.source.flush();
  }

  /**
   * End of a fetched batch: every learner its events touched is re-ranked once now (or, under lag, with the next
   * batches': ListBuilder.batchEnd).
   */
  afterBatch(group?: number, behind?: number): void {
    void this.writeCompleted().catch((err) => this.o.logger.warn('addCompleted failed', { err }));
    this.lists.batchEnd(group, behind);
  }

  /** Writes the completions counted since the last batch end (fire and forget there; awaited by flushes). */
  private writeCompleted(): Promise<void> {
    if (this.completedPending.size === 0) return Promise.resolve();
    const done = this.completedPending;
    this.completedPending = new Map();
    return this.o.store.addCompletedMany(done);
  }

  ready(): boolean {
    return this.reranker.hasRoom() && this.source.ready();
  }

  waitingFor(): string | undefined {
    if (!this.reranker.hasRoom()) return `serving store: ${this.reranker.pending} re-ranks pending`;
    return this.source.waitingFor();
  }

  /** Exact counts and state of one learner (tests and diagnostics). */
  learner(userId: string): Learner | undefined {
    return this.find(userId)?.l;
  }

  /** The partition groups this instance holds now (the serving-view rewrite walks them: ./rewrite.ts). */
  groupIds(): number[] {
    return [...this.groups.keys()];
  }

  groupState(group: number): LearnerGroup | undefined {
    return this.groups.get(group);
  }

  async apply(group: number, rec: InputRecord): Promise<void> {
    const g = this.groups.get(group)!;
    const t = this.o.topics;
    // Synchronous mode only: catalogue upserts / removals for the owned item table.
    if (rec.topic === t.itemUpdates) return this.source.applyItemUpdates(g, rec);
    if (rec.value === null) return; // tombstone on learners.profiles (our own, after an erasure): nothing to learn
    const ev = await this.o.decode(rec);
    if (!ev) return; // dead-lettered
    // An impression (a resource shown from a served list, issue 21) is attribution data for the experiment stage, not
    // feedback: the learner did nothing with the resource yet.
    if (ev.kind === 'interaction' && ev.type === 'impression') return;
    this.o.emit.emit('event.consumed', { topic: rec.topic, type: ev.kind === 'interaction' ? ev.type : ev.kind });
    if (ev.kind !== 'erasure' && ev.kind !== 'resource' && erasedBefore(g, ev.userId, rec.timestamp)) return; // sent before the learner's erasure: not learned
    if ((ev.kind === 'interaction' || ev.kind === 'quiz') && this.duplicate(g, rec, ev)) return;
    switch (ev.kind) {
      case 'interaction':
        return this.onInteraction(g, rec, ev);
      case 'quiz':
        return this.onQuiz(g, rec, ev);
      case 'profile':
        return this.onProfile(g, rec, ev);
      case 'erasure':
        // not written after the erasure's delete: those completions are erased with the learner
        this.completedPending.delete(ev.userId);
        return this.erasure.erase(g, rec, ev);
      default:
        return;
    }
  }

  /**
   * Exactly-once per eventId (./dedup.ts): true when the learner's window already holds this eventId, i.e. a client
   * or producer retry of an event applied before; it changes nothing and is counted. Otherwise records it.
   */
  private duplicate(g: LearnerGroup, rec: InputRecord, ev: InteractionEvent | QuizEvent): boolean {
    const l = this.learnerOf(g, ev.userId);
    if ((l.seen ??= new EventIdWindow()).add(ev.eventId)) return false;
    this.o.emit.emit('event.duplicate', { topic: rec.topic });
    return true;
  }

  /** The learner to change (every change of a learner goes through here: its next checkpoint row is built afresh). */
  private learnerOf(g: LearnerGroup, userId: string): Learner {
    let l = g.learners.get(userId);
    if (l) learnerChanged(g, l);
    else {
      l = {
        cf: this.o.model.newLearner(),
        interactions: 0,
        quizzes: 0,
        history: [],
        interests: [],
        completed: [],
        lastEventAt: 0,
        engaged: new EngagedSet(),
      };
      g.learners.set(userId, l);
    }
    return l;
  }

  /**
   * One learning step for (learner, resource): the collaborative step (learner now, item-side gradients to the owner)
   * and the recommender's global signals (transitions from the learner's recent resources, popularity), applied at
   * once where this stage owns the items (synchronous) or sent to their owners with the gradients (./item-source.ts).
   * Called before the resource enters the learner's history.
   */
  private learn(g: LearnerGroup, rec: InputRecord, l: Learner, ev: Interaction): void {
    const table = this.source.learningTable(g, ev.resourceId);
    const { learner, gradients } = this.o.model.learnerStep(l.cf, table, ev);
    l.cf = learner;
    const positive = eventWeight(ev, this.o.model.options.weights) > 0;
    this.source.publish({ group: g, rec, learner: l, ev, table, gradients, positive });
    if (positive) this.counters.countPopular(ev.resourceId);
  }

  private onInteraction(g: LearnerGroup, rec: InputRecord, ev: InteractionEvent): void {
    const l = this.learnerOf(g, ev.userId);
    const { kind, useValue } = interactionKind(ev.type);
    const value = useValue === 'value' ? (ev.value ?? undefined) : useValue === 'dwell' ? (ev.dwellMs ?? 0) / 1000 : undefined;
    const interaction: Interaction = {
      learnerId: ev.userId,
      resourceId: ev.resourceId,
      kind,
      timestamp: ev.occurredAt,
      ...(value !== undefined ? { value } : {}),
    };
    const positive = eventWeight(interaction, this.o.model.options.weights) > 0;
    if (positive) {
      // Test, then learn: was the resource in the list the learner was being shown?
      const shown = this.reranker.lastList(ev.userId);
      if (shown) this.online.listTrial(shown, ev.resourceId, this.online.inPopular(this.source.current(g), l, ev.resourceId));
      if (this.online.sampleEvaluation(l)) this.online.evaluationTrial(this.lists.rankSync(g, ev.userId, l), ev.resourceId);
    }
    if (positive && !l.history.includes(ev.resourceId)) this.counters.countCoEngagement(l.history, ev.resourceId);
    this.learn(g, rec, l, interaction);
    l.interactions++;
    this.pushRecent(ev.userId, l, ev.resourceId);
    l.lastEventAt = Math.max(l.lastEventAt, rec.timestamp);
    if (ev.type === 'complete') pushHistory(l.completed, ev.resourceId, COMPLETED_LENGTH);
    if (ev.type === 'complete') {
      const done = this.completedPending.get(ev.userId);
      if (done) done.push(ev.resourceId);
      else this.completedPending.set(ev.userId, [ev.resourceId]);
    }
    if (this.reviews.onInteraction(l, ev)) this.lists.reviewsChanged(ev.userId);
    this.reranker.hold(ev.userId, rec.partition);
  }

  /** Appends to the learner's history and keeps the recent-resource index in step with the window. */
  private pushRecent(userId: string, l: Learner, resourceId: string): void {
    const before = this.triggers.window(l.history);
    pushHistory(l.history, resourceId, this.o.historyLength);
    (l.engaged ??= new EngagedSet()).add(resourceId);
    if ((this.o.signalRefreshMs ?? 0) > 0) this.triggers.indexRecent(userId, before, this.triggers.window(l.history));
  }

  private onQuiz(g: LearnerGroup, rec: InputRecord, ev: QuizEvent): void {
    const l = this.learnerOf(g, ev.userId);
    const correct = ev.score ?? (ev.correct ? 1 : 0);
    const attempt = { userId: ev.userId, itemId: ev.itemId, skills: ev.skills, correct, timestamp: ev.occurredAt };
    // Test, then learn: the prediction is made from the state before this attempt (prequential AUC).
    this.online.quizTrial(g.knowledge.predict(attempt), correct);
    g.knowledge.update(attempt);
    this.reviews.onQuiz(l, ev);
    this.lists.reviewsChanged(ev.userId);
    // A quiz on a resource is also an interaction with it: practising is engagement whatever the outcome.
    if (ev.resourceId) {
      this.learn(g, rec, l, { learnerId: ev.userId, resourceId: ev.resourceId, kind: 'quiz', timestamp: ev.occurredAt, value: correct });
      this.pushRecent(ev.userId, l, ev.resourceId);
    }
    l.quizzes++;
    l.lastEventAt = Math.max(l.lastEventAt, rec.timestamp);
    this.lists.knowledgeChanged(ev.userId);
    this.reranker.hold(ev.userId, rec.partition);
  }

  private async onProfile(g: LearnerGroup, rec: InputRecord, ev: ProfileEvent): Promise<void> {
    const l = this.learnerOf(g, ev.userId);
    l.interests = ev.interests.slice(0, MAX_INTERESTS_KEPT);
    l.lastEventAt = Math.max(l.lastEventAt, rec.timestamp);
    await this.o.store.putProfileInterests(ev.userId, l.interests);
    const ix = this.o.interests;
    const ranked = l.interests.slice(0, MAX_INTERESTS);
    if (!ix?.enabled || ranked.length === 0) {
      if (ranked.length > 0) this.o.emit.emit('interests.matched', { method: 'topic' });
      this.reranker.hold(ev.userId, rec.partition);
      return;
    }
    // Embedding happens here, on a profile change, never on a re-rank; the list waits for it (tens of ms) rather
    // than being written twice, and consumption does not wait at all.
    void ix.ensure(ranked).then((ok) => {
      this.o.emit.emit('interests.matched', { method: ok ? 'content' : 'topic' });
      if (this.learner(ev.userId) === l) this.reranker.request(ev.userId);
    });
  }

  /** Content vectors of the catalogue changed (model.content-vectors replica): learners who want a new resource see it now. */
  contentChanged(resourceId: string, slot: number, present: boolean): void {
    this.triggers.contentChanged(resourceId, slot, present);
  }

  /** Called after an item row changed in the table ranking reads (replica or owned). */
  itemChanged(itemId: string, wasActive: boolean): void {
    this.triggers.itemChanged(itemId, wasActive);
  }

  private find(userId: string): { l: Learner; group: LearnerGroup } | undefined {
    for (const group of this.groups.values()) {
      const l = group.learners.get(userId);
      if (l) return { l, group };
    }
    return undefined;
  }

  /** Whether `g` is still a group this instance holds (a batch scored across a revocation writes nothing for it). */
  private holds(g: LearnerGroup): boolean {
    for (const v of this.groups.values()) if (v === g) return true;
    return false;
  }

  private now(): number {
    return this.o.now ? this.o.now() : Date.now();
  }

  /** While true the timer flush of popularity and co-engagement waits: a serving-view rewrite raises them (./rewrite.ts). */
  set holdDerived(on: boolean) {
    this.counters.hold = on;
  }

  /** Forgets co-engagement counted but not written yet: a rewrite recounts it from the histories (./rewrite.ts). */
  discardPendingCoEngagement(): void {
    this.counters.discardPendingCoEngagement();
  }

  /** Writes the derived counts (popularity, co-engagement) now instead of at the next timer flush. */
  async flushDerived(): Promise<void> {
    await this.writeCompleted();
    await this.counters.flush();
  }

  async stop(): Promise<void> {
    await this.writeCompleted().catch((err) => this.o.logger.warn('addCompleted failed', { err }));
    await this.lists.stop();
    await this.counters.stop();
  }
}
