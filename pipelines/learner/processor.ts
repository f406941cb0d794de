import { SlidingBinaryWindow } from '../../models/knowledge/metrics';
import { KnowledgeModel } from '../../models/knowledge/model';
import type { Logger } from '../../lib/log';
import type { Emitter } from '../../lib/metrics/instrumentation';
import type { PopularityIncrement, RecommendationList, ServingStore } from '../../serving/types';
import type { Decode, ErasureEvent, InteractionEvent, ProfileEvent, QuizEvent } from '../../consumers/event-types';
import type { ItemUpdate } from '../messages';
import { guardItemUpdates } from '../internal-records';
import { eventWeight, type Interaction } from '../../models/collab';
import { interactionKind, type CollabModel } from '../model/collab';
import { ItemTable } from '../model/item-table';
import { EngagedSet } from '../model/engaged';
import type { ItemSink } from '../item/sink';
import { applyItemUpdate } from '../item/apply';
import type { GroupProcessor, InputRecord } from '../../consumers/runner/stage-runner';
import { CandidateGenerator } from './candidates';
import { LearnerRanker, type LearnerRankOptions } from './rank';
import { Reranker } from './rerank';
import { VariantRankers } from './variants';
import type { Experiment } from '../../models/experiments/types';
import { interestKey, type InterestIndex } from './interests';
import { EventIdWindow } from './dedup';
import { LearnerReviews, type LearnerReviewOptions } from './reviews';
import { COMPLETED_LENGTH, deserializeGroup, erasureKey, ERASURE_MEMORY_MS, pushHistory, serializeGroup, type Learner, type LearnerGroup, type LearnerGroupJSON } from './state';

const HIT_K = 10;
/** Online quality gauges cover the most recent this many trials (sliding window), and are emitted every EMIT_EVERY. */
const QUALITY_WINDOW = 1000;
const QUALITY_EMIT_EVERY = 100;
/** A new engagement is paired with the learner's this many most recent resources (co-engagement, for similar items). */
export const CO_WINDOW = 5;
/** Interests the ranker reads per learner (LearnerRanker uses the first five). */
const MAX_RANKED_INTERESTS = 5;
/** A new resource this close (cosine) to a declared interest re-ranks that learner at once: the ranker's reason threshold. */
const INTEREST_RERANK_COSINE = 0.35;

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
}

/** Records still waiting in a partition after a batch above which the batch's re-ranks coalesce with the next ones. */
const LAG_HOLD_RECORDS = 2000;
/**
 * ... for at most this many batch ends of the partition (~12k records at 256 KiB per fetch), or this long as a safety
 * net. Counted in batches, not in time: a wall-clock bound re-ranked nearly every event on a loaded machine (62
 * events/s wall: 1 s held ~60 events of ~60 learners; 10 s fired inside every 11 s batch).
 */
const LAG_HOLD_BATCHES = 8;
const LAG_HOLD_MS = 60_000;
/** Learners re-ranked per changed transition row at most: a popular resource must not start a re-rank storm. */
const REFRESH_PER_ROW = 200;
/** Learners indexed by their recent resources at most (memory bound of the refresh index: entries, not learners). */
const REFRESH_INDEX_ENTRIES = 2_000_000;

/**
 * The learner stage's per-event logic: learn from the event at once (factors, knowledge, history, exact counts),
 * emit the item-side update, schedule a coalesced re-rank. State is per partition group, snapshotted by the runner.
 */
