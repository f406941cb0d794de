import type { Producer } from 'kafkajs';
import type { Emitter } from '../../lib/metrics/instrumentation';
import { encodeItemUpdate, type ItemUpdate } from '../messages';

/** Where the learner and catalogue stages send item updates. */
export interface ItemSink {
  send(update: ItemUpdate, headers?: Record<string, string>): void;
  /** Resolves when everything sent so far is acknowledged by the broker. */
  flush(): Promise<void>;
  /** Records buffered or in flight. */
  readonly backlog: number;
  /** Lower bound of the last acknowledged offset per partition (for replica-lag backpressure). */
  readonly produced?: ReadonlyMap<number, bigint>;
}

/** Keyed records to one topic (model.item-factors broadcast, model.item-updates). */
export interface RecordSink {
  push(key: string, value: Buffer | null, headers?: Record<string, string>): void;
  flush(): Promise<void>;
  readonly backlog: number;
}

/**
 * Buffers records and sends them in chunks, one chunk at a time, in call order: with an idempotent producer this keeps
 * per-partition order, which the item stage's dedup (highest applied source offset) relies on.
 */
export class KafkaRecordSink implements RecordSink {
  private buf: { key: string; value: Buffer | null; headers?: Record<string, string> }[] = [];
  private chain: Promise<void> = Promise.resolve();
  private inflight = 0;
  private timer: NodeJS.Timeout | null = null;
  private failure: Error | null = null;
  /** Per partition of the topic: a lower bound of the last offset acknowledged (for replica-lag backpressure). */
  readonly produced = new Map<number, bigint>();

  constructor(
    private readonly producer: Producer,
    private readonly topic: string,
    private readonly emit: Emitter,
    private readonly lingerMs = 5,
    private readonly maxChunk = 500,
  ) {}

  get backlog(): number {
    return this.buf.length + this.inflight;
  }

  push(key: string, value: Buffer | null, headers?: Record<string, string>): void {
    if (this.failure) throw this.failure;
    this.buf.push({ key, value, headers });
    if (this.buf.length >= this.maxChunk) this.kick();
    else this.timer ??= setTimeout(() => this.kick(), this.lingerMs);
  }

  private kick(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.buf.length === 0) return;
    const chunk = this.buf;
    this.buf = [];
    this.inflight += chunk.length;
    this.chain = this.chain.then(async () => {
      const started = performance.now();
      try {
        const meta = await this.producer.send({ topic: this.topic, messages: chunk });
        for (const m of meta) {
          const off = m.baseOffset ?? m.offset;
          if (off !== undefined && BigInt(off) > (this.produced.get(m.partition) ?? -1n)) this.produced.set(m.partition, BigInt(off));
        }
        this.emit.emit('producer.sent', { topic: this.topic, count: chunk.length, durationMs: performance.now() - started, ok: true });
      } catch (err) {
        this.emit.emit('producer.sent', { topic: this.topic, count: chunk.length, durationMs: performance.now() - started, ok: false });
        // Records after a lost chunk must not be acknowledged as if in order: fail the stage, replay from checkpoint.
        this.failure = err instanceof Error ? err : new Error(String(err));
      } finally {
        this.inflight -= chunk.length;
      }
    });
  }

  async flush(): Promise<void> {
    this.kick();
    await this.chain;
    if (this.failure) throw this.failure;
  }
}

export class KafkaItemSink implements ItemSink {
  constructor(private readonly out: KafkaRecordSink) {}
  /** Lower bound of the last acknowledged offset per model.item-updates partition. */
  get produced(): ReadonlyMap<number, bigint> {
    return this.out.produced;
  }
  get backlog(): number {
    return this.out.backlog;
  }
  send(update: ItemUpdate, headers?: Record<string, string>): void {
    this.out.push(update.itemId, encodeItemUpdate(update), headers);
  }
  flush(): Promise<void> {
    return this.out.flush();
  }
}
