import type { Admin, Consumer, EachBatchPayload, IHeaders, Kafka } from 'kafkajs';
import { errorMessage, LearnstreamError, PoisonMessageError } from '../../lib/errors';
import type { Logger } from '../../lib/log';
import type { Emitter } from '../../lib/metrics/instrumentation';
import type { DeadLetterWriter } from '../dead-letter';
import type { CheckpointStore } from '../state/checkpoint';
import { CoPartitionedAssigner } from './assigner';
import { Mutex } from './mutex';
import { isRetriable, retryKafka } from '../../lib/retry';

/** One consumed record as the processors see it (kafkajs types kept out of the per-event logic). */
export interface InputRecord {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  /** Kafka record timestamp (epoch ms): when the producer sent it. Freshness is measured from here. */
  timestamp: number;
  headers: IHeaders;
}

/**
 * The per-stage logic the runner drives. State is kept per partition group (partition i of every input topic).
 * `apply` must be deterministic given (group state, record): after a crash the runner restores the last checkpoint and
 * replays the records after its offsets, and the result must be what an uninterrupted run would have had.
 */
export interface GroupProcessor<S> {
  readonly stage: string;
  /** Restore the group's state from its checkpoint, or start empty (`null`). */
  restore(group: number, state: S | null): void;
  apply(group: number, record: InputRecord): Promise<void> | void;
  /** Resolves when every downstream record emitted so far is acknowledged (called before each checkpoint). */
  flush(): Promise<void>;
  /** A serializable copy of the group's state, taken synchronously so it matches the offsets exactly. */
  snapshot(group: number): S;
  /** The group moved to another instance (or we stop): forget its state. */
  drop(group: number): void;
  /**
   * False while downstream (serving store, producer, the item stage behind our replica) is behind: the runner pauses
   * the partition and polls (heartbeating) until it turns true or the consumer stops.
   */
  ready?(): boolean;
  /**
   * While ready() is false: which downstream is behind and by how much (e.g. `serving store: 5,012 re-ranks
   * pending`), for the log line, /readyz and the stall message of a long readiness pause. Optional.
   */
  waitingFor?(): string | undefined;
  /**
   * End of a batch of one input partition (e.g. broadcast what changed). Not awaited for correctness. `behind`: records
   * of that partition still to consume after this batch (high watermark - next offset): the consumer's lag.
   */
  afterBatch?(group: number, behind?: number): void;
}

export interface StageRunnerOptions<S> {
  kafka: Kafka;
  groupId: string;
  topics: string[];
  processor: GroupProcessor<S>;
  store: CheckpointStore;
  logger: Logger;
  emit: Emitter;
  /** Checkpoint each partition group at most this often (ms). Default 5000. Lower = less replay after a crash. */
  checkpointIntervalMs?: number;
  /** Partitions processed concurrently (kafkajs partitionsConsumedConcurrently). Default 2. */
  concurrency?: number;
  /** Max bytes per partition per fetch: bounds a batch's memory. Default 256 KiB. */
  maxBytesPerPartition?: number;
  /**
   * Where records go that the processor rejects with PoisonMessageError (internal topics, whose records the shared
   * decode step does not see): `<topic>.dlq` with the reason in headers, counted; the offset then moves on. Without
   * one such a record is only counted (tests).
   */
  deadLetters?: Pick<DeadLetterWriter, 'write'>;
  /** Called when the runner cannot go on (non-retriable error): the process entry exits non-zero. */
  onFatal?: (err: unknown) => void;
  sessionTimeoutMs?: number;
  /**
   * Consumer lag per assigned partition is reported this often (ms), whether or not records flow, so a stalled or
   * paused consumer shows a growing lag instead of a frozen gauge. Default 5000; 0 = only after batches.
   */
  lagIntervalMs?: number;
  /**
   * Stall limit (ms): a readiness pause longer than this (`paused`), or an assigned partition with lag > 0 that gets no
   * batch for this long (`no-fetch`), is a stall: counted (`pipeline.stall`), logged, and after `stallExitDelayMs`
   * handed to onFatal, so the process exits non-zero and its supervisor restarts it; state resumes from the checkpoint,
   * nothing is lost. A partition without lag gets no batch and is never a stall. Default 0 = off (tests); the
   * pipeline passes config pipeline.maxPauseMs. The no-fetch check runs with the lag report (`lagIntervalMs`).
   */
  maxPauseMs?: number;
  /** How long a stalled runner waits before onFatal, so one Prometheus scrape (5 s) sees the stall counted. Default 6000. */
  stallExitDelayMs?: number;
}