export class LearnerProcessor implements GroupProcessor<LearnerGroupJSON> {
  readonly stage = 'learner';
  private readonly groups = new Map<number, LearnerGroup>();
  readonly reranker: Reranker;
  private readonly candidates: CandidateGenerator;
  private readonly ranker: LearnerRanker;
  private readonly variants: VariantRankers<LearnerRanker>;
  private popularity = new Map<string, number>();
  private popTimer: NodeJS.Timeout | null = null;
  /** Co-engagement pairs ("a\u0000b", a < b) counted since the last flush to the serving store. */
  private coPending = new Map<string, number>();
  private knowledgeDirty = new Set<string>();
  /** FSRS review cards: rated per quiz attempt and review interaction, offered in reserved list slots. */
  readonly reviews: LearnerReviews;
  private reviewsDirty = new Set<string>();
  /** Prequential list quality: positive interactions, and how many hit the learner's cached top-10 before learning. */
  readonly quality = { trials: 0, hits: 0 };
  /** The last QUALITY_WINDOW list trials (label 1 = hit) and quiz predictions (P(correct) before learning, label). */
  private readonly hitWindow = new SlidingBinaryWindow(QUALITY_WINDOW);
  /** Most-popular's hits on the same trials: the baseline the served hit rate is watched against. */
  readonly popularWindow = new SlidingBinaryWindow(QUALITY_WINDOW);
  readonly quizWindow = new SlidingBinaryWindow(QUALITY_WINDOW);
  private quizTrials = 0;
  /** Same, ranked from state at the event (evaluateEvery): independent of re-rank timing. */
  readonly evaluation = { trials: 0, hits: 0 };
  private positives = 0;
  /** resource id -> learners with it among their recent resources (the recommender's window): whom a row change concerns */
  private readonly recentOf = new Map<string, Set<string>>();
  private recentEntries = 0;
  /** learner -> when their list was last refreshed for others' signals (pruned as it ages) */
  private readonly refreshedAt = new Map<string, number>();
  /** replica row -> the row total it had when last seen: a change of it is a transition learned somewhere */
  private readonly rowSums = new Map<number, number>();
  /** Batch ends under lag since the group's held learners were last released. */
  private readonly lagBatches = new Map<number, number>();

  constructor(private readonly o: LearnerProcessorOptions) {
    if (!o.sink && !o.replica) {
      /* synchronous mode: the item table lives in group state */
    } else if (!o.sink || !o.replica) throw new Error('distributed learner stage needs both sink and replica');
    this.ranker = new LearnerRanker({ ...o.ranking, topN: o.topN }, o.interests);
    this.variants = new VariantRankers(o.experiments, o.ranking, (r) => new LearnerRanker({ ...r, topN: o.topN }, o.interests), this.ranker);
    this.reviews = new LearnerReviews(o.reviews);
    this.candidates = new CandidateGenerator({ dim: o.model.dim, logger: o.logger, kernel: o.kernel, minOnnxWork: o.onnxMinWork, emit: o.emit });
    // until the session is ready (tens of ms) re-ranks use the JS kernel
    void this.candidates.init();
    this.reranker = new Reranker({
      store: o.store,
      buildBatch: (users) => this.buildLists(users),
      emit: o.emit,
      logger: o.logger,
      intervalMs: o.rerankIntervalMs,
      maxPending: o.maxPendingReranks,
      now: o.now,
      manual: o.manualReranks,
    });
    this.popTimer = setInterval(() => void (this.holdDerived ? undefined : this.flushPopularity().then(() => this.flushCoEngagement())), 1000);
    this.popTimer.unref();
  }

  /** Learners scored by each candidate kernel so far (which path ran). */
  get scoredBy(): { readonly onnx: number; readonly js: number } {
    return this.candidates.scored;
  }

  /** Whether the onnxruntime kernel is loaded (false: not yet, or it failed once and JS scores from then on). */
  get usesOnnx(): boolean {
    return this.candidates.usesOnnx;
  }

  get synchronous(): boolean {
    return !this.o.sink;
  }

  /** The item table ranking reads: the owned one (synchronous) or the replica. */
  items(): ItemTable {
    if (this.o.replica) return this.o.replica;
    const g = this.groups.get(0);
    if (!g?.items) throw new Error('synchronous learner stage has no item table (group 0 not loaded)');
    return g.items;
  }

  restore(group: number, state: LearnerGroupJSON | null): void {
    const g: LearnerGroup = state ? deserializeGroup(state) : { learners: new Map<string, Learner>(), knowledge: new KnowledgeModel(), erased: new Map() };
    if (this.synchronous) {
      if (group !== 0) throw new Error('synchronous mode needs exactly one partition per input topic');
      g.items ??= new ItemTable(this.o.model.dim);
    }
    this.groups.set(group, g);
    for (const [u, l] of g.learners) this.indexRecent(u, [], this.window(l.history));
    // Lists of restored learners may be stale relative to the restored state; they are rewritten on their next event.
  }

  snapshot(group: number): LearnerGroupJSON {
    return serializeGroup(this.groups.get(group)!);
  }

  drop(group: number): void {
    const g = this.groups.get(group);
    if (g) {
      for (const [u, l] of g.learners) {
        this.reranker.forget(u);
        this.indexRecent(u, this.window(l.history), []);
      }
    }
    this.groups.delete(group);
  }

  async flush(): Promise<void> {
    if (this.o.sink) await this.o.sink.flush();
  }

