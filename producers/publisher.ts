/**
 * The typed client platforms use to publish events. Every call checks the publisher's grant (ForbiddenError, nothing
 * sent: an erasure needs `admin`, see producers/authorize.ts), validates (ValidationError, nothing sent), then joins
 * a batch; the returned promise resolves once the broker acknowledged the batch (acks=all, idempotent producer).
 * With a delivery timeout it rejects instead when no acknowledgement came in time (NotAcknowledgedError, which says
 * whether the record may have been written anyway), and a record that timed out before it was sent is never sent.
 */
import type { Kafka, Producer } from 'kafkajs';
import type { Client } from '@confluentinc/schemaregistry';
import { DependencyError, LearnstreamError, NotAcknowledgedError, ValidationError } from '../lib/errors';
import { isRetriable } from '../lib/retry';
import { createLogger, type Logger } from '../lib/log';
import { noopEmitter, type Emitter } from '../lib/metrics/instrumentation';
import { EventSerializer } from '../lib/serde';
import { denyEvent, denyId, denyKind, denyScope, type Grant } from './authorize';
import { topicName } from '../schemas/topics';
import {
  KIND_EVENT,
  KIND_TOPIC,
  assertValidEvent,
  eventKey,
  type ErasureRequestInput,
  type EventKind,
  type EventTypes,
  type KindedEvent,
  type LearnerProfileInput,
  type LearningInteractionInput,
  type QuizAttemptInput,
  type ResourceInput,
} from '../schemas';

export interface PublisherOptions {
  kafka: Kafka;
  registry: Client;
  /** Full topic prefix (config.kafka.topicPrefix plus any test prefix). Default ''. */
  topicPrefix?: string;
  emit?: Emitter;
  logger?: Logger;
  /** Most records per Kafka request. Default 1000. */
  maxBatchRecords?: number;
  /** How long a record may wait for companions before its batch is sent, in ms. Default 5. */
  lingerMs?: number;
  /** Records accepted but not yet acknowledged; further publish calls wait for room (backpressure). Default 20,000. */
  maxPending?: number;
  /** Extra attempts for a batch that failed with a retriable Kafka error, after kafkajs' own retries. Default 3. */
  retries?: number;
  /** First backoff between those attempts, doubled each time, in ms. Default 200. */
  retryBackoffMs?: number;
  /** Clock for the future-timestamp rule, epoch ms. Default Date.now. */
  now?: () => number;
  /**
   * What this publisher may send (producers/authorize.ts). Default `{ scopes: ['write'] }`: every event but an
   * erasure, any id. Give `scopes: ['write', 'admin']` to a publisher that serves erasure requests, and `idPrefix` to
   * keep a tenant's publisher to its own resources and profiles. The broker's ACLs hold clients that skip this class.
   */
  grant?: Grant;
  /**
   * Longest a record may wait from the publish call to its acknowledgement, in ms (per call: `{ timeoutMs }`). Past
   * it the call rejects with NotAcknowledgedError, and a record not yet sent by then is dropped, never sent later.
   * Default: none (a call then waits for kafkajs' retries and `retries` more, seconds during an outage).
   */
  deliveryTimeoutMs?: number;
}

/** Per-call publishing options. */
export interface PublishOptions {
  /** Overrides `deliveryTimeoutMs` for this record, in ms. */
  timeoutMs?: number;
}

/** The default grant: ordinary events, no erasures. */
export const WRITE_GRANT: Grant = { scopes: ['write'] };

interface Entry {
  topic: string;
  key: string;
  value: Buffer | null;
  resolve: () => void;
  reject: (err: unknown) => void;
  /** Resolved, rejected or timed out: later outcomes are ignored, and a settled record is not sent again. */
  settled: boolean;
  /** Handed to kafkajs in at least one request (so it may be in Kafka even without an acknowledgement). */
  attempted: boolean;
  timer: NodeJS.Timeout | null;
}

export class Publisher {
  private readonly queue: Entry[] = [];
  private readonly waiters: (() => void)[] = [];
  private pending = 0;
  private timer: NodeJS.Timeout | null = null;
  private sending: Promise<void> = Promise.resolve();
  private closing: Promise<void> | null = null;
  private readonly emit: Emitter;
  private readonly log: Logger;
  private readonly maxBatch: number;
  private readonly lingerMs: number;
  private readonly maxPending: number;
  private readonly retries: number;
  private readonly backoffMs: number;
  private readonly now: () => number;
  private readonly prefix: string;
  private readonly grant: Grant;
  private readonly deliveryTimeoutMs: number | undefined;

