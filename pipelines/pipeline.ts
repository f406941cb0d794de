import type { Kafka, Producer } from 'kafkajs';
import { DeadLetterWriter } from '../consumers/dead-letter';
import type { Readiness } from '../lib/metrics/server';
import type { Config } from '../lib/config';
import type { Logger } from '../lib/log';
import { noopEmitter, type Emitter } from '../lib/metrics/instrumentation';
import type { ServingStore } from '../serving/types';
import { topicName } from '../schemas/topics';
import type { EmbedFn } from '../models/content/text';
import { CatalogProcessor } from './catalog/processor';
import type { Decode } from '../consumers/event-types';
import { ItemProcessor } from './item/processor';
import { KafkaItemSink, KafkaRecordSink, memoPartitioner } from './item/sink';
import { retryKafka } from '../lib/retry';
import { LearnerProcessor, type LearnerTuning } from './learner/processor';
import { ExperimentProcessor } from './experiment/processor';
import type { LearnerReviewOptions } from './learner/reviews';
import { deadLetterNullValues, nonCompactedEventTopics } from '../consumers/decode/null-values';
import { createCollabModel, type CollabModel } from './model/collab';
import { ItemReplica } from './replica/item-replica';
import { ContentReplica } from './replica/content-replica';
import { InterestIndex } from './learner/interests';
import { LearnedColdStart } from './catalog/cold-start';
import { StageRunner } from '../consumers/runner/stage-runner';
import { FileCheckpointStore, type CheckpointStore } from '../consumers/state/checkpoint';
import { InvariantError } from '../lib/errors';
import { hasEpoch, ServingEpoch, type ServingEpochOptions } from './serving-epoch';
import { LagWatch, type LagWatchOptions } from './lag-watch';
import { rewriteLearnerView, type LearnerRewriteResult } from './learner/rewrite';
import { rewriteCatalogView, type CatalogRewriteResult } from './catalog/rewrite';

/**
 * /readyz lines of the stages paused for downstream readiness for `minMs` (default 30 s) or more, one per partition
 * group, naming what it waits for (GroupProcessor.waitingFor).
 */
export function pauseReasons(runners: readonly Pick<StageRunner<unknown>, 'stage' | 'pauses'>[], minMs = 30_000): string[] {
  const out: string[] = [];
  for (const r of runners)
    for (const w of r.pauses())
      if (w.pausedMs >= minMs)
        out.push(
          `${r.stage} consumption paused for ${Math.round(w.pausedMs / 1000)} s (partition group ${w.group}), waiting for ${w.waitingFor ?? 'downstream'}`,
        );
  return out;
}

/** `experiment`: attribution per experiment variant; reads the learner stage's inputs in a group of its own. */
export type StageName = 'learner' | 'item' | 'catalog' | 'experiment';

export interface PipelineOptions {
  config: Config;
  kafka: Kafka;
  decode: Decode;
  /**
   * Decode for the experiment stage, which reads the learner stage's inputs: one that does not dead-letter (or count)
   * a poison record the learner stage already does (adapters/decode.ts createSecondaryDecode). Default `decode`.
   */
  secondaryDecode?: Decode;
  store: ServingStore;
  logger: Logger;
  emit?: Emitter;
  /** Which stages this process runs. */
  stages: StageName[];
  /**
   * Deterministic mode: the learner stage owns the item table and applies item gradients at once (no item-updates
   * round trip, no item stage). Needs one partition per input topic. Default false.
   */
  synchronousItems?: boolean;
  /** Checkpoint store; default files under `<dataDir>/state`. */
  checkpoints?: CheckpointStore;
  /** Where each stage records the serving-view epoch it wrote to (./serving-epoch.ts); default `<dataDir>/state`. */
  stateDir?: string;
  /**
   * Watch the serving store's epoch and rewrite what the learner and catalogue stages own when it is lost (issue 17,
   * item 4). Default true where the store supports it (Redis); check interval default 5000 ms.
   */
  servingEpoch?: boolean;
  servingEpochIntervalMs?: number;
  /** When lag that does not shrink makes /readyz 503 (./lag-watch.ts; default 3 min at 1000 messages or more). */
  lagAlarm?: LagWatchOptions;
  /** Consumer group ids are `<groupPrefix>learner` etc. Default `<topicPrefix>learnstream-`. */
  groupPrefix?: string;
  /** The content encoder: the catalogue stage embeds resources with it, the learner stage declared interests. */
  embed?: EmbedFn;
  /** Model version label written with every list. */
  modelVersion?: string;
  /**
   * Learner instance index when the learner stage runs as several processes sharing one state dir (lib/config/
   * layout.ts): each instance records the serving epoch it rewrote in its own file, `learner-<i>/serving-epoch`, so
   * one instance's rewrite never stands in for another's after a restart.
   */
  instance?: number;
  onFatal?: (err: unknown) => void;
  /** Learner stage: bounded replica staleness in gradients per item-updates partition (default 2000, 0 = off). */
  maxReplicaLag?: number;
  /** Learner stage: prequential evaluation of every N-th positive interaction from state (0 = off). */
  evaluateEvery?: number;
}