  /**
   * End of a fetched batch: every learner its events touched is re-ranked once now, from the state after their last
   * event (the events only held them: Reranker.hold), in scoring batches of many learners and one pipelined write each.
   */
  afterBatch(group?: number, behind?: number): void {
    // Under lag (a backlog: more records already waiting than a few batches hold) a list rebuilt now would be rebuilt
    // again within milliseconds by the learner's next batch: the held learners wait (up to LAG_HOLD_MS, the
    // Reranker's hold timer) and are re-ranked once for all those batches. Caught up, every batch end releases.
    const g = group ?? -1;
    if (behind !== undefined && behind > LAG_HOLD_RECORDS) {
      const n = (this.lagBatches.get(g) ?? 0) + 1;
      if (n < LAG_HOLD_BATCHES) {
        this.lagBatches.set(g, n);
        this.reranker.holdFor(LAG_HOLD_MS);
        return;
      }
    }
    this.lagBatches.delete(g);
    if (behind !== undefined && behind <= LAG_HOLD_RECORDS) this.reranker.caughtUp();
    this.reranker.release(group);
  }

  ready(): boolean {
    if (!this.reranker.hasRoom()) return false;
    if (this.o.sink && this.o.sink.backlog > (this.o.maxSinkBacklog ?? 20000)) return false;
    const sink = this.o.sink;
    const reflected = this.o.replicaReflected;
    const maxLag = this.o.maxReplicaLag ?? 2000;
    if (sink?.unreflected && sink.producedPartitions && reflected && maxLag > 0) {
      // Gradients buffered or in flight are not reflected either, and their partition is known only once acknowledged:
      // count them against every partition. Counting acknowledged ones only let a learner rank thousands of events
      // ahead of its replica (from an empty one at start) while the producer had not answered yet.
      const pending = sink.backlog;
      if (pending > maxLag) return false;
      for (const p of sink.producedPartitions()) if (sink.unreflected(p, reflected.get(p) ?? 0n) + pending > maxLag) return false;
    }
    return true;
  }

