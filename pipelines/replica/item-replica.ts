import type { KafkaMessage } from 'kafkajs';
import { CompactedTopicReplica, type CompactedTopicReplicaOptions } from '../../consumers/replica/compacted-topic-replica';
import { guardItemRow, guardItemSignals, guardKey } from '../internal-records';
import { applyItemSignals, signalsKeyItem } from '../messages';
import { ItemTable, type ItemMeta } from '../model/item-table';

export interface ItemReplicaOptions extends CompactedTopicReplicaOptions {
  /** model.item-factors topic name. */
  topic: string;
  dim: number;
  /**
   * Called after an item changed (`wasActive`: whether the item was recommendable before; `what`: its row, or only its
   * signals, which leave factors and catalogue facts as they were).
   */
  onChange?: (itemId: string, wasActive: boolean, what: 'row' | 'signals') => void;
}

/**
 * One model.item-factors record: a row, or null (tombstone: the item left the catalogue); or, under the item's signals
 * key, its signals (null: a tombstone of that key, the signals cleared).
 */
type ItemRecord =
  | { kind: 'row'; id: string; row: ReturnType<typeof guardItemRow> | null }
  | { kind: 'signals'; id: string; value: { bytes: Buffer; checked: ReturnType<typeof guardItemSignals> } | null };

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
    const key = guardKey(m.key, topic);
    const sigOf = signalsKeyItem(key);
    if (sigOf !== undefined)
      return {
        kind: 'signals',
        id: sigOf,
        value: m.value === null ? null : { bytes: m.value, checked: guardItemSignals(m.value, this.table.signalTotals(sigOf)) },
      };
    return {
      kind: 'row',
      id: key,
      row: m.value === null ? null : guardItemRow(key, m.value, this.table.dim, this.metaOf.get(key), this.table.signalTotals(key)),
    };
  }

  protected apply(r: ItemRecord): void {
    const t = this.table;
    const id = r.id;
    const i = t.indexOf(id);
    const wasActive = i >= 0 && t.active[i] === 1;
    if (r.kind === 'signals') {
      if (r.value === null) {
        if (i >= 0) t.setSignals(i, { to: [], key: [], sumKey: -Infinity, pop: -Infinity });
      } else {
        // an item whose row has not arrived (yet) holds its signals in a placeholder slot, as a transition target does
        if (!r.value.checked.skip) applyItemSignals(t, i >= 0 ? i : t.ensureRef(id), r.value.bytes);
        this.reflect(r.value.checked.pos);
      }
      this.o.onChange?.(id, wasActive, 'signals');
      return;
    }
    const row = r.row;
    if (row === null) {
      t.remove(id);
      this.metaOf.delete(id);
    } else {
      if (row.meta && row.metaBytes) this.metaOf.set(id, { bytes: row.metaBytes, meta: row.meta });
      t.set(row);
      this.reflect(row.pos);
    }
    this.o.onChange?.(id, wasActive, 'row');
  }

  private reflect(pos: [number, string] | undefined): void {
    if (!pos) return;
    const [p, off] = pos;
    // the records of one owner batch share its position: parsed once, not per record
    if (this.lastPos.get(p) !== off) {
      this.lastPos.set(p, off);
      const at = BigInt(off);
      if (at > (this.reflected.get(p) ?? -1n)) this.reflected.set(p, at);
    }
  }
}