/**
 * The learner stage's settings from the configuration: what `npm start` runs and what the served-path evaluation
 * (`npm run eval -- --methods served`) drives in-process, from one place.
 */
export function learnerStageSettings(config: Config): {
  model: CollabModel;
  topN: number;
  historyLength: number;
  rerankIntervalMs: number;
  signalRefreshMs: number;
  ranking: { rank: { targetSuccess: number } };
  reviews: LearnerReviewOptions;
  tuning: LearnerTuning;
} {
  const m = config.model;
  const p = config.pipeline;
  const reviews = { slots: p.reviewSlots, within: p.reviewSlotsWithin, retention: p.reviewRetention };
  const tuning: LearnerTuning = {
    qualityHitK: p.qualityHitK,
    qualityWindow: p.qualityWindow,
    qualityEmitEvery: p.qualityEmitEvery,
    coEngagementWindow: p.coEngagementWindow,
    derivedFlushMs: p.derivedFlushMs,
    lagHoldRecords: p.lagHoldRecords,
    lagHoldBatches: p.lagHoldBatches,
    lagHoldMs: p.lagHoldMs,
    refreshPerRow: p.refreshPerRow,
    refreshIndexEntries: p.refreshIndexEntries,
    interestRerankMax: p.interestRerankMax,
    rerankChunk: p.rerankChunk,
  };
  return {
    model: createCollabModel({ dim: m.dim, lr: m.learningRate, reg: m.regularization, seed: m.seed }),
    topN: p.topN,
    historyLength: p.historyLength,
    rerankIntervalMs: p.rerankIntervalMs,
    signalRefreshMs: p.signalRefreshMs,
    ranking: { rank: { targetSuccess: m.targetSuccess } },
    reviews,
    tuning,
  };
}

/** Every stage of the pipeline wired to Kafka, the checkpoint store and the serving store; start()/stop() idempotent. */
export class Pipeline {
  readonly runners: StageRunner<unknown>[] = [];
  learner?: LearnerProcessor;
  experiment?: ExperimentProcessor;
  item?: ItemProcessor;
  replica?: ItemReplica;
  contentReplica?: ContentReplica;
  interests?: InterestIndex;
  catalog?: CatalogProcessor;
  coldStart?: LearnedColdStart;
  readonly model: CollabModel;
  /** One per stage that owns serving keys (learner, catalog), when the epoch is watched. */
  readonly epochs: ServingEpoch[] = [];
  readonly lagWatch: LagWatch;
  /** Per stage, keys its running serving-view rewrite has still to write (0 when none runs). */
  readonly rebuildPending = new Map<string, number>();
  lastLearnerRewrite?: LearnerRewriteResult;
  lastCatalogRewrite?: CatalogRewriteResult;
  private producer: Producer | null = null;
  private started: Promise<void> | null = null;
  private running = false;
  private stopped: Promise<void> | null = null;

  constructor(private readonly o: PipelineOptions) {
    this.model = learnerStageSettings(o.config).model;
    this.lagWatch = new LagWatch(o.lagAlarm);
  }

  topic(key: Parameters<typeof topicName>[0]): string {
    return topicName(key, this.o.config.kafka.topicPrefix);
  }

