import { randomUUID } from 'node:crypto';
import type { Batch, Kafka } from 'kafkajs';
import type { DeadLetterWriter } from '../../consumers/dead-letter';
import { PoisonMessageError } from '../../lib/errors';
import type { Logger } from '../../lib/log';
import { guardItemRow, guardKey } from '../internal-records';
import { ItemTable, type ItemMeta } from '../model/item-table';
import { retryKafka } from '../../lib/retry';
import { ReplicaConsumer, type ReplicaHealth } from '../../consumers/replica/consumer';

export interface ItemReplicaOptions {
  kafka: Kafka;
  /** model.item-factors topic name. */
  topic: string;
  dim: number;
  logger: Logger;
  /** Group id prefix; each replica uses its own group so that it receives every partition. */
  groupPrefix: string;
  /** Called after a row changed (`wasActive`: whether the item was recommendable before). */
  onChange?: (itemId: string, wasActive: boolean) => void;
  /**
   * Where rows that do not decode go (`<topic>.dlq`, reason in headers, counted); the replica skips them and goes on.
   * Without one they are skipped with a warning. Every replica reads the topic from the beginning on every start, so
   * a bad row is dead-lettered once per replica start until a valid row or a tombstone replaces it under its key.
   */
  deadLetters?: Pick<DeadLetterWriter, 'write'>;
}

/**
 * A full local replica of the compacted model.item-factors topic (a "global table"): every learner instance keeps
 * one for ranking. Rebuilt from the beginning of the topic on every start, so it needs no checkpoint; kafkajs has no
 * manual partition assignment, hence a private consumer group per replica (deleted on stop).
 */
export class ItemReplica {
  readonly table: ItemTable;
  private consumer: ReplicaConsumer | null = null;
  private readonly groupId: string;
  private started: Promise<void> | null = null;
  private stopped: Promise<void> | null = null;
  private readonly position = new Map<number, bigint>();
  /** Each row's last catalogue facts as received, so an unchanged one is neither parsed nor re-indexed. */
  private readonly metaOf = new Map<string, { bytes: Buffer; meta: ItemMeta }>();
  /** Per model.item-updates partition: highest owner input position reflected in rows received. */
  readonly reflected = new Map<number, bigint>();

  constructor(private readonly o: ItemReplicaOptions) {
    this.table = new ItemTable(o.dim);
    this.groupId = `${o.groupPrefix}-replica-${randomUUID()}`;
  }

  start(): Promise<void> {
    this.started ??= this.doStart();
    return this.started;
  }

  private async doStart(): Promise<void> {
    this.consumer = new ReplicaConsumer({ kafka: this.o.kafka, topic: this.o.topic, groupId: this.groupId, logger: this.o.logger, what: 'item replica', eachBatch: (b) => this.applyBatch(b) });
    await this.consumer.start();
  }

  /** Not ok while the consumer is down (crashed, being restarted), with the reason. */
  health(): ReplicaHealth {
    return this.consumer ? this.consumer.health() : { ok: false, reason: 'item replica not started' };
  }

  private async applyBatch(batch: Batch): Promise<void> {
    for (const m of batch.messages) {
      let id: string;
      let row: ReturnType<typeof guardItemRow> | null = null;
      try {
        id = guardKey(m.key, batch.topic);
        if (m.value !== null) row = guardItemRow(id, m.value, this.table.dim, this.metaOf.get(id), this.table.signalTotals(id));
      } catch (err) {
        if (!(err instanceof PoisonMessageError)) throw err;
        if (this.o.deadLetters) await this.o.deadLetters.write({ topic: batch.topic, partition: batch.partition, message: m }, err);
        else this.o.logger.warn('undecodable item-factor row skipped', { partition: batch.partition, offset: m.offset, reason: err.reason });
        continue;
      }
      const i = this.table.indexOf(id);
      const wasActive = i >= 0 && this.table.active[i] === 1;
      if (row === null) {
        this.table.remove(id);
        this.metaOf.delete(id);
      } else {
        if (row.meta && row.metaBytes) this.metaOf.set(id, { bytes: row.metaBytes, meta: row.meta });
        this.table.set(row);
        if (row.pos) {
          const [p, off] = row.pos;
          if (BigInt(off) > (this.reflected.get(p) ?? -1n)) this.reflected.set(p, BigInt(off));
        }
      }
      this.o.onChange?.(id, wasActive);
    }
    this.position.set(batch.partition, BigInt(batch.lastOffset()) + 1n);
  }

  /** Resolves when the replica has read up to the high watermarks of now (or after `timeoutMs`). */
  async caughtUp(timeoutMs = 30000): Promise<boolean> {
    const admin = this.o.kafka.admin();
    await admin.connect();
    try {
      const ends = await retryKafka(() => admin.fetchTopicOffsets(this.o.topic));
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
