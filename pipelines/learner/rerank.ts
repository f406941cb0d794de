import type { Logger } from '../../lib/log';
import type { Emitter } from '../../lib/metrics/instrumentation';
import type { RecommendationList, ServingStore } from '../../serving/types';
import { InvariantError } from '../../lib/errors';

export interface RerankerOptions {
  store: ServingStore;
  /** Builds the learner's list from current state (null: learner unknown or erased, nothing to write). */
  build?: (userId: string) => RecommendationList | null;
  /**
   * Builds the lists of every learner due in one tick together (one batched scoring call), same order, same nulls.
   * Takes precedence over `build`; one of them is required.
   */
  buildBatch?: (userIds: string[]) => Promise<(RecommendationList | null)[]> | (RecommendationList | null)[];
  /**
   * Builds the lists of one batch chunk by chunk: yields the lists of consecutive slices of `userIds` (together: same
   * order, same nulls as buildBatch). Each chunk is written as soon as it is yielded, so the first learners' lists are
   * acknowledged while the rest are still ranked. Takes precedence over `buildBatch` and `build`.
   */
  buildChunks?: (userIds: string[]) => AsyncIterable<(RecommendationList | null)[]>;
  emit: Emitter;
  logger: Logger;
  /** At most one re-rank per learner per this many ms (config pipeline.rerankIntervalMs). */
  intervalMs: number;
  /** Learners being built or written at once (each write is one Redis SET). Default 32. */
  concurrency?: number;
  /** Most learners built in one batch (one scoring call). Default 128. */
  maxBatch?: number;
  /**
   * A learner held by an event of a fetched batch ({@link Reranker.hold}) is re-ranked at the end of that batch
   * ({@link Reranker.release}), or after this many ms at the latest when the batch takes longer (a long backlog batch
   * still shows lists; the learner's final list is rebuilt at the batch end if a later event touched it): a safety
   * net, not the mechanism (a partition's batch always ends). Default 1000.
   */
  maxHoldMs?: number;
  /** Pending re-ranks at which hasRoom() turns false, so consumption pauses while Redis is slow. Default 5000. */
  maxPending?: number;
  now?: () => number;
  /**
   * No timers: re-ranks run only when {@link Reranker.runDue} is called (the served-path evaluation, which moves an
   * event-time clock and runs what is due before each event). Default false.
   */
  manual?: boolean;
}

/**
 * Coalesces re-rank requests: a learner's first event re-ranks at once, later events within `intervalMs` of the last
 * re-rank are folded into one re-rank at the end of the interval, which reads the state as it is then (so it reflects
 * all of them). The learners due at one tick are built as one batch (one scoring call for all of them; one batch
 * builds at a time, the next starts as soon as it is done, while its writes are still in flight). A builder that yields
 * a batch in chunks (buildChunks) has each chunk written as soon as it is built, so the batch's first lists are
 * acknowledged before its last are ranked. Writes go to the serving store with bounded concurrency; a failed write is retried with backoff and
 * the growing backlog makes hasRoom() false, which pauses the consumer. Also remembers each learner's last list, to find the lists
 * that contain a resource, so a removed resource can be pulled out of every list within one re-rank.
 */
export class Reranker {
  private readonly due = new Map<string, number>();
  private readonly last = new Map<string, number>();
  private readonly listOf = new Map<string, string[]>();
  private readonly running = new Map<string, Promise<void>>();
  private inflight = 0;
  private timer: NodeJS.Timeout | null = null;
  private timerAt = Infinity;
  private idleWaiters: (() => void)[] = [];
  private stopped = false;
  private readonly now: () => number;
  private readonly concurrency: number;
  private readonly maxBatch: number;
  private readonly maxPending: number;
  private building = false;
  private lastPrune = 0;
  /** Learners touched by the events of the fetched batch(es) in progress: re-ranked once at the batch end. */
  private readonly held = new Map<string, number>();
  private holdTimer: NodeJS.Timeout | null = null;
  private heldSince = 0;
  private holdExtended = false;
  /** Consumer behind (holdFor until caughtUp): new holds get the lag bound. */
  private lagging = false;
  private lagMs = 0;
  private readonly maxHoldMs: number;