/** One partition group waiting for downstream readiness: since when, and for what (GroupProcessor.waitingFor). */
export interface ReadinessPause {
  group: number;
  pausedMs: number;
  waitingFor?: string;
}

/** A stage that stopped consuming: the process should be restarted (StageRunnerOptions.maxPauseMs). */
export class StallError extends LearnstreamError {
  constructor(
    message: string,
    readonly reason: 'paused' | 'no-fetch',
  ) {
    super(message, { retriable: false });
  }
}

interface GroupInfo {
  mutex: Mutex;
  loaded: boolean;
  /** topic:partition -> next offset to apply (what the state reflects). */
  next: Map<string, bigint>;
  lastCheckpoint: number;
  dirty: boolean;
  /** The checkpoint being written (outside the group's lock), at most one per group. */
  writing: Promise<void> | null;
  /** A background checkpoint write failed: thrown from the group's next batch, as a failed checkpoint always was. */
  failed: Error | undefined;
}

const tpKey = (topic: string, partition: number) => `${topic}:${partition}`;
/** Records applied between event-loop turns (and readiness checks) inside one batch. */
const YIELD_EVERY = 32;

/**
 * Drives one stage: a consumer group over co-partitioned input topics, with state checkpointed together with the
 * offsets it reflects. Kafka's committed offsets are only a hint (for lag and fast restart) and never run ahead of a
 * checkpoint; the checkpoint's own offsets are the truth. On (re)assignment the runner restores the checkpoint and
 * seeks to its offsets; records below them are skipped, so nothing is applied twice and nothing is missed.
 */
export class StageRunner<S> {
  private consumer: Consumer | null = null;
  private admin: Admin | null = null;
  private readonly groups = new Map<number, GroupInfo>();
  private assigned = new Set<number>();
  private starting: Promise<void> | null = null;
  private stopping: Promise<void> | null = null;
  private readonly interval: number;
  private idleTimer: NodeJS.Timeout | null = null;
  private lagTimer: NodeJS.Timeout | null = null;
  private lagInFlight: Promise<void> | null = null;
  /** topic:partition of every lag series this runner has set, so revoke and stop can remove them. */
  private readonly lagSeries = new Set<string>();
  /** Partition groups waiting for downstream readiness now. */
  private readonly waits = new Map<number, { since: number; waitingFor?: string }>();
  /** topic:partition -> when kafkajs last handed over a batch of it or a record of it was applied (no-fetch check). */
  private readonly lastFetch = new Map<string, number>();
  /** topic:partition -> offset after the last batch kafkajs filtered to nothing (transaction markers, aborted records). */
  private readonly filteredTo = new Map<string, bigint>();
  /** When the assignment last changed or a readiness wait ended: partitions starved meanwhile get a fresh clock. */
  private quietSince = Date.now();
  /** Partition groups restoring their checkpoint now: no batch comes meanwhile, and that is not a no-fetch stall. */
  private readonly loading = new Set<number>();
  private stalled: StallError | null = null;

  constructor(private readonly opts: StageRunnerOptions<S>) {
    this.interval = opts.checkpointIntervalMs ?? 5000;
  }

  get stage(): string {
    return this.opts.processor.stage;
  }