  private constructor(
    private readonly producer: Producer,
    private readonly serializer: EventSerializer,
    opts: PublisherOptions,
  ) {
    this.emit = opts.emit ?? noopEmitter;
    this.log = opts.logger ?? createLogger({ base: { component: 'publisher' } });
    this.maxBatch = opts.maxBatchRecords ?? 1000;
    this.lingerMs = opts.lingerMs ?? 5;
    this.maxPending = opts.maxPending ?? 20_000;
    this.retries = opts.retries ?? 3;
    this.backoffMs = opts.retryBackoffMs ?? 200;
    this.now = opts.now ?? Date.now;
    this.prefix = opts.topicPrefix ?? '';
    this.grant = opts.grant ?? WRITE_GRANT;
    this.deliveryTimeoutMs = opts.deliveryTimeoutMs;
  }

  /**
   * Looks up the schema ids of this build (ConfigError if they are not registered) and connects an idempotent
   * producer. Topics must exist (auto-creation is off so a typo cannot create a stray topic).
   */
  static async create(opts: PublisherOptions): Promise<Publisher> {
    const serializer = await EventSerializer.create(opts.registry, opts.topicPrefix ?? '');
    const producer = opts.kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    try {
      await producer.connect();
    } catch (err) {
      throw new DependencyError('kafka', `producer cannot connect: ${(err as Error).message}`, { cause: err });
    }
    return new Publisher(producer, serializer, opts);
  }

  publishInteraction(e: LearningInteractionInput): Promise<void> {
    return this.publish('interaction', e);
  }

  publishQuizAttempt(e: QuizAttemptInput): Promise<void> {
    return this.publish('quizAttempt', e);
  }

  upsertResource(e: ResourceInput): Promise<void> {
    return this.publish('resource', e);
  }

  /** Deletes a resource: a tombstone (null value) under its id on the compacted catalogue topic. Scope `write`. */
  deleteResource(resourceId: string): Promise<void> {
    if (typeof resourceId !== 'string' || resourceId.length === 0 || resourceId.length > 128) {
      return Promise.reject(new ValidationError('resourceId must be a non-empty string of at most 128 characters'));
    }
    const denied = denyScope(this.grant, 'write', 'deleting a resource') ?? denyId(this.grant, 'resourceId', resourceId);
    if (denied) return Promise.reject(denied);
    return this.enqueue(topicName('resources', this.prefix), resourceId, null);
  }

  upsertProfile(e: LearnerProfileInput): Promise<void> {
    return this.publish('profile', e);
  }

  /** Asks every stage to forget a learner. Needs a grant with `admin` (ForbiddenError otherwise, nothing sent). */
  requestErasure(e: ErasureRequestInput, opts: PublishOptions = {}): Promise<void> {
    return this.publish('erasure', e, opts);
  }

