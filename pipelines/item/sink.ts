import { Partitioners, type PartitionMetadata, type Producer } from 'kafkajs';
import type { Emitter } from '../../lib/metrics/instrumentation';
import { encodeItemUpdate, encodeUpdateBatch, type BatchedUpdate, type ItemUpdate } from '../messages';
import { LearnstreamError } from '../../lib/errors';

/** Where the learner and catalogue stages send item updates. */
export interface ItemSink {
  send(update: ItemUpdate, headers?: Record<string, string>): void;
  /** Resolves when everything sent so far is acknowledged by the broker. */
  flush(): Promise<void>;
  /** Updates buffered or in flight. */
  readonly backlog: number;
  /** Partitions of model.item-updates this sink has had updates acknowledged on. */
  producedPartitions?(): Iterable<number>;
  /**
   * Updates of ours acknowledged on `partition` at or after offset `reflectedNext` (the replica's position there):
   * what the replica does not reflect yet, counted in updates, not records (replica-lag backpressure).
   */
  unreflected?(partition: number, reflectedNext: bigint): number;
}

/** Keyed records to one topic (model.item-factors broadcast, model.item-updates). */
export interface RecordSink {
  /**
   * `partition`: explicit target (a record carrying several keys' updates); `weight`: updates the record carries,
   * for `backlog` and the acknowledgement ledger (default 1).
   */
  push(key: string, value: Buffer | null, headers?: Record<string, string>, partition?: number, weight?: number): void;
  flush(): Promise<void>;
  readonly backlog: number;
}

/** Acknowledged records of one partition: offsets and the running count of updates they carried. */
class AckLedger {
  private offs: number[] = [];
  private cum: number[] = [];
  private head = 0;
  private base = 0;
  total = 0;

  add(offset: number, weight: number): void {
    this.total += weight;
    this.offs.push(offset);
    this.cum.push(this.total);
  }

  /** Updates in records at or after `next`; entries below it are dropped (a replica position only moves forward). */
  from(next: number): number {
    while (this.head < this.offs.length && this.offs[this.head] < next) this.base = this.cum[this.head++];
    if (this.head > 1024 && this.head * 2 > this.offs.length) {
      this.offs = this.offs.slice(this.head);
      this.cum = this.cum.slice(this.head);
      this.head = 0;
    }
    return this.total - this.base;
  }
}

/**
 * Buffers records and sends them in chunks, one chunk at a time, in call order: with an idempotent producer this keeps
 * per-partition order, which the item stage's dedup (highest applied source offset) relies on.
 */
export class KafkaRecordSink implements RecordSink {
  private buf: { key: string | null; value: Buffer | null; headers?: Record<string, string>; partition?: number; weight: number }[] = [];
  private chain: Promise<void> = Promise.resolve();
  private inflight = 0;
  private timer: NodeJS.Timeout | null = null;
  private failure: Error | null = null;
  /** Per partition of the topic: the records acknowledged, for replica-lag backpressure. */
  readonly acked = new Map<number, AckLedger>();

  constructor(
    private readonly producer: Producer,
    private readonly topic: string,
    private readonly emit: Emitter,
    private readonly lingerMs = 5,
    private readonly maxChunk = 500,
    /** Bytes of keys and values in one produce request at most (below the broker's 1 MB message.max.bytes). */
    private readonly maxChunkBytes = 512 * 1024,
    /**
     * The partition of a keyed record pushed without one, as kafkajs' default partitioner would pick it (keyPartitioner,
     * memoised): named on the sent message so the producer skips hashing the key again. Such records are not booked in
     * the acknowledgement ledger (only records pushed with their partition are). Default: kafkajs routes by key.
     */
    private readonly route?: (key: string) => number,
  ) {}
  private bufBytes = 0;

  get backlog(): number {
    return this.buf.length + this.inflight;
  }

  push(key: string | null, value: Buffer | null, headers?: Record<string, string>, partition?: number, weight = 1): void {
    if (this.failure) throw this.failure;
    this.buf.push(partition === undefined ? { key, value, headers, weight } : { key, value, headers, partition, weight });
    this.bufBytes += (value?.length ?? 0) + (key?.length ?? 0);
    if (this.buf.length >= this.maxChunk || this.bufBytes >= this.maxChunkBytes) this.kick();
    else this.timer ??= setTimeout(() => this.kick(), this.lingerMs);
  }