  constructor(private readonly o: RerankerOptions) {
    this.now = o.now ?? Date.now;
    this.maxBatch = o.maxBatch ?? 128;
    // one batch's lists are written in one pipelined store call: two batches may be in flight while the next builds
    this.concurrency = o.concurrency ?? 2 * this.maxBatch;
    this.maxHoldMs = o.maxHoldMs ?? 1000;
    if (!o.build && !o.buildBatch && !o.buildChunks) throw new InvariantError('Reranker needs build, buildBatch or buildChunks');
    this.maxPending = o.maxPending ?? 5000;
  }

  /** Schedule a re-rank of `userId`; `urgent` ignores the coalescing interval (a resource left the catalogue). */
  request(userId: string, urgent = false): void {
    if (this.stopped) return;
    const now = this.now();
    const at = urgent ? now : Math.max(now, (this.last.get(userId) ?? -Infinity) + this.o.intervalMs);
    const cur = this.due.get(userId);
    if (cur !== undefined && cur <= at) return; // already scheduled no later: coalesced
    this.due.set(userId, at);
    this.arm(at);
  }

  /**
   * An event of a fetched batch touched `userId`: re-rank once when the batch ends ({@link release}), from the state
   * after the learner's last event in it, instead of once per event. Coalescing (intervalMs) applies at release.
   */
  hold(userId: string, group = 0): void {
    if (this.stopped) return;
    this.held.set(userId, group);
    if (!this.o.manual && !this.holdTimer) {
      this.heldSince = Date.now();
      const lagging = this.lagging;
      this.holdExtended = lagging;
      this.holdTimer = setTimeout(
        () => {
          this.holdTimer = null;
          this.release();
        },
        lagging ? this.lagMs : this.maxHoldMs,
      );
    }
  }

  /**
   * Under lag: the held learners wait until `ms` after the first of them was held (instead of maxHoldMs), then are
   * re-ranked once for all the batches that touched them meanwhile.
   */
  holdFor(ms: number): void {
    // learners held from now on, until the lag clears (caughtUp), get the same bound: a backlog's next batch is long too
    this.lagging = true;
    this.lagMs = ms;
    if (this.o.manual || this.held.size === 0 || this.holdTimer === null || this.holdExtended) return;
    // (one extension per hold: the timer is a bound from the first held event, not a sliding one)
    this.holdExtended = true;
    clearTimeout(this.holdTimer);
    this.holdTimer = setTimeout(
      () => {
        this.holdTimer = null;
        this.release();
      },
      Math.max(0, this.heldSince + ms - Date.now()),
    );
  }

  /** The consumer caught up: learners held from now on get the live bound (maxHoldMs) again. */
  caughtUp(): void {
    this.lagging = false;
  }

  /**
   * The fetched batch of partition group `group` ended (undefined: all): its held learners are requested now (built
   * in batches of maxBatch, one scoring call each). Another partition's batch in progress keeps its own.
   */
  release(group?: number): void {
    if (this.held.size === 0) return;
    const users: string[] = [];
    for (const [u, g] of this.held) if (group === undefined || g === group) users.push(u);
    for (const u of users) this.held.delete(u);
    if (this.held.size === 0 && this.holdTimer) {
      clearTimeout(this.holdTimer);
      this.holdTimer = null;
    }
    for (const u of users) this.request(u);
  }

  /** Schedule a re-rank of `userId` for time `at` (epoch ms) unless one is due sooner (a trailing refresh). */
  requestAt(userId: string, at: number): void {
    if (this.stopped) return;
    const cur = this.due.get(userId);
    if (cur !== undefined && cur <= at) return;
    this.due.set(userId, at);
    this.arm(at);
  }

