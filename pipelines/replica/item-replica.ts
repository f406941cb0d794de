import { randomUUID } from 'node:crypto';
import type { Consumer, Kafka } from 'kafkajs';
import type { Logger } from '../../lib/log';
import { decodeItemRow } from '../messages';
import { ItemTable, type ItemMeta } from '../model/item-table';
import { retryKafka } from '../runner/retry';
import { closeReplicaConsumer } from './close';

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
}

/**
 * A full local replica of the compacted model.item-factors topic (a "global table"): every learner instance keeps
 * one for ranking. Rebuilt from the beginning of the topic on every start, so it needs no checkpoint; kafkajs has no
 * manual partition assignment, hence a private consumer group per replica (deleted on stop).
 */
export class ItemReplica {
  readonly table: ItemTable;
  private consumer: Consumer | null = null;
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
    const c = this.o.kafka.consumer({ groupId: this.groupId, maxWaitTimeInMs: 50, sessionTimeout: 10000, heartbeatInterval: 1000 });
    this.consumer = c;
    await c.connect();
    await c.subscribe({ topic: this.o.topic, fromBeginning: true });
    await c.run({
      autoCommit: false,
      eachBatch: ({ batch }) => {
        for (const m of batch.messages) {
          const id = m.key?.toString('utf8');
          if (!id) continue;
          const i = this.table.indexOf(id);
          const wasActive = i >= 0 && this.table.active[i] === 1;
          if (m.value === null) {
            this.table.remove(id);
            this.metaOf.delete(id);
          } else {
            const row = decodeItemRow(id, m.value, this.metaOf.get(id));
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
        return Promise.resolve();
      },
    });
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
      if (this.consumer) await closeReplicaConsumer(this.consumer, this.o.kafka, this.groupId, this.o.logger, 'replica');
    })();
    return this.stopped;
  }
}