  /** Send what is buffered now instead of after the linger (the caller has already batched). */
  kick(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.buf.length === 0) return;
    const all = this.buf;
    this.buf = [];
    this.bufBytes = 0;
    // one request stays under the broker's message size (1 MB by default): rows with their transition signals are
    // kilobytes each, and a full re-broadcast after a restart sends thousands of them
    let start = 0;
    while (start < all.length) {
      let end = start;
      let bytes = 0;
      while (end < all.length && (end === start || bytes + recordBytes(all[end]) <= this.maxChunkBytes)) bytes += recordBytes(all[end++]);
      this.sendChunk(all.slice(start, end));
      start = end;
    }
  }

  private sendChunk(chunk: typeof this.buf): void {
    let weight = 0;
    for (const r of chunk) weight += r.weight;
    this.inflight += weight;
    this.chain = this.chain.then(async () => {
      const started = performance.now();
      try {
        // plain objects, not rest / spread copies (a row broadcast is ~10 records per event)
        const route = this.route;
        const messages = chunk.map((r) => ({
          key: r.key,
          value: r.value,
          headers: r.headers,
          partition: r.partition ?? (route && r.key !== null ? route(r.key) : undefined),
        }));
        const meta = await this.producer.send({ topic: this.topic, messages });
        this.ledger(chunk, meta);
        this.emit.emit('producer.sent', { topic: this.topic, count: chunk.length, durationMs: performance.now() - started, ok: true });
      } catch (err) {
        this.emit.emit('producer.sent', { topic: this.topic, count: chunk.length, durationMs: performance.now() - started, ok: false });
        this.failure = err instanceof Error ? err : new LearnstreamError(String(err));
      } finally {
        this.inflight -= weight;
      }
    });
  }

  /**
   * The records of one partition in a send get consecutive offsets from its base offset, in send order (one batch
   * per partition per request, idempotent producer). Booked only when every record names its partition (the item
   * update sink does; keyed records would leave the offsets of their partitions unknown here).
   */
  private ledger(
    chunk: readonly { partition?: number; weight: number }[],
    meta: readonly { partition: number; baseOffset?: string; offset?: string }[],
  ): void {
    if (chunk.some((r) => r.partition === undefined)) return;
    const base = new Map<number, number>();
    for (const m of meta) {
      const off = m.baseOffset ?? m.offset;
      if (off !== undefined) base.set(m.partition, Number(off));
    }
    const next = new Map<number, number>();
    for (const r of chunk) {
      const p = r.partition!;
      const b = base.get(p);
      if (b === undefined) continue;
      const k = next.get(p) ?? 0;
      next.set(p, k + 1);
      let l = this.acked.get(p);
      if (!l) this.acked.set(p, (l = new AckLedger()));
      l.add(b + k, r.weight);
    }
  }

  async flush(): Promise<void> {
    this.kick();
    await this.chain;
    if (this.failure) throw this.failure;
  }
}

function recordBytes(r: { key: string | null; value: Buffer | null }): number {
  return (r.value?.length ?? 0) + (r.key?.length ?? 0) + 64;
}

/**
 * `keyPartitioner` remembering its answers for up to `max` keys (then it starts over): the learner stage routes ~5
 * gradients per event and the item stage ~10 rows per event by resource id, and murmur2 over the id string was ~3%
 * of the ingest CPU.
 */
export function memoPartitioner(topic: string, partitions: number, max = 200_000): (key: string) => number {
  const of = keyPartitioner(topic, partitions);
  const seen = new Map<string, number>();
  return (key) => {
    let p = seen.get(key);
    if (p === undefined) {
      if (seen.size >= max) seen.clear();
      seen.set(key, (p = of(key)));
    }
    return p;
  };
}

/** Which partition kafkajs' default partitioner (what keyed records use) gives each key, for `partitions` partitions. */
export function keyPartitioner(topic: string, partitions: number): (key: string) => number {
  const partitioner = Partitioners.DefaultPartitioner();
  const partitionMetadata: PartitionMetadata[] = Array.from({ length: partitions }, (_, i) => ({
    partitionId: i,
    leader: 0,
    replicas: [0],
    isr: [0],
    partitionErrorCode: 0,
  }));
  return (key) => partitioner({ topic, partitionMetadata, message: { key, value: null } });
}

export interface KafkaItemSinkOptions {
  /** The model.item-updates partition of an item (its owner's), as keyed records would be routed. */
  partitionOf: (itemId: string) => number;
  /** Gradients wait at most this long for others to share their record (ms). Default 5. */
  lingerMs?: number;
  /** Gradients buffered (all partitions) at which they are sent at once. Default 1000. */
  maxBuffered?: number;
}

/**
 * Item updates to model.item-updates. Gradients are batched: one record per target partition carries every gradient
 * buffered for it (each with its own source, offset and seq, nothing summed), instead of one JSON record each.
 * Upserts and removals stay one keyed record each; they first send the gradients buffered before them, so the call
 * order per partition is the order on the topic. Every record names its partition (the one its key would get).
 */
export class KafkaItemSink implements ItemSink {
  private pending = new Map<number, BatchedUpdate[]>();
  private buffered = 0;
  private timer: NodeJS.Timeout | null = null;
  private readonly lingerMs: number;
  private readonly maxBuffered: number;

  constructor(
    private readonly out: KafkaRecordSink,
    private readonly o: KafkaItemSinkOptions,
  ) {
    this.lingerMs = o.lingerMs ?? 5;
    this.maxBuffered = o.maxBuffered ?? 1000;
  }

  get backlog(): number {
    return this.buffered + this.out.backlog;
  }

  producedPartitions(): Iterable<number> {
    return this.out.acked.keys();
  }

  unreflected(partition: number, reflectedNext: bigint): number {
    return this.out.acked.get(partition)?.from(Number(reflectedNext)) ?? 0;
  }

  send(update: ItemUpdate, headers?: Record<string, string>): void {
    if ((update.kind !== 'delta' && update.kind !== 'links') || headers) {
      this.sendBuffered();
      // keyed as before, with the partition named so that the acknowledgement ledger knows every offset
      this.out.push(update.itemId, encodeItemUpdate(update), headers, this.o.partitionOf(update.itemId));
      return;
    }
    const p = this.o.partitionOf(update.itemId);
    let list = this.pending.get(p);
    if (!list) this.pending.set(p, (list = []));
    list.push(update);
    if (++this.buffered >= this.maxBuffered) this.sendBuffered();
    else this.timer ??= setTimeout(() => this.sendBuffered(), this.lingerMs);
  }

  flush(): Promise<void> {
    this.sendBuffered();
    return this.out.flush();
  }

  private sendBuffered(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.buffered === 0) return;
    for (const [p, list] of this.pending) this.out.push(null, encodeUpdateBatch(list), undefined, p, list.length);
    this.pending = new Map();
    this.buffered = 0;
    this.out.kick();
  }
}
