import type { Logger } from '../../lib/log';
import type { Emitter } from '../../lib/metrics/instrumentation';
import { guardItemUpdates } from '../internal-records';
import { encodeItemRow, encodeItemSignals, signalsKey, type ItemUpdate } from '../messages';
import type { CollabModel } from '../model/collab';
import { ItemTable, type ItemRow, type ItemTableJSON } from '../model/item-table';
import type { GroupProcessor, InputRecord } from '../../consumers/runner/stage-runner';
import type { RecordSink } from './sink';
import { applyItemUpdate } from './apply';

export interface ItemGroupJSON {
  items: ItemTableJSON;
  /** Per learner-stage input partition: the highest (offset, seq) already applied. */
  applied: Record<string, [string, number]>;
}

interface ItemGroup {
  table: ItemTable;
  applied: Map<string, { off: bigint; seq: number }>;
  /** Items whose row (factors, bias, count, catalogue facts) is to be broadcast after this batch. */
  changed: Set<string>;
  /** Items whose signals (transition row, popularity) are to be broadcast after this batch, in their own record. */
  changedSignals: Set<string>;
  /** Next offset of this group's item-updates partition after the last applied record. */
  position: string;
}

export interface ItemProcessorOptions {
  model: CollabModel;
  /** Producer of model.item-factors (compacted): the broadcast every learner instance replicates. */
  factors: RecordSink;
  emit: Emitter;
  logger: Logger;
}

/**
 * The item stage: sole owner of the factors of the items in its partitions of model.item-updates (keyed by itemId).
 * Exactly-once: a learner stage that crashed replays its inputs from its checkpoint and re-sends deltas it had sent
 * before; each delta names its source (learner input partition, offset, seq), and since a source sends in order, the
 * owner skips anything at or below the highest (offset, seq) it applied from that source. That high-water mark is
 * checkpointed with the table and the item-updates offsets, so it survives our own crashes too.
 */
export class ItemProcessor implements GroupProcessor<ItemGroupJSON> {
  readonly stage = 'item';
  private readonly groups = new Map<number, ItemGroup>();

  constructor(private readonly o: ItemProcessorOptions) {}

  restore(group: number, state: ItemGroupJSON | null): void {
    const table = state ? ItemTable.fromJSON(state.items) : new ItemTable(this.o.model.dim);
    const applied = new Map<string, { off: bigint; seq: number }>();
    if (state) for (const [k, [off, seq]] of Object.entries(state.applied)) applied.set(k, { off: BigInt(off), seq });
    // Re-broadcast everything owned: a replica may have missed rows written after our previous checkpoint.
    const owned = table.ids.filter((_, i) => table.placeholder[i] !== 1);
    this.groups.set(group, {
      table,
      applied,
      changed: new Set(owned),
      changedSignals: new Set(owned.filter((id) => hasSignals(table, table.indexOf(id)))),
      position: '0',
    });
  }

  snapshot(group: number): ItemGroupJSON {
    const g = this.groups.get(group)!;
    const applied: Record<string, [string, number]> = {};
    for (const [k, v] of g.applied) applied[k] = [v.off.toString(), v.seq];
    return { items: g.table.toJSON(), applied };
  }

  drop(group: number): void {
    this.groups.delete(group);
  }

  table(group: number): ItemTable | undefined {
    return this.groups.get(group)?.table;
  }

  apply(group: number, rec: InputRecord): void {
    if (!rec.value) return;
    const g = this.groups.get(group)!;
    g.position = (BigInt(rec.offset) + 1n).toString();
    // A record is one update (catalogue) or a batch of gradients, each deduplicated by its own (source, offset, seq).
    // Decoded and checked whole before anything is applied: one that does not decode throws PoisonMessageError, the
    // runner dead-letters it and moves on, and the state is as if it had never been there (replay does the same).
    for (const u of guardItemUpdates(rec.value, this.o.model.dim)) this.applyOne(g, rec.topic, u);
  }

  private applyOne(g: ItemGroup, topic: string, u: ItemUpdate): void {
    this.o.emit.emit('event.consumed', { topic, type: u.kind });
    if (u.kind === 'delta' || u.kind === 'links') {
      const off = BigInt(u.off);
      const hw = g.applied.get(u.src);
      if (hw && (off < hw.off || (off === hw.off && u.seq <= hw.seq))) {
        // A replayed duplicate: not applied, but its row is re-broadcast so that replicas see our position move past
        // it (a learner waiting for its replica to reflect its gradients counts this one as reflected).
        if (g.table.has(u.itemId) && g.table.placeholder[g.table.indexOf(u.itemId)] !== 1) g.changed.add(u.itemId);
        return;
      }
      g.applied.set(u.src, { off, seq: u.seq });
    }
    const t = g.table;
    const before = t.indexOf(u.itemId);
    const wasRef = before < 0 || t.placeholder[before] === 1;
    if (!applyItemUpdate(t, this.o.model, u)) return;
    if (u.kind === 'links') g.changedSignals.add(u.itemId);
    else {
      g.changed.add(u.itemId);
      // signals gathered while the item had no row of its own were not broadcast (placeholders never are): now they are
      if (wasRef && hasSignals(t, t.indexOf(u.itemId))) g.changedSignals.add(u.itemId);
    }
  }

  /**
   * Broadcast changed rows (latest value per item) on model.item-factors, removed items as tombstones, and changed
   * signals as their own records (key signalsKey(id)): a gradient re-sends only the row, a transition only the signals.
   */
  afterBatch(group: number): void {
    const g = this.groups.get(group);
    if (!g) return;
    const t = g.table;
    const pos: [number, string] = [group, g.position];
    for (const id of g.changed) {
      const i = t.indexOf(id);
      // Tombstones cannot carry a position; the next row of this partition does. The row is read in place (a view of
      // the factors, no copy): encodeItemRow copies what it needs.
      const row: ItemRow | null =
        i >= 0 && t.active[i] === 1
          ? { itemId: id, factors: t.row(i), bias: t.bias[i], count: t.counts[i], lastT: t.lastT[i], active: true, meta: t.meta[i] }
          : null;
      this.o.factors.push(id, row ? encodeItemRow(row, pos) : null);
    }
    g.changed.clear();
    const s = t.signals;
    for (const id of g.changedSignals) {
      const i = t.indexOf(id);
      if (i >= 0 && t.placeholder[i] !== 1)
        this.o.factors.push(signalsKey(id), encodeItemSignals(t.ids, s.row(i), s.popularityKey(i), pos));
    }
    g.changedSignals.clear();
  }

  async flush(): Promise<void> {
    for (const g of this.groups.keys()) this.afterBatch(g);
    await this.o.factors.flush();
  }

  ready(): boolean {
    return this.o.factors.backlog <= 20000;
  }

  waitingFor(): string | undefined {
    const b = this.o.factors.backlog;
    return b > 20000 ? `item-factors producer: ${b} records not acknowledged (> 20000)` : undefined;
  }
}

/** Whether row `i` has signals to broadcast (a transition row or a popularity). */
function hasSignals(t: ItemTable, i: number): boolean {
  return i >= 0 && (t.signals.row(i) !== undefined || t.signals.popularityKey(i) !== -Infinity);
}
