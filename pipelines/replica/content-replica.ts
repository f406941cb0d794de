import { randomUUID } from 'node:crypto';
import type { Consumer, Kafka } from 'kafkajs';
import type { Logger } from '../../lib/log';
import { decodeContentVector } from '../content-messages';
import { ContentTable } from '../model/content-table';
import { closeReplicaConsumer } from './close';

export interface ContentReplicaOptions {
  kafka: Kafka;
  /** model.content-vectors topic name. */
  topic: string;
  logger: Logger;
  /** Group id prefix; each replica uses its own group so that it receives every partition. */
  groupPrefix: string;
  /** Called after a vector was set (`slot` >= 0) or removed. */
  onChange?: (resourceId: string, slot: number, present: boolean) => void;
}

/**
 * A full local replica of the compacted model.content-vectors topic, like ItemReplica for item factors: rebuilt from
 * the beginning on every start (derived data, no checkpoint), one private consumer group per replica (kafkajs has
 * no manual assignment), deleted on stop.
 */
export class ContentReplica {
  readonly table = new ContentTable();
  private consumer: Consumer | null = null;
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
          if (m.value === null || m.value.length === 0) {
            const slot = this.table.remove(id);
            if (slot >= 0) this.o.onChange?.(id, slot, false);
          } else {
            const slot = this.table.set(id, decodeContentVector(m.value));
            if (slot >= 0) this.o.onChange?.(id, slot, true);
            else this.o.logger.warn('content vector of unexpected dimension ignored', { resourceId: id, bytes: m.value.length, dim: this.table.dim });
          }
        }
        return Promise.resolve();
      },
    });
  }

  stop(): Promise<void> {
    this.stopped ??= (async () => {
      try {
        await this.started;
      } catch {
        /* closing anyway */
      }
      if (this.consumer) await closeReplicaConsumer(this.consumer, this.o.kafka, this.groupId, this.o.logger, 'content replica');
    })();
    return this.stopped;
  }
}