  /** Partition groups of the current assignment (empty until the consumer has joined its group). */
  get assignedGroups(): ReadonlySet<number> {
    return this.assigned;
  }

  start(): Promise<void> {
    this.starting ??= this.doStart();
    return this.starting;
  }

  private async doStart(): Promise<void> {
    const { kafka, groupId, topics } = this.opts;
    this.admin = kafka.admin();
    await this.admin.connect();
    const consumer = kafka.consumer({
      groupId,
      partitionAssigners: [CoPartitionedAssigner],
      maxBytesPerPartition: this.opts.maxBytesPerPartition ?? 256 * 1024,
      sessionTimeout: this.opts.sessionTimeoutMs ?? 10000,
      heartbeatInterval: 1000,
      readUncommitted: false,
      maxWaitTimeInMs: 100,
      retry: { retries: 10, initialRetryTime: 100, maxRetryTime: 2000 },
    });
    this.consumer = consumer;
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      const assignment = e.payload.memberAssignment as Record<string, number[]>;
      const next = new Set<number>();
      for (const t of topics) for (const p of assignment[t] ?? []) next.add(p);
      for (const p of this.assigned) if (!next.has(p)) this.forgetLag(p);
      this.assigned = next;
      this.quietSince = Date.now();
      this.filteredTo.clear();
      this.opts.logger.info('partition groups assigned', { stage: this.stage, groups: [...next] });
      for (const g of this.groups.keys()) if (!next.has(g)) void this.revoke(g);
    });
    // Every batch kafkajs hands over, also one it filtered to nothing (only transaction markers or aborted records),
    // which never reaches eachBatch: the position it moved past counts for the no-fetch check, so a transactional
    // producer's final marker (lag 1 that is never consumed) is not a stall.
    consumer.on(consumer.events.START_BATCH_PROCESS, (e) => {
      const key = tpKey(e.payload.topic, e.payload.partition);
      this.lastFetch.set(key, Date.now());
      if (e.payload.batchSize === 0) this.filteredTo.set(key, BigInt(e.payload.lastOffset) + 1n);
    });
    consumer.on(consumer.events.CRASH, (e) => {
      if (!e.payload.restart) this.opts.onFatal?.(e.payload.error);
    });
    await consumer.connect();
    // A group whose input went quiet still gets its last records checkpointed (batch ends only check when data flows).
    this.idleTimer = setInterval(
      () => {
        for (const [g, info] of this.groups) {
          if (info.loaded && info.dirty && !info.writing && Date.now() - info.lastCheckpoint >= this.interval) {
            void info.mutex
              .run(() => {
                void this.startCheckpoint(g, info); // the write goes on outside the lock
                return Promise.resolve();
              })
              .catch((err: unknown) => this.opts.logger.warn('idle checkpoint failed', { stage: this.stage, group: g, err }));
          }
        }
      },
      Math.max(100, Math.floor(this.interval / 2)),
    );
    this.idleTimer.unref();
    this.reportPaused();
    const lagEvery = this.opts.lagIntervalMs ?? 5000;
    if (lagEvery > 0) {
      this.lagTimer = setInterval(() => {
        if (this.lagInFlight) return;
        this.lagInFlight = this.reportLag().finally(() => (this.lagInFlight = null));
      }, lagEvery);
      this.lagTimer.unref();
    }
    await consumer.subscribe({ topics, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.opts.concurrency ?? 2,
      eachBatch: (p) => this.onBatch(p),
    });
  }

  private group(g: number): GroupInfo {
    let info = this.groups.get(g);
    if (!info) {
      info = {
        mutex: new Mutex(),
        loaded: false,
        next: new Map(),
        lastCheckpoint: Date.now(),
        dirty: false,
        writing: null,
        failed: undefined,
      };
      this.groups.set(g, info);
    }
    return info;
  }

  /** Loads the checkpoint and seeks every input partition of the group to its offsets (earliest when none). */
  private async load(g: number, info: GroupInfo): Promise<void> {
    const cp = await this.opts.store.get<S>(this.stage, g);
    this.opts.processor.restore(g, cp ? cp.state : null);
    info.next.clear();
    for (const topic of this.opts.topics) {
      const key = tpKey(topic, g);
      this.filteredTo.delete(key);
      let offset: bigint | undefined = cp?.offsets[key] !== undefined ? BigInt(cp.offsets[key]) : undefined;
      if (offset === undefined) {
        const offs = await retryKafka(() => this.admin!.fetchTopicOffsets(topic));
        const low = offs.find((o) => o.partition === g)?.low;
        if (low === undefined) continue; // this topic has fewer partitions
        offset = BigInt(low);
      }
      info.next.set(key, offset);
      this.consumer!.seek({ topic, partition: g, offset: offset.toString() });
    }
    info.loaded = true;
    info.lastCheckpoint = Date.now();
    this.opts.logger.info('partition group restored', {
      stage: this.stage,
      group: g,
      fromCheckpoint: cp !== null,
      offsets: Object.fromEntries([...info.next].map(([k, v]) => [k, v.toString()])),
    });
  }

  private async onBatch(p: EachBatchPayload): Promise<void> {
    const { batch } = p;
    const resolveOffset = (o: string) => p.resolveOffset(o);
    const heartbeat = () => p.heartbeat();
    const isRunning = () => p.isRunning();
    const isStale = () => p.isStale();
    const g = batch.partition;
    if (!this.assigned.has(g)) return;
    // A readiness wait ends when the group is revoked too, so its revoke checkpoint is not held up behind it.
    const owned = () => isRunning() && !isStale() && this.assigned.has(g);
    const info = this.group(g);
    await info.mutex.run(async () => {
      if (!info.loaded) {
        this.loading.add(g);
        try {
          await this.load(g, info);
        } finally {
          this.loading.delete(g);
          for (const topic of this.opts.topics) this.lastFetch.set(tpKey(topic, g), Date.now());
        }
        return; // the seeks make this batch stale; fetching resumes from the checkpoint's offsets
      }
      if (isStale()) return;
      if (info.failed !== undefined) {
        const err = info.failed;
        info.failed = undefined;
        throw err;
      }
      // Short hiccups are waited out holding the batch (kafkajs fetches nothing more for a partition whose batch is in
      // progress); only a longer wait pauses the partition, since resuming costs a fetch round trip.
      if (this.opts.processor.ready && !this.opts.processor.ready()) await this.waitDownstream(g, heartbeat, owned, () => p.pause());
      const key = tpKey(batch.topic, g);
      const started = performance.now();
      let applied = 0;
      for (const m of batch.messages) {
        if (!isRunning() || isStale() || !this.assigned.has(g)) break;
        const offset = BigInt(m.offset);
        const expected = info.next.get(key);
        if (expected !== undefined && offset < expected) {
          resolveOffset(m.offset); // already reflected in the restored state: skip, never apply twice
          continue;
        }
        const record: InputRecord = {
          topic: batch.topic,
          partition: g,
          offset: m.offset,
          key: m.key,
          value: m.value,
          timestamp: Number(m.timestamp),
          headers: m.headers ?? {},
        };
        await this.applyWithRetry(g, record);
        info.next.set(key, offset + 1n);
        info.dirty = true;
        resolveOffset(m.offset);
        this.lastFetch.set(key, Date.now());
        applied++;
        if (applied % 200 === 0) await heartbeat();
        if (applied % YIELD_EVERY === 0) {
          // A batch holds up to maxBytesPerPartition of records (thousands), and applying them awaits only resolved
          // promises: without a macrotask turn inside the batch no acknowledgement, replica row, timer or other stage
          // of this process runs, and the learner ran a whole batch ahead of a replica it starved (from an empty one
          // at start). Readiness is rechecked for the same reason.
          await new Promise<void>((r) => setImmediate(r));
          if (this.opts.processor.ready && !this.opts.processor.ready()) await this.waitDownstream(g, heartbeat, owned);
        }
      }
      if (applied > 0) {
        const next = info.next.get(key);
        this.opts.processor.afterBatch?.(g, next !== undefined ? Number(BigInt(batch.highWatermark) - next) : undefined);
        this.opts.emit.emit('stage.processed', { stage: this.stage, durationMs: performance.now() - started });
        if (next !== undefined) this.emitLag(batch.topic, g, Number(BigInt(batch.highWatermark) - next));
      }
      // the write goes on outside the lock (errors: from the next batch)
      if (Date.now() - info.lastCheckpoint >= this.interval) void this.startCheckpoint(g, info);
    });
  }

  private emitLag(topic: string, partition: number, lag: number): void {
    if (!this.assigned.has(partition) || this.stopping) return;
    this.lagSeries.add(tpKey(topic, partition));
    this.opts.emit.emit('consumer.lag', { group: this.opts.groupId, topic, partition, lag });
  }

  private forgetLag(partition?: number): void {
    for (const key of [...this.lagSeries]) {
      const i = key.lastIndexOf(':');
      const p = Number(key.slice(i + 1));
      if (partition !== undefined && p !== partition) continue;
      this.lagSeries.delete(key);
      this.opts.emit.emit('consumer.lagGone', { group: this.opts.groupId, topic: key.slice(0, i), partition: p });
    }
  }

  /**
   * Lag of every assigned partition: high watermark (admin) minus the position, i.e. the next offset the group's
   * state reflects (loaded groups), else the committed offset (or the low watermark when none). Runs on a timer, so
   * the gauge keeps moving while a partition is paused, stuck retrying, or not yet restored.
   */
  private async reportLag(): Promise<void> {
    if (!this.admin || this.assigned.size === 0 || this.stopping) return;
    try {
      const { groupId, topics } = this.opts;
      const [highs, committed] = await Promise.all([
        Promise.all(topics.map((t) => this.admin!.fetchTopicOffsets(t))),
        this.admin.fetchOffsets({ groupId, topics }),
      ]);
      topics.forEach((topic, ti) => {
        for (const o of highs[ti]) {
          const g = o.partition;
          if (!this.assigned.has(g)) continue;
          const info = this.groups.get(g);
          let position = info?.loaded ? info.next.get(tpKey(topic, g)) : undefined;
          if (position === undefined) {
            const c = committed.find((x) => x.topic === topic)?.partitions.find((x) => x.partition === g)?.offset;
            position = BigInt(c !== undefined && Number(c) >= 0 ? c : o.low);
          }
          const lag = Number(BigInt(o.high) - position);
          this.emitLag(topic, g, lag);
          this.checkFetching(topic, g, lag, BigInt(o.high));
        }
      });
      this.reportPaused();
    } catch (err) {
      this.opts.logger.debug('lag report failed (retried at the next interval)', { stage: this.stage, err });
    }
  }

  /**
   * Waits (heartbeating) until downstream is ready, or the group is stopped or revoked. With `pause` (at a batch's
   * start) a wait longer than 200 ms pauses the partition, and it is always resumed: a heartbeat that throws during
   * the wait (the group is rebalancing) left it paused in kafkajs' subscription state for good before, a stage stuck
   * while its process looked alive. The wait is recorded while it lasts (paused-seconds gauge, /readyz, stall check).
   */
  private async waitDownstream(g: number, heartbeat: () => Promise<void>, go: () => boolean, pause?: () => () => void): Promise<void> {
    const w = { since: Date.now(), waitingFor: this.opts.processor.waitingFor?.() };
    this.waits.set(g, w);
    try {
      if (pause && (await this.waitReady(w, heartbeat, go, 200))) return;
      const resume = pause?.();
      try {
        await this.waitReady(w, heartbeat, go);
      } finally {
        resume?.();
      }
    } finally {
      this.waits.delete(g);
      this.quietSince = Date.now();
      this.reportPaused();
    }
  }

  /**
   * No-fetch stall: the partition has records to consume (past what kafkajs filtered away) and has had no batch, and
   * no record applied, for maxPauseMs, while no readiness wait runs here (that is the `paused` check's, and a wait
   * holds back the other partitions of this runner too) and its group is not restoring (the clock starts when the
   * restore ends). A partition without lag gets no batch: never a stall.
   */
  private checkFetching(topic: string, g: number, lag: number, high: bigint): void {
    const max = this.opts.maxPauseMs ?? 0;
    const key = tpKey(topic, g);
    const filtered = this.filteredTo.get(key);
    if (max <= 0 || lag <= 0 || (filtered !== undefined && filtered >= high) || this.waits.size > 0 || this.loading.has(g)) return;
    const idleMs = Date.now() - Math.max(this.lastFetch.get(key) ?? 0, this.quietSince);
    if (idleMs >= max) this.stall('no-fetch', `${key} has ${lag} records to consume and got no batch for ${Math.round(idleMs / 1000)} s`);
  }

  /** Polls the processor's readiness (heartbeating) until ready, `go()` turns false (stopped, revoked), or `limitMs`; false only on the limit. */
  private async waitReady(
    w: { since: number; waitingFor?: string },
    heartbeat: () => Promise<void>,
    go: () => boolean,
    limitMs = Infinity,
  ): Promise<boolean> {
    let waited = 0;
    while (go() && !this.opts.processor.ready!()) {
      if (waited >= limitMs) return false;
      await new Promise((r) => setTimeout(r, 5));
      waited += 5;
      if (waited % 1000 !== 0) continue;
      w.waitingFor = this.opts.processor.waitingFor?.() ?? w.waitingFor;
      this.reportPaused();
      const pausedMs = Date.now() - w.since;
      const max = this.opts.maxPauseMs ?? 0;
      if (max > 0 && pausedMs >= max)
        this.stall(
          'paused',
          `consumption paused ${Math.round(pausedMs / 1000)} s for readiness, waiting for ${w.waitingFor ?? 'downstream'}`,
        );
      if (waited % 30000 === 0)
        this.opts.logger.warn('downstream behind: consumption paused', { stage: this.stage, pausedMs, waitingFor: w.waitingFor });
      await heartbeat();
    }
    return true;
  }

  /** Readiness waits of this runner now (the longest first is not promised). */
  pauses(): ReadinessPause[] {
    const now = Date.now();
    return [...this.waits].map(([group, w]) => ({ group, pausedMs: now - w.since, waitingFor: w.waitingFor }));
  }

  /** learnstream_pipeline_consumption_paused_seconds{stage}: the longest readiness wait now, 0 when none. */
  private reportPaused(): void {
    const longest = Math.max(0, ...this.pauses().map((p) => p.pausedMs));
    this.opts.emit.emit('consumer.paused', { stage: this.stage, pausedMs: longest });
  }

  /**
   * A stall (StageRunnerOptions.maxPauseMs): counted and logged once, then, after a delay that lets one scrape see the
   * count, handed to onFatal (the process exits non-zero and is restarted). Consumption stays as it is meanwhile.
   */
  private stall(reason: 'paused' | 'no-fetch', detail: string): void {
    if (this.stalled || this.stopping) return;
    const delay = this.opts.stallExitDelayMs ?? 6000;
    const err = (this.stalled = new StallError(
      `${this.stage} stage stalled (${reason}): ${detail}; limit ${this.opts.maxPauseMs} ms (pipeline.maxPauseMs)`,
      reason,
    ));
    this.opts.emit.emit('pipeline.stall', { stage: this.stage, reason });
    this.opts.logger.error(
      `stage stalled (${reason}): exiting in ${delay} ms so the supervisor restarts it; state resumes from its checkpoint`,
      {
        stage: this.stage,
        reason,
        detail,
        maxPauseMs: this.opts.maxPauseMs,
      },
    );
    setTimeout(() => this.opts.onFatal?.(err), delay).unref();
  }

  /** The stall this runner reported, if any (tests, diagnostics). */
  get stalledWith(): StallError | null {
    return this.stalled;
  }

  private async applyWithRetry(g: number, record: InputRecord): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      let failure: unknown;
      try {
        await this.opts.processor.apply(g, record);
        return;
      } catch (err) {
        failure = err;
      }
      if (failure instanceof PoisonMessageError) {
        // The processor could not decode it (input topics never get here: the shared decode step dead-letters their
        // poison and returns null). The DLQ write counts it; a failed write is retried like any dependency.
        if (!this.opts.deadLetters) {
          this.opts.emit.emit('deadLetter', { topic: record.topic, reason: failure.reason });
          return;
        }
        try {
          const message = {
            key: record.key,
            value: record.value,
            offset: record.offset,
            timestamp: String(record.timestamp),
            headers: record.headers,
          };
          await this.opts.deadLetters.write({ topic: record.topic, partition: record.partition, message }, failure);
          return;
        } catch (err) {
          failure = err;
        }
      }
      if (!isRetriable(failure) || attempt >= 8) {
        throw new LearnstreamError(`${this.stage}: cannot apply record: ${errorMessage(failure)}`, {
          cause: failure,
          context: { topic: record.topic, partition: record.partition, offset: record.offset },
        });
      }
      this.opts.logger.warn('retriable error, retrying', { stage: this.stage, attempt, err: failure });
      await new Promise((r) => setTimeout(r, Math.min(2000, 50 * 2 ** attempt)));
    }
  }

  /**
   * Starts a checkpoint of the group unless one is being written (called holding the group's lock): the offsets and
   * the state's snapshot are taken, and the store encodes it, synchronously here, so they match exactly; flushing
   * downstream and the write itself then run outside the lock, while the group's next batches go on. Holding the lock
   * through the write (a Kafka transaction, tens of ms and more under load) held up every batch of the group behind
   * it. One write in flight per group: a store's puts of one group stay in order. A failed write leaves the group
   * dirty (the previous checkpoint stays the truth) and is thrown from its next batch. Returns the write in flight.
   */
  private startCheckpoint(g: number, info: GroupInfo): Promise<void> | null {
    if (info.writing) return info.writing;
    if (!info.loaded) return null;
    if (!info.dirty) {
      info.lastCheckpoint = Date.now();
      return null;
    }
    const started = performance.now();
    const offsets: Record<string, string> = {};
    for (const [k, v] of info.next) offsets[k] = v.toString();
    const state = this.opts.processor.snapshot(g);
    // what the snapshot's events sent downstream is acknowledged before the checkpoint is written (the store waits)
    const after = this.opts.processor.flush();
    after.catch(() => undefined); // the put rejects with it
    const put = this.opts.store.put(
      this.stage,
      g,
      { offsets, state, writtenAt: Date.now() },
      { consumerGroupId: this.opts.groupId, after },
    );
    info.dirty = false;
    info.lastCheckpoint = Date.now();
    const writing = this.finishCheckpoint(g, info, offsets, put, started).then(
      () => {
        info.writing = null;
      },
      (err: unknown) => {
        info.writing = null;
        info.dirty = true;
        throw err;
      },
    );
    info.writing = writing;
    writing.catch((err: unknown) => {
      if (this.groups.get(g) !== info) return;
      info.failed =
        err instanceof Error ? err : new LearnstreamError(`${this.stage}: checkpoint failed: ${errorMessage(err)}`, { cause: err });
      this.opts.logger.warn('checkpoint failed; the previous one stays, retried at the next interval', {
        stage: this.stage,
        group: g,
        err,
      });
    });
    return writing;
  }

  private async finishCheckpoint(
    g: number,
    info: GroupInfo,
    offsets: Record<string, string>,
    put: Promise<void | 'superseded'>,
    started: number,
  ): Promise<void> {
    if ((await put) === 'superseded') {
      // The group moved while this instance still held it (a revoke behind a long batch, or a member the group had
      // already dropped): its new owner checkpointed further, and that checkpoint stays.
      this.opts.logger.info('checkpoint superseded by the new owner of the group, not written', { stage: this.stage, group: g });
      return;
    }
    this.opts.emit.emit('checkpoint', { stage: this.stage, durationMs: performance.now() - started });
    if (this.opts.store.commitsOffsets) return; // committed in the checkpoint's own transaction
    try {
      const topics = Object.entries(offsets).map(([k, v]) => {
        const i = k.lastIndexOf(':');
        return { topic: k.slice(0, i), partition: Number(k.slice(i + 1)), offset: v };
      });
      if (this.assigned.has(g) && this.groups.get(g) === info) await this.consumer!.commitOffsets(topics);
    } catch (err) {
      // Not a correctness problem: the checkpoint is the truth, committed offsets only shorten the next restore.
      this.opts.logger.debug('offset commit failed (checkpoint written)', { stage: this.stage, group: g, err });
    }
  }

  /**
   * Checkpoints the group now and waits for it (holding the group's lock: revoke, stop): after a write in flight, one
   * of the state as it is now.
   */
  private async checkpointLocked(g: number, info: GroupInfo): Promise<void> {
    if (info.writing) await info.writing.catch(() => undefined);
    info.failed = undefined; // superseded by this checkpoint (it throws itself if it fails too)
    await this.startCheckpoint(g, info);
  }

  /** Checkpoint every loaded group now (tests and shutdown). */
  async checkpointAll(): Promise<void> {
    for (const [g, info] of this.groups) await info.mutex.run(() => this.checkpointLocked(g, info));
  }

  private async revoke(g: number): Promise<void> {
    const info = this.groups.get(g);
    if (!info) return;
    await info.mutex.run(async () => {
      if (this.assigned.has(g)) return; // re-assigned to us meanwhile
      try {
        await this.checkpointLocked(g, info);
      } catch (err) {
        this.opts.logger.warn('checkpoint on revoke failed; the new owner replays from the previous one', {
          stage: this.stage,
          group: g,
          err,
        });
      }
      this.opts.processor.drop(g);
      this.groups.delete(g);
      this.forgetLag(g);
      this.opts.logger.info('partition group revoked', { stage: this.stage, group: g });
    });
  }

  /** Stops consuming, writes a final checkpoint of every group, disconnects. Safe to call twice. */
  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    try {
      await this.starting;
    } catch {
      /* a failed start still needs its connections closed */
    }
    if (this.idleTimer) clearInterval(this.idleTimer);
    this.idleTimer = null;
    if (this.lagTimer) clearInterval(this.lagTimer);
    this.lagTimer = null;
    await this.lagInFlight; // before the admin client it uses disconnects
    this.forgetLag();
    if (this.consumer) {
      // Checkpoint while still a member, so the next owner of each group restores the newest state. After a crash
      // (or before run) kafkajs has already left the group and pause() throws "Consumer group was not initialized":
      // nothing is being fetched then, so there is nothing to pause.
      try {
        this.consumer.pause(this.opts.topics.map((topic) => ({ topic })));
      } catch (err) {
        this.opts.logger.debug('not pausing: the consumer is not in its group (crashed or never ran)', { stage: this.stage, err });
      }
      await this.checkpointAll();
      await this.consumer.stop();
    }
    await this.checkpointAll();
    if (this.consumer) await this.consumer.disconnect();
    if (this.admin) await this.admin.disconnect();
  }

  /** Test/diagnostic view: next offsets per loaded group. */
  positions(): Record<number, Record<string, string>> {
    const out: Record<number, Record<string, string>> = {};
    for (const [g, info] of this.groups) out[g] = Object.fromEntries([...info.next].map(([k, v]) => [k, v.toString()]));
    return out;
  }
}
