import type { KafkaMessage } from 'kafkajs';
import { CompactedTopicReplica, type CompactedTopicReplicaOptions } from '../../consumers/replica/compacted-topic-replica';
import { guardContentVector, guardKey } from '../internal-records';
import { ContentTable } from '../model/content-table';

export interface ContentReplicaOptions extends CompactedTopicReplicaOptions {
  /** model.content-vectors topic name. */
  topic: string;
  /** Called after a vector was set (`slot` >= 0) or removed. */
  onChange?: (resourceId: string, slot: number, present: boolean) => void;
}

/** One model.content-vectors record: a unit content vector, or null (tombstone or empty value: removed). */
interface ContentRecord {
  id: string;
  vector: Float32Array | null;
}

/** A full local replica of the compacted model.content-vectors topic (CompactedTopicReplica), for interest matching. */
export class ContentReplica extends CompactedTopicReplica<ContentRecord> {
  readonly table = new ContentTable();

  constructor(private readonly o: ContentReplicaOptions) {
    super(o, { what: 'content replica', groupInfix: 'content', skipped: 'invalid content vector skipped' });
  }

  protected decode(m: KafkaMessage, topic: string): ContentRecord {
    const id = guardKey(m.key, topic);
    // a stray value must never be the first vector: it would fix the table's dimension
    return { id, vector: m.value !== null && m.value.length > 0 ? guardContentVector(m.value, this.table.dim) : null };
  }

  protected apply({ id, vector }: ContentRecord): void {
    const slot = vector === null ? this.table.remove(id) : this.table.set(id, vector);
    if (slot >= 0) this.o.onChange?.(id, slot, vector !== null);
  }
}