  /** Exact counts and state of one learner (tests and diagnostics). */
  learner(userId: string): Learner | undefined {
    for (const g of this.groups.values()) {
      const l = g.learners.get(userId);
      if (l) return l;
    }
    return undefined;
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
    if (rec.topic === t.itemUpdates) {
      // Synchronous mode only: catalogue upserts / removals for the owned item table.
      // Checked whole first: an undecodable record is dead-lettered by the runner (PoisonMessageError), not fatal.
      if (rec.value) for (const u of guardItemUpdates(rec.value, this.o.model.dim)) this.onItemUpdate(g, u);
      return;
    }
    if (rec.value === null) return; // tombstone on learners.profiles (our own, after an erasure): nothing to learn
    const ev = await this.o.decode(rec);
    if (!ev) return; // dead-lettered
    // An impression (a resource shown from a served list, issue 21) is attribution data for the experiment stage, not
    // feedback: the learner did nothing with the resource yet.
    if (ev.kind === 'interaction' && ev.type === 'impression') return;
    this.o.emit.emit('event.consumed', { topic: rec.topic, type: ev.kind === 'interaction' ? ev.type : ev.kind });
    if (ev.kind !== 'erasure' && ev.kind !== 'resource' && g.erased.size > 0) {
      const at = g.erased.get(erasureKey(ev.userId));
      if (at !== undefined && rec.timestamp <= at) return; // sent before the learner's erasure: not learned
    }
    if ((ev.kind === 'interaction' || ev.kind === 'quiz') && this.duplicate(g, rec, ev)) return;
    switch (ev.kind) {
      case 'interaction':
        return this.onInteraction(g, rec, ev);
      case 'quiz':
        return this.onQuiz(g, rec, ev);
      case 'profile':
        return this.onProfile(g, rec, ev);
      case 'erasure':
        return this.onErasure(g, rec, ev);
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

  private learnerOf(g: LearnerGroup, userId: string): Learner {
    let l = g.learners.get(userId);
    if (!l) {
      l = { cf: this.o.model.newLearner(), interactions: 0, quizzes: 0, history: [], interests: [], completed: [], lastEventAt: 0, engaged: new EngagedSet() };
      g.learners.set(userId, l);
    }
    return l;
  }

  /**
   * One learning step for (learner, resource): the collaborative step (learner now, item-side gradients to the owner)
   * and the recommender's global signals (transitions from the learner's recent resources, popularity), applied at
   * once where this stage owns the items (synchronous) or sent to their owners with the gradients. Called before the
   * resource enters the learner's history.
   */
  private learn(g: LearnerGroup, rec: InputRecord, l: Learner, ev: Interaction): void {
    const table = this.synchronous ? g.items! : this.o.replica!;
    // a resource without a row of its own yet (unknown, or only named by a transition row) starts from its seeded factors
    if (this.synchronous && (!table.has(ev.resourceId) || table.placeholder[table.indexOf(ev.resourceId)] === 1)) {
      table.set({ itemId: ev.resourceId, factors: this.o.model.newItemFactors(ev.resourceId), bias: 0, count: 0, lastT: Number.NaN, active: true });
    }
    const { learner, gradients } = this.o.model.learnerStep(l.cf, table, ev);
    l.cf = learner;
    const positive = eventWeight(ev, this.o.model.options.weights) > 0;
    const t = ev.timestamp / 1000;
    const recommender = this.ranker.recommender;
    if (this.synchronous) {
      for (const gr of gradients) applyItemUpdate(table, this.o.model, { kind: 'delta', itemId: gr.resourceId, ...gr, src: '', off: '0', seq: 0 });
      const recentRows = this.ranker.recentRows(l, table);
      recommender.learn(table.signals, recentRows, table.indexOf(ev.resourceId), t, positive);
      // the rows that gained transitions: the sources (this learner's recent resources) and the resource itself
      for (const i of recentRows) this.signalsChanged(table.ids[i], ev.learnerId);
      this.signalsChanged(ev.resourceId, ev.learnerId);
    } else {
      const src = `${rec.topic}:${rec.partition}`;
      gradients.forEach((gr, seq) => this.o.sink!.send({ kind: 'delta', itemId: gr.resourceId, ...gr, src, off: rec.offset, seq }));
      // the same links as recommender.learn, by id, one update per source item (its owner keeps that row)
      const recent = l.history.slice(-recommender.window);
      const at = recent.lastIndexOf(ev.resourceId);
      const ids = [...recent, ev.resourceId];
      const byFrom = new Map<string, { to: string[]; w: number[] }>();
      if (positive) byFrom.set(ev.resourceId, { to: [], w: [] });
      for (const link of recommender.links(recent.map((_, k) => k), at >= 0 ? at : recent.length)) {
        const from = ids[link.from];
        let e = byFrom.get(from);
        if (!e) byFrom.set(from, (e = { to: [], w: [] }));
        e.to.push(ids[link.to]);
        e.w.push(link.w);
      }
      let seq = gradients.length;
      for (const [from, e] of byFrom) {
        this.o.sink!.send({ kind: 'links', itemId: from, to: e.to, w: e.w, pop: positive && from === ev.resourceId ? 1 : 0, t, src, off: rec.offset, seq: seq++ });
      }
    }
    if (positive) this.popularity.set(ev.resourceId, (this.popularity.get(ev.resourceId) ?? 0) + 1);
  }

  private onInteraction(g: LearnerGroup, rec: InputRecord, ev: InteractionEvent): void {
    const l = this.learnerOf(g, ev.userId);
    const { kind, useValue } = interactionKind(ev.type);
    const value = useValue === 'value' ? (ev.value ?? undefined) : useValue === 'dwell' ? (ev.dwellMs ?? 0) / 1000 : undefined;
    const interaction: Interaction = { learnerId: ev.userId, resourceId: ev.resourceId, kind, timestamp: ev.occurredAt, ...(value !== undefined ? { value } : {}) };
    if (eventWeight(interaction, this.o.model.options.weights) > 0) {
      // Test, then learn: was the resource in the list the learner was being shown?
      const shown = this.reranker.lastList(ev.userId);
      if (shown) {
        const hit = shown.slice(0, HIT_K).includes(ev.resourceId) ? 1 : 0;
        this.quality.trials++;
        this.quality.hits += hit;
        this.hitWindow.add(hit, hit);
        const popHit = this.inPopular(g, l, ev.resourceId) ? 1 : 0;
        this.popularWindow.add(popHit, popHit);
        if (this.quality.trials % QUALITY_EMIT_EVERY === 0) {
          this.o.emit.emit('quality.hitRate', { value: this.hitWindow.meanLabel(), k: HIT_K });
          this.o.emit.emit('quality.popularHitRate', { value: this.popularWindow.meanLabel(), k: HIT_K });
        }
      }
      const every = this.o.evaluateEvery ?? 0;
      if (every > 0 && this.positives++ % every === 0 && l.interactions > 0) {
        this.evaluation.trials++;
        if (this.rankSync(g, ev.userId, l).slice(0, HIT_K).some((i) => i.resourceId === ev.resourceId)) this.evaluation.hits++;
      }
    }
    if (eventWeight(interaction, this.o.model.options.weights) > 0 && !l.history.includes(ev.resourceId)) this.countCoEngagement(l.history, ev.resourceId);
    this.learn(g, rec, l, interaction);
    l.interactions++;
    this.pushRecent(ev.userId, l, ev.resourceId);
    l.lastEventAt = Math.max(l.lastEventAt, rec.timestamp);
    if (ev.type === 'complete') pushHistory(l.completed, ev.resourceId, COMPLETED_LENGTH);
    if (ev.type === 'complete') void this.o.store.addCompleted(ev.userId, [ev.resourceId]).catch((err) => this.o.logger.warn('addCompleted failed', { err }));
    if (this.reviews.onInteraction(l, ev)) this.reviewsDirty.add(ev.userId);
    this.reranker.hold(ev.userId, rec.partition);
  }

  /** The recommender's window of a history: the resources whose transitions score the learner. */
  private window(history: readonly string[]): readonly string[] {
    return history.slice(-this.ranker.recommender.window);
  }

  /** Appends to the learner's history and keeps the recent-resource index in step with the window. */
  private pushRecent(userId: string, l: Learner, resourceId: string): void {
    const before = this.window(l.history);
    pushHistory(l.history, resourceId, this.o.historyLength);
    (l.engaged ??= new EngagedSet()).add(resourceId);
    if ((this.o.signalRefreshMs ?? 0) > 0) this.indexRecent(userId, before, this.window(l.history));
  }

  private indexRecent(userId: string, before: readonly string[], after: readonly string[]): void {
    if ((this.o.signalRefreshMs ?? 0) <= 0) return;
    for (const id of before) {
      if (after.includes(id)) continue;
      const set = this.recentOf.get(id);
      if (set?.delete(userId)) this.recentEntries--;
      if (set && set.size === 0) this.recentOf.delete(id);
    }
    for (const id of after) {
      if (before.includes(id) || this.recentEntries >= REFRESH_INDEX_ENTRIES) continue;
      let set = this.recentOf.get(id);
      if (!set) this.recentOf.set(id, (set = new Set()));
      const size = set.size;
      set.add(userId);
      if (set.size > size) this.recentEntries++;
    }
  }

  /**
   * A transition row changed: learners with that resource among their recent ones are re-ranked (at once, then at
   * most once per signalRefreshMs each with a trailing re-rank at its end; at most REFRESH_PER_ROW per change), so what one learner taught reaches another's list
   * without waiting for their next event. `except`: the learner whose own event this is (re-ranked anyway).
   */
  private signalsChanged(resourceId: string, except?: string): void {
    const every = this.o.signalRefreshMs ?? 0;
    if (every <= 0) return;
    const learners = this.recentOf.get(resourceId);
    if (!learners) return;
    const now = this.now();
    let n = 0;
    for (const u of learners) {
      if (u === except) continue;
      const at = this.refreshedAt.get(u);
      if (at !== undefined && now - at < every) {
        // refreshed lately: once more when the interval ends (what changed since is not lost, only late)
        this.reranker.requestAt(u, at + every);
        continue;
      }
      this.refreshedAt.set(u, now);
      this.reranker.request(u);
      if (++n >= REFRESH_PER_ROW) break;
    }
    if (this.refreshedAt.size > 4 * REFRESH_PER_ROW * 64) for (const [u, at] of this.refreshedAt) if (now - at >= every) this.refreshedAt.delete(u);
  }

  /** Whether `resourceId` is in the recent most-popular top-10 of the table, the learner's history and completed left out. */
  private inPopular(g: LearnerGroup, l: Learner, resourceId: string): boolean {
    const table = this.synchronous ? g.items : this.o.replica;
    if (!table) return false;
    let n = 0;
    for (const i of table.signals.topPopular()) {
      if (table.active[i] !== 1) continue;
      const id = table.ids[i];
      if (l.history.includes(id) || l.completed.includes(id)) continue;
      if (id === resourceId) return true;
      if (++n >= HIT_K) return false;
    }
    return false;
  }

  private onQuiz(g: LearnerGroup, rec: InputRecord, ev: QuizEvent): void {
    const l = this.learnerOf(g, ev.userId);
    const correct = ev.score ?? (ev.correct ? 1 : 0);
    const attempt = { userId: ev.userId, itemId: ev.itemId, skills: ev.skills, correct, timestamp: ev.occurredAt };
    // Test, then learn: the prediction is made from the state before this attempt (prequential AUC).
    this.quizWindow.add(g.knowledge.predict(attempt), correct);
    if (++this.quizTrials % QUALITY_EMIT_EVERY === 0) {
      const value = this.quizWindow.auc();
      if (Number.isFinite(value)) this.o.emit.emit('quality.quizAuc', { value });
    }
    g.knowledge.update(attempt);
    this.reviews.onQuiz(l, ev);
    this.reviewsDirty.add(ev.userId);
    // A quiz on a resource is also an interaction with it: practising is engagement whatever the outcome.
    if (ev.resourceId) {
      this.learn(g, rec, l, { learnerId: ev.userId, resourceId: ev.resourceId, kind: 'quiz', timestamp: ev.occurredAt, value: correct });
      this.pushRecent(ev.userId, l, ev.resourceId);
    }
    l.quizzes++;
    l.lastEventAt = Math.max(l.lastEventAt, rec.timestamp);
    this.knowledgeDirty.add(ev.userId);
    this.reranker.hold(ev.userId, rec.partition);
  }

  private async onProfile(g: LearnerGroup, rec: InputRecord, ev: ProfileEvent): Promise<void> {
    const l = this.learnerOf(g, ev.userId);
    l.interests = ev.interests.slice(0, 50);
    l.lastEventAt = Math.max(l.lastEventAt, rec.timestamp);
    await this.o.store.putProfileInterests(ev.userId, l.interests);
    const ix = this.o.interests;
    const ranked = l.interests.slice(0, MAX_RANKED_INTERESTS);
    if (!ix?.enabled || ranked.length === 0) {
      if (ranked.length > 0) this.o.emit.emit('interests.matched', { method: 'topic' });
      this.reranker.hold(ev.userId, rec.partition);
      return;
    }
    // Embedding happens here, on a profile change, never on a re-rank; the list waits for it (tens of ms) rather
    // than being written twice, and consumption does not wait at all.
    void ix.ensure(ranked).then((ok) => {
      this.o.emit.emit('interests.matched', { method: ok ? 'content' : 'topic' });
      if (this.learner(ev.userId) === l) this.rerank(ev.userId);
    });
  }

  /** Content vectors of the catalogue changed (model.content-vectors replica): learners who want a new resource see it now. */
  contentChanged(resourceId: string, slot: number, present: boolean): void {
    const ix = this.o.interests;
    if (!ix) return;
    ix.contentChanged(slot);
    if (!present) return;
    // The content replica starts before any partition group is assigned: in synchronous mode there is no item
    // table to look the resource up in yet, and nobody to re-rank either.
    if (this.synchronous && !this.groups.get(0)?.items) return;
    const table = this.items();
    const i = table.indexOf(resourceId);
    if (i < 0 || table.active[i] !== 1) return; // not recommendable yet: itemChanged does this when the row arrives
    this.requestInterested(new Set(), ix.matching(slot, INTEREST_RERANK_COSINE));
  }

  /** Urgent re-rank of learners whose interests equal one of `topics` or are among the embedded interests `keys`. */
  private requestInterested(topics: ReadonlySet<string>, keys: ReadonlySet<string>): void {
    if (topics.size === 0 && keys.size === 0) return;
    let n = 0;
    for (const grp of this.groups.values()) {
      for (const [u, l] of grp.learners) {
        if (l.interests.some((x) => topics.has(x.toLowerCase()) || (keys.size > 0 && keys.has(interestKey(x))))) {
          this.reranker.request(u, true);
          if (++n >= 10000) return;
        }
      }
    }
  }

  private async onErasure(g: LearnerGroup, rec: InputRecord, ev: ErasureEvent): Promise<void> {
    g.erased.set(erasureKey(ev.userId), rec.timestamp);
    for (const [k, t] of g.erased) if (t < rec.timestamp - ERASURE_MEMORY_MS) g.erased.delete(k);
    const gone = g.learners.get(ev.userId);
    if (gone) this.indexRecent(ev.userId, this.window(gone.history), []);
    this.refreshedAt.delete(ev.userId);
    g.learners.delete(ev.userId);
    g.knowledge.forgetLearner(ev.userId);
    this.knowledgeDirty.delete(ev.userId);
    this.reviewsDirty.delete(ev.userId);
    this.reranker.forget(ev.userId);
    // A re-rank already computing for this learner must land before we delete, or it would re-create the key.
    await this.reranker.settle(ev.userId);
    await this.o.store.eraseLearner(ev.userId);
    await this.o.tombstone(ev.userId);
    this.o.logger.info('learner erased', { userId: ev.userId });
  }

  private onItemUpdate(g: LearnerGroup, u: ItemUpdate): void {
    const table = g.items!;
    const wasActive = table.indexOf(u.itemId) >= 0 && table.active[table.indexOf(u.itemId)] === 1;
    applyItemUpdate(table, this.o.model, u);
    this.itemChanged(u.itemId, wasActive);
  }

  /** Called after an item row changed in the table ranking reads (replica or owned). */
  itemChanged(itemId: string, wasActive: boolean): void {
    const table = this.items();
    const i = table.indexOf(itemId);
    const active = i >= 0 && table.active[i] === 1;
    if (i >= 0 && (this.o.signalRefreshMs ?? 0) > 0) {
      const sum = table.signals.row(i)?.sumKey ?? -Infinity;
      if (sum !== (this.rowSums.get(i) ?? -Infinity)) {
        this.rowSums.set(i, sum);
        this.signalsChanged(itemId);
      }
    }
    if (wasActive && !active) {
      // Left the catalogue: every cached list containing it is rebuilt now, not at the learner's next event.
      for (const u of this.reranker.learnersListing(itemId)) if (this.learner(u)) this.reranker.request(u, true);
    } else if (!wasActive && active) {
      this.ranker.noteActivated(i);
      for (const r of this.variants.others()) r.noteActivated(i);
      const topics = new Set((table.meta[i]?.topics ?? []).map((s) => s.toLowerCase()));
      const ix = this.o.interests;
      const slot = ix ? ix.content.slotOf(itemId) : -1;
      const keys = ix && slot >= 0 && ix.content.present[slot] === 1 ? ix.matching(slot, INTEREST_RERANK_COSINE) : new Set<string>();
      // New resource: learners whose declared interests match get it without any interaction (cold start by content).
      this.requestInterested(topics, keys);
    }
  }

  private rerank(userId: string): void {
    this.reranker.request(userId);
  }

  private find(userId: string): { l: Learner; group: LearnerGroup } | undefined {
    for (const group of this.groups.values()) {
      const l = group.learners.get(userId);
      if (l) return { l, group };
    }
    return undefined;
  }

  /** Ranks one learner synchronously with the JS kernel (prequential evaluation from state). */
  private rankSync(g: LearnerGroup, userId: string, l: Learner) {
    const table = this.items();
    const [top] = this.candidates.generateSync(table, [l.cf.vector], (_j, row) => this.ranker.mask(l, table, row), this.ranker.k);
    const now = this.now();
    return this.reviews.slot(l, table, this.variants.for(userId).ranker.rank(userId, l, table, g.knowledge, top, now), now);
  }

  private now(): number {
    return this.o.now ? this.o.now() : Date.now();
  }

  /** While true the 1 s flush of popularity and co-engagement waits: a serving-view rewrite raises them (./rewrite.ts). */
  holdDerived = false;

  /** Forgets co-engagement counted but not written yet: a rewrite recounts it from the histories (./rewrite.ts). */
  discardPendingCoEngagement(): void {
    this.coPending = new Map();
  }

  /** Writes the derived counts (popularity, co-engagement) now instead of at the next 1 s flush. */
  async flushDerived(): Promise<void> {
    await this.flushPopularity();
    await this.flushCoEngagement();
  }

  /** The lists of a batch of due learners: one scoring call for all of them, then per-learner list building. */
  private async buildLists(userIds: string[]): Promise<(RecommendationList | null)[]> {
    const found = userIds.map((u) => this.find(u));
    const live = found.flatMap((f, j) => (f ? [{ ...f, j }] : []));
    const out: (RecommendationList | null)[] = userIds.map(() => null);
    if (live.length === 0) return out;
    const table = this.items();
    const tops = await this.candidates.generate(table, live.map((x) => x.l.cf.vector), (j, row) => this.ranker.mask(live[j].l, table, row), this.ranker.k);
    const now = this.now();
    live.forEach(({ l, group, j }, b) => {
      const userId = userIds[j];
      // erased (or its group revoked) while the batch was scored: nothing to write
      if (group.learners.get(userId) !== l || this.groups.get(this.groupOf(group)) !== group) return;
      const { ranker, ref } = this.variants.for(userId);
      const items = this.reviews.slot(l, table, ranker.rank(userId, l, table, group.knowledge, tops[b], now), now);
      out[j] = this.list(userId, l, group, items);
      if (ref) out[j].ref = ref;
      this.embedRestored(userId, l);
    });
    return out;
  }

  /**
   * A learner restored from a checkpoint has interest strings but no vectors in this process yet: they are embedded
   * once (off the re-rank, which used topic matches meanwhile) and the learner is ranked again.
   */
  private embedRestored(userId: string, l: Learner): void {
    const ix = this.o.interests;
    if (!ix?.enabled || l.interests.length === 0) return;
    const ranked = l.interests.slice(0, MAX_RANKED_INTERESTS);
    if (ranked.every((x) => ix.has(x))) return;
    void ix.ensure(ranked).then((ok) => {
      if (ok && this.learner(userId) === l) this.rerank(userId);
    });
  }

  private groupOf(g: LearnerGroup): number {
    for (const [k, v] of this.groups) if (v === g) return k;
    return -1;
  }

  private list(userId: string, l: Learner, group: LearnerGroup, items: RecommendationList['items']): RecommendationList {
    if (this.knowledgeDirty.delete(userId)) {
      const skills = group.knowledge.mastery(userId);
      void this.o.store.putKnowledge({ userId, skills, updatedAt: Date.now() }).catch((err) => this.o.logger.warn('putKnowledge failed', { err }));
    }
    if (this.reviewsDirty.delete(userId)) {
      void this.o.store.putReviews(this.reviews.state(userId, l, Date.now())).catch((err) => this.o.logger.warn('putReviews failed', { err }));
    }
    // A learner known only by declared interests gets an interest-based start, labelled so the API can say so.
    const source = l.interactions === 0 && l.quizzes === 0 && l.interests.length > 0 ? 'cold-start:interests' : 'personal';
    return { userId, items, modelVersion: this.o.modelVersion, generatedAt: Date.now(), eventTime: l.lastEventAt || undefined, source };
  }

  /** Learners who engaged with A also engaged with B: pairs a first engagement with the learner's recent resources. */
  private countCoEngagement(history: readonly string[], resourceId: string): void {
    for (let i = Math.max(0, history.length - CO_WINDOW); i < history.length; i++) {
      const other = history[i];
      const key = other < resourceId ? `${other}\u0000${resourceId}` : `${resourceId}\u0000${other}`;
      this.coPending.set(key, (this.coPending.get(key) ?? 0) + 1);
    }
  }

  private async flushCoEngagement(): Promise<void> {
    if (this.coPending.size === 0) return;
    const batch = this.coPending;
    this.coPending = new Map();
    const pairs = [...batch].map(([k, by]) => {
      const i = k.indexOf('\u0000');
      return { a: k.slice(0, i), b: k.slice(i + 1), by };
    });
    try {
      for (let i = 0; i < pairs.length; i += 500) await this.o.store.incrementCoEngagement(pairs.slice(i, i + 500));
    } catch (err) {
      this.o.logger.debug('co-engagement update failed (derived data, skipped)', { err });
    }
  }

  private async flushPopularity(): Promise<void> {
    if (this.popularity.size === 0) return;
    const batch = this.popularity;
    this.popularity = new Map();
    const table = this.items.bind(this);
    const increments: PopularityIncrement[] = [];
    for (const [id, by] of batch) {
      let topics: string[] = [];
      try {
        const t = table();
        topics = t.meta[t.indexOf(id)]?.topics ?? [];
      } catch {
        /* no table yet */
      }
      increments.push({ resourceId: id, by, topics });
    }
    // One write for the whole flush (one MULTI in Redis), not one per resource.
    try {
      await this.o.store.incrementPopularityMany(increments);
    } catch (err) {
      this.o.logger.debug('popularity update failed (derived data, skipped)', { err });
    }
  }

  async stop(): Promise<void> {
    if (this.popTimer) clearInterval(this.popTimer);
    this.popTimer = null;
    await this.reranker.stop();
    await this.flushPopularity();
    await this.flushCoEngagement();
    await this.candidates.release();
  }
}
