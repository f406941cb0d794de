import type { ItemUpdate } from '../messages';
import type { CollabModel } from '../model/collab';
import type { ItemTable } from '../model/item-table';

/**
 * Applies one item update to the authoritative table (item stage, or the learner stage in synchronous mode). Pure and
 * deterministic: the same updates in the same order give the same table. Returns true if the row changed.
 */
export function applyItemUpdate(table: ItemTable, model: CollabModel, u: ItemUpdate): boolean {
  let i = table.indexOf(u.itemId);
  switch (u.kind) {
    case 'delta': {
      if (i < 0 || table.placeholder[i] === 1) {
        // First event on a resource the catalogue never announced: the same seeded start the learner side assumed.
        i = table.set({ itemId: u.itemId, factors: model.newItemFactors(u.itemId), bias: 0, count: 0, lastT: Number.NaN, active: true });
      }
      model.applyGradient(table, i, {
        resourceId: u.itemId,
        grad: u.grad,
        gradBias: u.gradBias,
        countsAsEvent: u.countsAsEvent,
        timestamp: u.timestamp,
      });
      return true;
    }
    case 'upsert': {
      const isNew = i < 0 || table.placeholder[i] === 1;
      if (i < 0) i = table.ensure(u.itemId);
      table.placeholder[i] = 0;
      // Content factors only seed an item nobody has interacted with; learned factors are never overwritten.
      if (table.counts[i] === 0 && u.f) {
        table.factors.set(u.f.subarray(0, table.dim), i * table.dim);
        table.writes++;
        table.bias[i] = u.b ?? 0;
      } else if (isNew) {
        table.factors.set(model.newItemFactors(u.itemId), i * table.dim);
      }
      table.active[i] = u.active ? 1 : 0;
      if (u.meta) table.setMeta(i, u.meta);
      return true;
    }
    case 'remove':
      if (i < 0) return false;
      table.remove(u.itemId);
      return true;
    case 'links': {
      // the recommender's global signals of this item: its transition row and popularity (models/recommender)
      if (i < 0) i = table.ensureRef(u.itemId);
      for (let k = 0; k < u.to.length; k++) table.signals.addLink(i, table.ensureRef(u.to[k]), u.w[k], u.t);
      if (u.pop > 0) table.signals.addPopularity(i, u.pop, u.t);
      return table.placeholder[i] !== 1;
    }
  }
}
