import type { KafkaMessage } from 'kafkajs';
import { CompactedTopicReplica, type CompactedTopicReplicaOptions } from '../../consumers/replica/compacted-topic-replica';
import { guardItemRow, guardKey } from '../internal-records';
import { ItemTable, type ItemMeta } from '../model/item-table';

export interface ItemReplicaOptions extends CompactedTopicReplicaOptions {
  /** model.item-factors topic name. */
  topic: string;
  dim: number;
  /** Called after a row changed (`wasActive`: whether the item was recommendable before). */
  onChange?: (itemId: string, wasActive: boolean) => void;
}

/** One model.item-factors record: a row, or null (tombstone: the item left the catalogue). */
interface ItemRecord {
  id: string;
  row: ReturnType<typeof guardItemRow> | null;
}

/**
 * A full local replica of the compacted model.item-factors topic (CompactedTopicReplica): every learner instance keeps
 * one for ranking. Also tracks, per model.item-updates partition, the highest owner input position its rows reflect
 * (bounded staleness of the learner stage).
 */
export class ItemReplica extends CompactedTopicReplica<ItemRecord> {
  readonly table: ItemTable;
  /** Each row's last catalogue facts as received, so an unchanged one is neither parsed nor re-indexed. */
  private readonly metaOf = new Map<string, { bytes: Buffer; meta: ItemMeta }>();
  /** Per model.item-updates partition: highest owner input position reflected in rows received. */
  readonly reflected = new Map<number, bigint>();
  /** Per model.item-updates partition: the last position string received (compared before it is parsed). */
  private readonly lastPos = new Map<number, string>();

  constructor(private readonly o: ItemReplicaOptions) {
    super(o, { what: 'item replica', groupInfix: 'replica', skipped: 'undecodable item-factor row skipped' });
    this.table = new ItemTable(o.dim);
  }

  protected decode(m: KafkaMessage, topic: string): ItemRecord {
    const id = guardKey(m.key, topic);
    return {
      id,
      row: m.value === null ? null : guardItemRow(id, m.value, this.table.dim, this.metaOf.get(id), this.table.signalTotals(id)),
    };
  }

  protected apply({ id, row }: ItemRecord): void {
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
        // the rows of one owner batch share its position: parsed once, not per row
        if (this.lastPos.get(p) !== off) {
          this.lastPos.set(p, off);
          const at = BigInt(off);
          if (at > (this.reflected.get(p) ?? -1n)) this.reflected.set(p, at);
        }
      }
    }
    this.o.onChange?.(id, wasActive);
  }
}
