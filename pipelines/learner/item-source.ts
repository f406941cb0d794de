import { InvariantError } from '../../lib/errors';
import type { Interaction, ItemGradient } from '../../models/collab';
import type { InputRecord } from '../../consumers/runner/stage-runner';
import type { CollabModel } from '../model/collab';
import { ItemTable } from '../model/item-table';
import type { ItemSink } from '../item/sink';
import { applyItemUpdate } from '../item/apply';
import { guardItemUpdates } from '../internal-records';
import type { LearnerRanker } from './rank';
import type { Learner, LearnerGroup } from './state';

/** The item side of one learning step, handed to the item source that owns (or forwards to) the item rows. */
export interface ItemStep {
  group: LearnerGroup;
  rec: InputRecord;
  learner: Learner;
  ev: Interaction;
  /** The table the learner step read (ItemSource.learningTable). */
  table: ItemTable;
  gradients: readonly ItemGradient[];
  /** The interaction has a positive weight (counts for popularity and opens transitions from it). */
  positive: boolean;
}

/**
 * Where the learner stage's item rows come from, and where its item-side updates go. Two implementations: the stage
 * owns the item table (synchronous mode, one partition group: OwnedItems) or reads a replica of model.item-factors
 * and sends its gradients to the item stage (distributed mode: ReplicatedItems). Every difference between the two
 * modes lives behind this interface.
 */
export interface ItemSource {
  readonly synchronous: boolean;
  /** The item table ranking reads; InvariantError while there is none (synchronous mode before group 0 is loaded). */
  table(): ItemTable;
  /** The same, undefined while there is none; `group`: the group an event belongs to (synchronous mode: its own table). */
  current(group?: LearnerGroup): ItemTable | undefined;
  /** A partition group was restored or created. */
  restore(group: number, state: LearnerGroup): void;
  /** The table a learning step on `resourceId` reads (the owner first gives an unknown resource its seeded row). */
  learningTable(group: LearnerGroup, resourceId: string): ItemTable;
  /** Applies the step's item side at once (owner) or sends it to the item rows' owners (replica). */
  publish(step: ItemStep): void;
  /** A record of model.item-updates (consumed in synchronous mode only): catalogue upserts / removals. */
  applyItemUpdates(group: LearnerGroup, rec: InputRecord): void;
  /** Waits until every item-side update sent so far is acknowledged. */
  flush(): Promise<void>;
  /** False while consumption should pause for the item side (backlog, replica staleness). */
  ready(): boolean;
  /** While not ready: what the item side waits for (GroupProcessor.waitingFor). */
  waitingFor(): string | undefined;
}

/** What both implementations tell the rest of the stage. */
export interface ItemSourceHooks {
  model: CollabModel;
  ranker: LearnerRanker;
  /** A transition row of `resourceId` changed (learned here); `except` is the learner whose event it is. */
  signalsChanged: (resourceId: string, except?: string) => void;
  /** An item row changed in the owned table; `wasActive` before the change. */
  itemChanged: (itemId: string, wasActive: boolean) => void;
}

export interface ReplicatedItemsOptions {
  sink: ItemSink;
  replica: ItemTable;
  /** Replica positions per item-updates partition (ItemReplica.reflected), for bounded staleness. */
  reflected?: ReadonlyMap<number, bigint>;
  /** LearnerProcessorOptions.maxReplicaLag (default 2000; 0 = off). */
  maxReplicaLag?: number;
  /** LearnerProcessorOptions.maxSinkBacklog (default 20000). */
  maxSinkBacklog?: number;
}

/** The learner stage owns the item table (synchronous mode): it lives in group 0's state and is checkpointed with it. */
export class OwnedItems implements ItemSource {
  readonly synchronous = true;

  constructor(
    private readonly hooks: ItemSourceHooks,
    private readonly group0: () => LearnerGroup | undefined,
  ) {}

  table(): ItemTable {
    const g = this.group0();
    if (!g?.items) throw new InvariantError('synchronous learner stage has no item table (group 0 not loaded)', { stage: 'learner' });
    return g.items;
  }

  current(group?: LearnerGroup): ItemTable | undefined {
    return (group ?? this.group0())?.items;
  }

  restore(group: number, state: LearnerGroup): void {
    if (group !== 0) throw new InvariantError('synchronous mode needs exactly one partition per input topic', { stage: 'learner', group });
    state.items ??= new ItemTable(this.hooks.model.dim);
  }

  learningTable(group: LearnerGroup, resourceId: string): ItemTable {
    const table = group.items!;
    // a resource without a row of its own yet (unknown, or only named by a transition row) starts from its seeded factors
    if (!table.has(resourceId) || table.placeholder[table.indexOf(resourceId)] === 1) {
      table.set({
        itemId: resourceId,
        factors: this.hooks.model.newItemFactors(resourceId),
        bias: 0,
        count: 0,
        lastT: Number.NaN,
        active: true,
      });
    }
    return table;
  }

  publish({ learner: l, ev, table, gradients, positive }: ItemStep): void {
    const { model, ranker } = this.hooks;
    for (const gr of gradients) applyItemUpdate(table, model, { kind: 'delta', itemId: gr.resourceId, ...gr, src: '', off: '0', seq: 0 });
    const recentRows = ranker.recentRows(l, table);
    ranker.recommender.learn(table.signals, recentRows, table.indexOf(ev.resourceId), ev.timestamp / 1000, positive);
    // the rows that gained transitions: the sources (this learner's recent resources) and the resource itself
    for (const i of recentRows) this.hooks.signalsChanged(table.ids[i], ev.learnerId);
    this.hooks.signalsChanged(ev.resourceId, ev.learnerId);
  }