  start(): Promise<void> {
    this.started ??= this.doStart();
    return this.started;
  }

  private async doStart(): Promise<void> {
    const { config, kafka, logger } = this.o;
    // Every stage's lag samples also feed the lag watch (readiness).
    const emit = this.lagWatch.tap(this.o.emit ?? noopEmitter);
    const p = config.pipeline;
    const store = this.o.checkpoints ?? new FileCheckpointStore(`${config.dataDir}/state`);
    const groupPrefix = this.o.groupPrefix ?? `${config.kafka.topicPrefix}learnstream-`;
    const sync = this.o.synchronousItems ?? false;
    // Idempotent, one request in flight: retries never reorder, which the item owner's dedup relies on.
    this.producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    await this.producer.connect();
    const itemUpdates = new KafkaItemSink(new KafkaRecordSink(this.producer, this.topic('itemUpdates'), emit), {
      partitionOf: memoPartitioner(this.topic('itemUpdates'), await this.partitionCount(this.topic('itemUpdates'))),
    });
    // Internal records that do not decode (item updates, item factors, content vectors) go to <topic>.dlq like input
    // poison does, through the same writer (reason headers, counted, rate-limited log line).
    const deadLetters = new DeadLetterWriter({ sink: this.producer, emit, logger: logger.child({ component: 'dead-letter' }) });
    const runnerBase = {
      kafka,
      store,
      logger,
      emit,
      deadLetters,
      checkpointIntervalMs: p.checkpointIntervalMs,
      concurrency: p.partitionsConsumedConcurrently,
      maxPauseMs: p.maxPauseMs,
      onFatal: this.o.onFatal,
    };

    if (this.o.stages.includes('item') && !sync) {
      this.item = new ItemProcessor({
        model: this.model,
        factors: new KafkaRecordSink(
          this.producer,
          this.topic('itemFactors'),
          emit,
          undefined,
          undefined,
          undefined,
          memoPartitioner(this.topic('itemFactors'), await this.partitionCount(this.topic('itemFactors'))),
        ),
        emit,
        logger: logger.child({ stage: 'item' }),
      });
      this.runners.push(
        new StageRunner({ ...runnerBase, groupId: `${groupPrefix}item`, topics: [this.topic('itemUpdates')], processor: this.item }),
      );
    }
    // One replica of the trained item factors per process: the learner stage ranks with it, the catalogue stage's
    // content-to-factor map learns from it. In synchronous mode there is none (the learner owns the table), and new
    // resources start from the seeded projection, which keeps that configuration deterministic.
    const catalogLearns = this.o.stages.includes('catalog') && this.o.embed !== undefined;
    if (!sync && (this.o.stages.includes('learner') || catalogLearns)) {
      this.replica = new ItemReplica({
        kafka,
        topic: this.topic('itemFactors'),
        dim: this.model.dim,
        logger,
        groupPrefix,
        deadLetters,
        onChange: (id, was, what) => {
          this.learner?.itemChanged(id, was);
          // the content-to-factor map learns from factors only
          if (what === 'row') this.coldStart?.rowChanged(id);
        },
      });
      await this.replica.start();
      const caught = await this.replica.caughtUp(30000);
      if (!caught) logger.warn('item replica not caught up after 30 s; ranking starts with a partial replica');
    }
    if (this.o.stages.includes('learner')) {
      // Content vectors for interest matching: replicated like item factors, whatever the item mode.
      const contentReplica = (this.contentReplica = new ContentReplica({
        kafka,
        topic: this.topic('contentVectors'),
        logger,
        groupPrefix,
        deadLetters,
        onChange: (id, slot, present) => this.learner?.contentChanged(id, slot, present),
      }));
      this.interests = new InterestIndex({
        embed: this.o.embed,
        content: contentReplica.table,
        logger: logger.child({ stage: 'learner' }),
        emit,
      });
      await contentReplica.start();
      const topics = {
        interactions: this.topic('interactions'),
        quizAttempts: this.topic('quizAttempts'),
        profiles: this.topic('profiles'),
        erasures: this.topic('erasures'),
        itemUpdates: this.topic('itemUpdates'),
      };
      const producer = this.producer;
      this.learner = new LearnerProcessor({
        decode: this.o.decode,
        model: this.model,
        store: this.o.store,
        emit,
        logger: logger.child({ stage: 'learner' }),
        topics,
        ...(sync ? {} : { sink: itemUpdates, replica: this.replica!.table, replicaReflected: this.replica!.reflected }),
        tombstone: async (userId) => {
          await producer.send({ topic: topics.profiles, messages: [{ key: userId, value: null }] });
        },
        topN: p.topN,
        historyLength: p.historyLength,
        rerankIntervalMs: p.rerankIntervalMs,
        signalRefreshMs: p.signalRefreshMs,
        onnxMinWork: p.onnxMinWork,
        ivf: { minRows: p.ivfMinRows, nprobe: p.ivfNprobe },
        ranking: learnerStageSettings(config).ranking,
        reviews: learnerStageSettings(config).reviews,
        tuning: learnerStageSettings(config).tuning,
        evaluateEvery: this.o.evaluateEvery,
        maxReplicaLag: this.o.maxReplicaLag,
        modelVersion: this.o.modelVersion ?? `collab-d${this.model.dim}-seed${this.model.options.seed}`,
        interests: this.interests,
        experiments: config.experiments,
      });
      const inputs = [topics.interactions, topics.quizAttempts, topics.profiles, topics.erasures, ...(sync ? [topics.itemUpdates] : [])];
      const processor = deadLetterNullValues(this.learner, this.o.decode, nonCompactedEventTopics(config.kafka.topicPrefix));
      this.runners.push(
        new StageRunner({ ...runnerBase, groupId: `${groupPrefix}learner${sync ? '-sync' : ''}`, topics: inputs, processor }),
      );
    }
    // Attribution per experiment variant (issue 21): its own group and checkpoints, so its counts are exact on their
    // own and it never slows learning (npm start runs it in the non-learner process). Only with an experiment.
    if (this.o.stages.includes('experiment') && config.experiments.length > 0) {
      const expTopics = {
        interactions: this.topic('interactions'),
        quizAttempts: this.topic('quizAttempts'),
        erasures: this.topic('erasures'),
      };
      this.experiment = new ExperimentProcessor({
        decode: this.o.secondaryDecode ?? this.o.decode,
        emit,
        logger: logger.child({ stage: 'experiment' }),
        topics: expTopics,
      });
      this.runners.push(
        new StageRunner({
          ...runnerBase,
          groupId: `${groupPrefix}experiment`,
          topics: [expTopics.interactions, expTopics.quizAttempts, expTopics.erasures],
          processor: this.experiment,
        }),
      );
    }
    if (this.o.stages.includes('catalog')) {
      if (catalogLearns && this.replica) {
        this.coldStart = new LearnedColdStart({
          factorDim: this.model.dim,
          items: this.replica.table,
          content: (id) => this.catalog?.content.vector(id),
          logger: logger.child({ stage: 'catalog' }),
        });
        for (const id of this.replica.table.ids) this.coldStart.rowChanged(id);
      }
      const catalog = (this.catalog = new CatalogProcessor({
        decode: this.o.decode,
        model: this.model,
        store: this.o.store,
        sink: itemUpdates,
        contentVectors: new KafkaRecordSink(this.producer, this.topic('contentVectors'), emit),
        coldStart: this.coldStart,
        embed: this.o.embed,
        emit,
        logger: logger.child({ stage: 'catalog' }),
      }));
      this.runners.push(
        new StageRunner({ ...runnerBase, groupId: `${groupPrefix}catalog`, topics: [this.topic('resources')], processor: catalog }),
      );
    }
    for (const r of this.runners) await r.start();
    const serving = this.o.store;
    if ((this.o.servingEpoch ?? true) && hasEpoch(serving)) {
      const stateDir = this.o.stateDir ?? `${config.dataDir}/state`;
      const watch = (stage: string, rewrite: (progress: (pending: number) => void) => Promise<void>) => {
        // learnstream_serving_rebuild_pending_keys counts down while a rewrite runs, 0 otherwise; /readyz says `rebuilding`.
        const progress = (pending: number) => {
          this.rebuildPending.set(stage, pending);
          emit.emit('serving.rebuildPending', { stage, pending });
        };
        progress(0);
        const onRewrite: ServingEpochOptions['onRewrite'] = (ev) => {
          if (ev.phase === 'start') emit.emit('serving.rebuildStarted', { stage, cause: ev.cause });
          else progress(0);
        };
        const e = new ServingEpoch({
          store: serving,
          stage,
          stateDir,
          logger,
          rewrite: () => rewrite(progress),
          onRewrite,
          intervalMs: this.o.servingEpochIntervalMs,
        });
        this.epochs.push(e);
        e.start();
      };
      const learner = this.learner;
      if (learner)
        watch(
          this.o.instance === undefined ? 'learner' : `learner-${this.o.instance}`,
          async (progress) =>
            void (this.lastLearnerRewrite = await rewriteLearnerView(learner, serving, logger.child({ stage: 'learner' }), {
              shouldStop: () => !this.running,
              progress,
            })),
        );
      const catalog = this.catalog;
      if (catalog)
        watch(
          'catalog',
          async (progress) =>
            void (this.lastCatalogRewrite = await rewriteCatalogView(
              kafka,
              this.topic('resources'),
              groupPrefix,
              catalog,
              logger.child({ stage: 'catalog' }),
              { progress },
            )),
        );
    }
    this.running = true;
    logger.info('pipeline started', { stages: this.o.stages, synchronousItems: sync });
  }