  /** Publishes an event given by kind; `input` is validated, so it may come straight from JSON. */
  publish(kind: EventKind, input: unknown, opts: PublishOptions = {}): Promise<void> {
    // the scope first: a caller without it learns that, not what else is wrong with the event
    const denied = denyKind(this.grant, kind);
    if (denied) return Promise.reject(denied);
    let event: EventTypes[(typeof KIND_EVENT)[EventKind]];
    try {
      event = assertValidEvent(KIND_EVENT[kind], input, { now: this.now() });
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    return this.publishValid({ kind, event } as KindedEvent, opts);
  }

  /** Publishes an event that already passed validateEvent (collector, replay): no second validation; the grant holds. */
  publishValid(e: KindedEvent, opts: PublishOptions = {}): Promise<void> {
    const denied = denyEvent(this.grant, e);
    if (denied) return Promise.reject(denied);
    const topic = topicName(KIND_TOPIC[e.kind], this.prefix);
    const key = eventKey(KIND_EVENT[e.kind], e.event);
    let value: Buffer;
    try {
      value = this.serializer.serializeSync(topic, e.event);
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    return this.enqueue(topic, key, value, opts.timeoutMs);
  }

  /** Sends everything queued now and resolves when it is acknowledged (or failed). */
  async flush(): Promise<void> {
    this.cutBatches();
    await this.sending;
  }

  /** Flushes, then disconnects. Safe to call more than once; publishing after close rejects. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.flush();
      await this.producer.disconnect();
    })();
    return this.closing;
  }

  /** Records accepted and not yet acknowledged. */
  get inFlight(): number {
    return this.pending;
  }

  private async enqueue(topic: string, key: string, value: Buffer | null, timeoutMs = this.deliveryTimeoutMs): Promise<void> {
    const started = performance.now();
    if (this.closing) throw new LearnstreamError('publisher is closed');
    if (this.pending >= this.maxPending || this.waiters.length > 0) {
      await new Promise<void>((r) => this.waiters.push(r));
      // The slot is ours now; pass the turn on if we do not use it.
      if (this.closing || (timeoutMs !== undefined && performance.now() - started >= timeoutMs)) {
        this.wakeWaiter();
        if (this.closing) throw new LearnstreamError('publisher is closed');
        throw new NotAcknowledgedError(false, `not sent: no room in the producer queue within ${timeoutMs} ms`);
      }
    }
    this.pending++;
    return new Promise<void>((resolve, reject) => {
      const entry: Entry = { topic, key, value, resolve, reject, settled: false, attempted: false, timer: null };
      if (timeoutMs !== undefined) {
        const left = Math.max(0, timeoutMs - (performance.now() - started));
        entry.timer = setTimeout(() => {
          const msg = entry.attempted
            ? `not acknowledged within ${timeoutMs} ms (sent, so it may have been written)`
            : `not sent within ${timeoutMs} ms, and never will be`;
          this.settle(entry, new NotAcknowledgedError(entry.attempted, msg));
        }, left);
      }
      this.queue.push(entry);
      if (this.queue.length >= this.maxBatch) this.cutBatches();
      else this.timer ??= setTimeout(() => this.cutBatches(), this.lingerMs);
    });
  }

  /** Moves the queue into batches chained behind the batch in flight, so batches (and keys) keep their order. */
  private cutBatches(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      this.sending = this.sending.then(() => this.send(batch));
    }
  }

  private async send(batch: Entry[]): Promise<void> {
    const started = performance.now();
    let error: unknown = null;
    let live: Entry[];
    let attempts = 0;
    for (let attempt = 0; ; attempt++) {
      // Records whose caller already got a timeout are not sent (again): what the caller was told stays true.
      live = batch.filter((e) => !e.settled);
      if (live.length === 0) break;
      const byTopic = new Map<string, { key: string; value: Buffer | null }[]>();
      for (const e of live) {
        e.attempted = true;
        const list = byTopic.get(e.topic) ?? [];
        list.push({ key: e.key, value: e.value });
        byTopic.set(e.topic, list);
      }
      const topicMessages = [...byTopic].map(([topic, messages]) => ({ topic, messages }));
      attempts++;
      error = await this.producer.sendBatch({ acks: -1, topicMessages }).then(
        () => null,
        (err: unknown) => err ?? new Error('unknown send failure'),
      );
      if (error === null || !isRetriable(error) || attempt >= this.retries) break;
      this.log.warn('send failed, retrying', { attempt: attempt + 1, error: error as Error });
      await new Promise((r) => setTimeout(r, this.backoffMs * 2 ** attempt));
    }
    if (attempts === 0) return;
    const durationMs = performance.now() - started;
    const counts = new Map<string, number>();
    for (const e of live) counts.set(e.topic, (counts.get(e.topic) ?? 0) + 1);
    for (const [topic, count] of counts) this.emit.emit('producer.sent', { topic, count, durationMs, ok: error === null });
    const failure =
      error === null
        ? null
        : isRetriable(error)
          ? new NotAcknowledgedError(true, `send failed after ${attempts} attempts: ${(error as Error).message}`, { cause: error })
          : new LearnstreamError(`Kafka refused the batch: ${(error as Error).message}`, { cause: error });
    for (const e of live) this.settle(e, failure);
  }

  private settle(entry: Entry, err: unknown): void {
    if (entry.settled) return;
    entry.settled = true;
    if (entry.timer) clearTimeout(entry.timer);
    this.pending--;
    if (err === null) entry.resolve();
    else entry.reject(err);
    this.wakeWaiter();
  }

  private wakeWaiter(): void {
    if (this.waiters.length > 0 && this.pending < this.maxPending) this.waiters.shift()!();
  }
}