  /**
   * Learners whose cached list (written by this instance) contains `resourceId`. A scan instead of a maintained
   * reverse index: removals are rare, and keeping a resource -> learners index cost more per write than this costs
   * per removal (learners x topN comparisons, milliseconds).
   */
  learnersListing(resourceId: string): string[] {
    const out: string[] = [];
    for (const [u, ids] of this.listOf) if (ids.includes(resourceId)) out.push(u);
    return out;
  }

  /** The learner's last written list (resource ids in rank order), if this instance wrote one. */
  lastList(userId: string): readonly string[] | undefined {
    return this.listOf.get(userId);
  }

  /** Forget a learner (erasure): no pending re-rank, no reverse-index entries. */
  forget(userId: string): void {
    this.held.delete(userId);
    this.due.delete(userId);
    this.last.delete(userId);
    this.unindex(userId);
  }

  /** Resolves once no re-rank of `userId` is computing or writing (erasure waits for it before deleting keys). */
  async settle(userId: string): Promise<void> {
    while (this.running.has(userId)) await this.running.get(userId);
  }

  get pending(): number {
    return this.held.size + this.due.size + this.inflight;
  }

  /** False while the backlog is at maxPending (the consumer pauses). */
  hasRoom(): boolean {
    return this.pending < this.maxPending;
  }