  applyItemUpdates(group: LearnerGroup, rec: InputRecord): void {
    // Checked whole first: an undecodable record is dead-lettered by the runner (PoisonMessageError), not fatal.
    if (!rec.value) return;
    const table = group.items!;
    for (const u of guardItemUpdates(rec.value, this.hooks.model.dim)) {
      const wasActive = table.indexOf(u.itemId) >= 0 && table.active[table.indexOf(u.itemId)] === 1;
      applyItemUpdate(table, this.hooks.model, u);
      this.hooks.itemChanged(u.itemId, wasActive);
    }
  }

  flush(): Promise<void> {
    return Promise.resolve();
  }

  ready(): boolean {
    return true;
  }

  waitingFor(): string | undefined {
    return undefined;
  }
}

/**
 * Distributed mode: ranking reads a replica of model.item-factors (a follower of the item stage's output) and item
 * deltas and transition links go to model.item-updates through the sink, keyed by item, to the item stage that owns
 * each row.
 */
export class ReplicatedItems implements ItemSource {
  readonly synchronous = false;

  constructor(
    private readonly hooks: ItemSourceHooks,
    private readonly o: ReplicatedItemsOptions,
  ) {}

  table(): ItemTable {
    return this.o.replica;
  }

  current(): ItemTable {
    return this.o.replica;
  }

  restore(): void {
    /* the replica is not group state */
  }

  learningTable(): ItemTable {
    return this.o.replica;
  }

  publish({ rec, learner: l, ev, gradients, positive }: ItemStep): void {
    const sink = this.o.sink;
    const recommender = this.hooks.ranker.recommender;
    const t = ev.timestamp / 1000;
    const src = `${rec.topic}:${rec.partition}`;
    gradients.forEach((gr, seq) => sink.send({ kind: 'delta', itemId: gr.resourceId, ...gr, src, off: rec.offset, seq }));
    // the same links as recommender.learn, by id, one update per source item (its owner keeps that row)
    const recent = l.history.slice(-recommender.window);
    const at = recent.lastIndexOf(ev.resourceId);
    const ids = [...recent, ev.resourceId];
    const byFrom = new Map<string, { to: string[]; w: number[] }>();
    if (positive) byFrom.set(ev.resourceId, { to: [], w: [] });
    for (const link of recommender.links(
      recent.map((_, k) => k),
      at >= 0 ? at : recent.length,
    )) {
      const from = ids[link.from];
      let e = byFrom.get(from);
      if (!e) byFrom.set(from, (e = { to: [], w: [] }));
      e.to.push(ids[link.to]);
      e.w.push(link.w);
    }
    let seq = gradients.length;
    for (const [from, e] of byFrom) {
      sink.send({
        kind: 'links',
        itemId: from,
        to: e.to,
        w: e.w,
        pop: positive && from === ev.resourceId ? 1 : 0,
        t,
        src,
        off: rec.offset,
        seq: seq++,
      });
    }
  }

  applyItemUpdates(): void {
    /* not an input in distributed mode: the item stage consumes model.item-updates */
  }

  flush(): Promise<void> {
    return this.o.sink.flush();
  }

  ready(): boolean {
    return this.waitingFor() === undefined;
  }

  waitingFor(): string | undefined {
    const sink = this.o.sink;
    const maxBacklog = this.o.maxSinkBacklog ?? 20000;
    if (sink.backlog > maxBacklog) return `item-updates producer: ${sink.backlog} records not acknowledged (> ${maxBacklog})`;
    const reflected = this.o.reflected;
    const maxLag = this.o.maxReplicaLag ?? 2000;
    if (sink.unreflected && sink.producedPartitions && reflected && maxLag > 0) {
      // Gradients buffered or in flight are not reflected either, and their partition is known only once acknowledged:
      // count them against every partition. Counting acknowledged ones only let a learner rank thousands of events
      // ahead of its replica (from an empty one at start) while the producer had not answered yet.
      const pending = sink.backlog;
      if (pending > maxLag) return `item-updates producer: ${pending} gradients not acknowledged (> ${maxLag})`;
      for (const p of sink.producedPartitions()) {
        const behind = sink.unreflected(p, reflected.get(p) ?? 0n) + pending;
        if (behind > maxLag)
          return `item stage: ${behind} gradients of item-updates partition ${p} not yet in the item-factors replica (> ${maxLag})`;
      }
    }
    return undefined;
  }
}

/** The item source for the stage's options: both sink and replica (distributed) or neither (synchronous). */
export function itemSource(hooks: ItemSourceHooks, group0: () => LearnerGroup | undefined, o: Partial<ReplicatedItemsOptions>): ItemSource {
  if (!o.sink && !o.replica) return new OwnedItems(hooks, group0);
  if (!o.sink || !o.replica) throw new InvariantError('distributed learner stage needs both sink and replica', { stage: 'learner' });
  return new ReplicatedItems(hooks, { ...o, sink: o.sink, replica: o.replica });
}
