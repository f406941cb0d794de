import { randomUUID } from 'node:crypto';
import type { Batch, Kafka, KafkaMessage } from 'kafkajs';
import type { DeadLetterWriter } from '../dead-letter';
import { PoisonMessageError } from '../../lib/errors';
import type { Logger } from '../../lib/log';
import { retryKafka } from '../../lib/retry';
import { ReplicaConsumer, type ReplicaHealth } from './consumer';

export interface CompactedTopicReplicaOptions {
  kafka: Kafka;
  /** The compacted topic replicated. */
  topic: string;
  logger: Logger;
  /** Group id prefix; each replica uses its own group so that it receives every partition. */
  groupPrefix: string;
  /**
   * Where records that do not decode go (`<topic>.dlq`, reason in headers, counted); the replica skips them and goes
   * on. Without one they are skipped with a warning. Every replica reads the topic from the beginning on every start,
   * so a bad record is dead-lettered once per replica start until a valid one or a tombstone replaces it under its key.
   */
  deadLetters?: Pick<DeadLetterWriter, 'write'>;
}

/** What a concrete replica names itself in logs and health reasons. */
export interface ReplicaNaming {
  /** e.g. "item replica" */
  what: string;
  /** Group id infix after the prefix, e.g. "replica" -> `<prefix>-replica-<uuid>`. */
  groupInfix: string;
  /** Warning for a skipped record when there is no dead-letter writer, e.g. "undecodable item-factor row skipped". */
  skipped: string;
}

/**
 * A full local replica of a compacted topic (a "global table"): rebuilt from the beginning of the topic on every start,
 * so it needs no checkpoint; kafkajs has no manual partition assignment, hence a private consumer group per replica
 * (deleted on stop), watched by ReplicaConsumer (health, restart after a crash). A record that does not decode
 * (PoisonMessageError from `decode`) is dead-lettered and skipped. Subclasses say only what differs: how one record
 * decodes and how it is applied to their table.
 */
export abstract class CompactedTopicReplica<R> {
  private consumer: ReplicaConsumer | null = null;
  private readonly groupId: string;
  private started: Promise<void> | null = null;
  private stopped: Promise<void> | null = null;
  /** Per partition: the next offset to apply (the last applied + 1). */
  private readonly position = new Map<number, bigint>();

  protected constructor(
    protected readonly options: CompactedTopicReplicaOptions,
    private readonly naming: ReplicaNaming,
  ) {
    this.groupId = `${options.groupPrefix}-${naming.groupInfix}-${randomUUID()}`;
  }

  /** One record: its key (and value, null = tombstone) decoded; throws PoisonMessageError when it cannot be applied. */
  protected abstract decode(message: KafkaMessage, topic: string): R;

  /** Applies one decoded record to the replica's table. */
  protected abstract apply(record: R): void;

  start(): Promise<void> {
    this.started ??= this.doStart();
    return this.started;
  }

  private async doStart(): Promise<void> {
    const o = this.options;
    this.consumer = new ReplicaConsumer({
      kafka: o.kafka,
      topic: o.topic,
      groupId: this.groupId,
      logger: o.logger,
      what: this.naming.what,
      eachBatch: (b) => this.applyBatch(b),
    });
    await this.consumer.start();
  }

  /** Not ok while the consumer is down (crashed, being restarted), with the reason. */
  health(): ReplicaHealth {
    return this.consumer ? this.consumer.health() : { ok: false, reason: `${this.naming.what} not started` };
  }

  private async applyBatch(batch: Batch): Promise<void> {
    for (const m of batch.messages) {
      let record: R;
      try {
        record = this.decode(m, batch.topic);
      } catch (err) {
        if (!(err instanceof PoisonMessageError)) throw err;
        if (this.options.deadLetters)
          await this.options.deadLetters.write({ topic: batch.topic, partition: batch.partition, message: m }, err);
        else this.options.logger.warn(this.naming.skipped, { partition: batch.partition, offset: m.offset, reason: err.reason });
        continue;
      }
      this.apply(record);
    }
    this.position.set(batch.partition, BigInt(batch.lastOffset()) + 1n);
  }

  /** Resolves when the replica has read up to the high watermarks of now (or after `timeoutMs`). */
  async caughtUp(timeoutMs = 30000): Promise<boolean> {
    const admin = this.options.kafka.admin();
    await admin.connect();
    try {
      const ends = await retryKafka(() => admin.fetchTopicOffsets(this.options.topic));
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const behind = ends.some((e) => BigInt(e.high) > BigInt(e.low) && (this.position.get(e.partition) ?? 0n) < BigInt(e.high));
        if (!behind) return true;
        if (Date.now() > deadline) return false;
        await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      await admin.disconnect();
    }
  }

  stop(): Promise<void> {
    this.stopped ??= (async () => {
      try {
        await this.started;
      } catch {
        /* closing anyway */
      }
      await this.consumer?.stop();
    })();
    return this.stopped;
  }
}