  /**
   * Ready = started, every replica is following its topic, no consumer's lag has grown for minutes (./lag-watch.ts), no
   * stage has been paused for downstream readiness for 30 s or more (`<stage> consumption paused ...`) and no
   * serving-view rewrite runs (`rebuilding serving view (...)`). A replica whose consumer crashed leaves the process
   * running but ranking against a table that no longer moves (and, with bounded staleness, the learner stage stalls
   * behind it): that is not ready, and the reason says which one and why.
   */
  readiness(): Readiness {
    if (!this.running) return { ready: false, reasons: [this.stopped ? 'stopping' : 'starting'] };
    const reasons: string[] = [];
    for (const r of [this.replica, this.contentReplica]) {
      const h = r?.health();
      if (h && !h.ok) reasons.push(h.reason ?? 'replica down');
    }
    reasons.push(...this.lagWatch.reasons());
    // Consumption paused for readiness for 30 s or more: which downstream is behind (a long pause is a stall at
    // pipeline.maxPauseMs and the process restarts; docs/operations.md, "Stalls").
    reasons.push(...pauseReasons(this.runners));
    // A rewrite of the serving view (Redis lost or restored from an older copy): the API serves fallbacks for what is
    // not back yet, so the process is not ready until it is done (docs/operations.md, "Serving view rebuilt").
    for (const e of this.epochs)
      if (e.rebuilding)
        reasons.push(`rebuilding serving view (${e.stage}: ${e.rebuildReason}; ${this.rebuildPending.get(e.stage) ?? 0} left)`);
    return { ready: reasons.length === 0, reasons };
  }

  /** Gradient batches name their partition, which must be the one kafkajs gives their items' keys. */
  private async partitionCount(topic: string): Promise<number> {
    const admin = this.o.kafka.admin();
    await admin.connect();
    try {
      const md = await retryKafka(() => admin.fetchTopicMetadata({ topics: [topic] }));
      const n = md.topics[0]?.partitions.length ?? 0;
      if (n === 0) throw new InvariantError(`topic ${topic} has no partitions`, { topic });
      return n;
    } finally {
      await admin.disconnect();
    }
  }

  stop(): Promise<void> {
    this.stopped ??= this.doStop();
    return this.stopped;
  }

  private async doStop(): Promise<void> {
    this.running = false;
    try {
      await this.started;
    } catch {
      /* close what was opened */
    }
    for (const e of this.epochs) await e.stop();
    for (const r of [...this.runners].reverse()) await r.stop();
    await this.learner?.stop();
    this.catalog?.stop();
    await this.replica?.stop();
    await this.contentReplica?.stop();
    await this.producer?.disconnect();
  }
}