  /** Resolves when nothing is scheduled or in flight (tests, shutdown). Pending re-ranks run now. */
  drain(): Promise<void> {
    this.release();
    if (this.o.manual) {
      for (const u of this.due.keys()) this.due.set(u, -Infinity);
      return this.runDue();
    }
    for (const u of this.due.keys()) this.due.set(u, 0);
    this.arm(0);
    if (this.pending === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  async stop(): Promise<void> {
    await this.drain();
    this.stopped = true;
    if (this.holdTimer) clearTimeout(this.holdTimer);
    this.holdTimer = null;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /**
   * Manual mode: runs every re-rank due at or before now() and resolves when their lists are written. Learners are
   * built in batches of maxBatch, as the timer would.
   */
  async runDue(): Promise<void> {
    this.release();
    const now = this.now();
    const due: string[] = [];
    for (const [u, at] of this.due) if (at <= now) due.push(u);
    for (let i = 0; i < due.length; i += this.maxBatch) {
      const batch = due.slice(i, i + this.maxBatch);
      for (const u of batch) this.due.delete(u);
      this.runBatch(batch);
      await Promise.all(
        batch.flatMap((u) => {
          const p = this.running.get(u);
          return p ? [p] : [];
        }),
      );
    }
  }

  private arm(at: number): void {
    if (this.o.manual) return;
    if (this.timer && at >= this.timerAt) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => this.tick(), Math.max(0, at - this.now()));
  }

  private tick(): void {
    this.timer = null;
    this.timerAt = Infinity;
    if (this.building) return; // re-armed when the batch is built
    const now = this.now();
    let nextAt = Infinity;
    const batch: string[] = [];
    const room = Math.min(this.maxBatch, this.concurrency - this.inflight);
    for (const [u, at] of this.due) {
      if (batch.length >= room) {
        nextAt = Math.min(nextAt, now + (room <= 0 ? 5 : 0));
        break;
      }
      if (at > now) {
        nextAt = Math.min(nextAt, at);
        continue;
      }
      this.due.delete(u);
      batch.push(u);
    }
    if (batch.length > 0) this.runBatch(batch);
    if (nextAt < Infinity) this.arm(nextAt);
    if (now - this.lastPrune > 10 * Math.max(this.o.intervalMs, 100)) this.prune(now);
  }

  private runBatch(users: string[]): void {
    this.inflight += users.length;
    this.building = true;
    const now = this.now();
    for (const u of users) this.last.set(u, now);
    const p = this.buildAndWrite(users);
    for (const u of users) this.running.set(u, p);
    void p.finally(() => {
      for (const u of users) if (this.running.get(u) === p) this.running.delete(u);
    });
  }

  /** The batch's lists in the builder's chunks (one chunk unless buildChunks), each chunk written when it is built. */
  private chunks(users: string[]): AsyncIterable<(RecommendationList | null)[]> {
    const o = this.o;
    if (o.buildChunks) return o.buildChunks(users);
    return (async function* () {
      yield await (o.buildBatch ? o.buildBatch(users) : users.map((u) => o.build!(u)));
    })();
  }

  /**
   * Builds one batch and writes each chunk as it comes (its writes in flight while the next chunk is ranked); resolves
   * when every chunk is written or scheduled for a retry.
   */
  private async buildAndWrite(users: string[]): Promise<void> {
    const writes: Promise<void>[] = [];
    let done = 0;
    let mark = performance.now();
    try {
      for await (const lists of this.chunks(users)) {
        const part = users.slice(done, done + lists.length);
        done += part.length;
        const at = performance.now();
        writes.push(this.write(part, lists, (at - mark) / Math.max(1, part.length), users.length));
        mark = at;
      }
      if (done < users.length) throw new InvariantError(`re-rank built ${done} of ${users.length} lists`);
    } catch (err) {
      // the learners not built yet are retried like a failed write
      const rest = users.slice(done);
      this.retry(rest, err);
      this.inflight -= rest.length;
      this.wake();
    } finally {
      this.building = false;
      if (this.due.size > 0) this.arm(this.now());
    }
    await Promise.all(writes);
  }

  /**
   * Writes one built chunk: all its lists in one pipelined store call (one round trip), then indexes them.
   * `durationMs`: build time per learner of the chunk; `batch`: learners of the scoring batch it belongs to.
   */
  private async write(users: string[], built: (RecommendationList | null)[], durationMs: number, batch: number): Promise<void> {
    try {
      const lists = built.filter((l): l is RecommendationList => l !== null);
      if (lists.length === 0) return;
      for (const list of lists) this.o.emit.emit('rerank', { durationMs, candidates: list.items.length, batch });
      // the chunk's lists in one store call (Redis: one script call for new dictionary entries, one pipeline of SETs)
      const store = this.o.store;
      if (store.putRecommendationLists) await store.putRecommendationLists(lists);
      else await Promise.all(lists.map((l) => store.putRecommendations(l)));
      // Freshness is measured at the write acknowledgement: from the newest reflected event's Kafka timestamp
      // (produce time) to the moment a reader can see the list.
      const ackAt = Date.now();
      for (const list of lists) {
        this.index(
          list.userId,
          list.items.map((i) => i.resourceId),
        );
        this.o.emit.emit('list.written', { freshnessMs: ackAt - (list.eventTime ?? list.generatedAt), source: list.source });
      }
    } catch (err) {
      this.retry(users, err);
    } finally {
      this.inflight -= users.length;
      this.wake();
      if (this.due.size > 0 && !this.timer && !this.building) this.arm(this.now());
    }
  }

  /** A failed build or write: the learners are re-ranked again in 500 ms (unless one is due sooner). */
  private retry(users: string[], err: unknown): void {
    if (users.length === 0) return;
    this.o.logger.warn('re-rank failed, retrying', { learners: users.length, err });
    if (this.stopped) return;
    const at = this.now() + 500;
    for (const u of users) if (!this.due.has(u)) this.due.set(u, at);
    this.arm(at);
  }

  private wake(): void {
    if (this.pending === 0 && this.idleWaiters.length) for (const w of this.idleWaiters.splice(0)) w();
  }

  private index(userId: string, ids: string[]): void {
    this.listOf.set(userId, ids);
  }

  private unindex(userId: string): void {
    this.listOf.delete(userId);
  }

  /** `last` only matters within one interval; older entries are dropped so memory stays bounded by active learners. */
  private prune(now: number): void {
    this.lastPrune = now;
    for (const [u, t] of this.last) if (now - t > this.o.intervalMs) this.last.delete(u);
  }
}
