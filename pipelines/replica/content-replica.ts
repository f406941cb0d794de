import { randomUUID } from 'node:crypto';
import type { Batch, Kafka } from 'kafkajs';
import type { DeadLetterWriter } from '../../consumers/dead-letter';
import { PoisonMessageError } from '../../lib/errors';
import type { Logger } from '../../lib/log';
import { guardContentVector, guardKey } from '../internal-records';
import { ContentTable } from '../model/content-table';
import { ReplicaConsumer, type ReplicaHealth } from '../../consumers/replica/consumer';

export interface ContentReplicaOptions {
  kafka: Kafka;
  /** model.content-vectors topic name. */
  topic: string;
  logger: Logger;
  /** Group id prefix; each replica uses its own group so that it receives every partition. */
  groupPrefix: string;
  /** Called after a vector was set (`slot` >= 0) or removed. */
  onChange?: (resourceId: string, slot: number, present: boolean) => void;
  /** Where values that are not a content vector go (`<topic>.dlq`); as for ItemReplica. Without one: skipped, warned. */
  deadLetters?: Pick<DeadLetterWriter, 'write'>;
}

/**
 * A full local replica of the compacted model.content-vectors topic, like ItemReplica for item factors: rebuilt from
 * the beginning on every start (derived data, no checkpoint), one private consumer group per replica (kafkajs has
 * no manual assignment), deleted on stop.
 */
export class ContentReplica {
  readonly table = new ContentTable();
  private consumer: ReplicaConsumer | null = null;
  private readonly groupId: string;
  private started: Promise<void> | null = null;
  private stopped: Promise<void> | null = null;

  constructor(private readonly o: ContentReplicaOptions) {
    this.groupId = `${o.groupPrefix}-content-${randomUUID()}`;
  }

  start(): Promise<void> {
    this.started ??= this.doStart();
    return this.started;
  }

  private async doStart(): Promise<void> {
    this.consumer = new ReplicaConsumer({ kafka: this.o.kafka, topic: this.o.topic, groupId: this.groupId, logger: this.o.logger, what: 'content replica', eachBatch: (b) => this.applyBatch(b) });
    await this.consumer.start();
  }

  /** Not ok while the consumer is down (crashed, being restarted), with the reason. */
  health(): ReplicaHealth {
    return this.consumer ? this.consumer.health() : { ok: false, reason: 'content replica not started' };
  }

  private async applyBatch(batch: Batch): Promise<void> {
    for (const m of batch.messages) {
      let id: string;
      let vector: Float32Array | null = null;
      try {
        id = guardKey(m.key, batch.topic);
        // a stray value must never be the first vector: it would fix the table's dimension
        if (m.value !== null && m.value.length > 0) vector = guardContentVector(m.value, this.table.dim);
      } catch (err) {
        if (!(err instanceof PoisonMessageError)) throw err;
        if (this.o.deadLetters) await this.o.deadLetters.write({ topic: batch.topic, partition: batch.partition, message: m }, err);
        else this.o.logger.warn('invalid content vector skipped', { partition: batch.partition, offset: m.offset, reason: err.reason });
        continue;
      }
      if (vector === null) {
        const slot = this.table.remove(id);
        if (slot >= 0) this.o.onChange?.(id, slot, false);
      } else {
        const slot = this.table.set(id, vector);
        if (slot >= 0) this.o.onChange?.(id, slot, true);
      }
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
