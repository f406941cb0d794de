import { ContentFactorMap, type PredictedFactor } from '../../models/content/cold-start';
import type { Logger } from '../../lib/log';
import type { ItemTable } from '../model/item-table';

export interface LearnedColdStartOptions {
  /** Factor dimension (config model.dim). */
  factorDim: number;
  /** The item factors as trained (a replica of model.item-factors). */
  items: ItemTable;
  /** The content vector of a resource this catalogue instance embedded (a copy), or undefined. */
  content: (resourceId: string) => Float32Array | undefined;
  logger: Logger;
  /** Changed resources are folded into the map at most this often (ms). Default 2000. */
  foldEveryMs?: number;
  /** Passed to ContentFactorMap: events before a resource trains the map (default 5), resources before it predicts (default 20), ridge λ (default 1). */
  minEvents?: number;
  minItems?: number;
  lambda?: number;
  now?: () => number;
}

/**
 * The catalogue stage's learned cold start: models/content ContentFactorMap (ridge regression from content vectors to
 * [factor, bias]) trained online on the resources that have both a content vector (embedded here) and trained
 * factors (the item replica, ≥ minEvents events), so a new resource gets the factor and bias its text predicts.
 *
 * State: derived, not checkpointed. The map is a function of two things the pipeline already restores: the content
 * vectors (the catalogue checkpoint) and the item factors (model.item-factors, replayed from the beginning into the
 * replica on every start). Rebuilding it from them on start is exact (ridge sufficient statistics over the current
 * factors do not depend on the order they were seen in), costs O(resources × 385²) once, and needs no offsets of its
 * own; a checkpoint would hold the same numbers plus every content vector a second time.
 *
 * Replica rows change thousands of times a second under load; each change only marks the resource, and the marked
 * ones are folded in every `foldEveryMs` (latest factor each), which also bounds how often the 385 × 385 system is
 * re-solved (ContentFactorMap solves lazily, at the next prediction after ≥ 50 changes).
 */
export class LearnedColdStart {
  private map: ContentFactorMap | null = null;
  private readonly dirty = new Set<string>();
  private lastFold = -Infinity;
  private announced = false;
  private readonly foldEveryMs: number;
  private readonly now: () => number;

  constructor(private readonly o: LearnedColdStartOptions) {
    this.foldEveryMs = o.foldEveryMs ?? 2000;
    this.now = o.now ?? Date.now;
  }

  /** Resources training the map now. */
  get size(): number {
    return this.map?.size ?? 0;
  }

  /** An item row changed in the replica (trained factor moved, resource removed). */
  rowChanged(resourceId: string): void {
    this.dirty.add(resourceId);
  }

  /** This instance embedded, re-embedded or dropped the content of a resource (or restored it from a checkpoint). */
  contentChanged(resourceId: string): void {
    this.dirty.add(resourceId);
  }

  /** Folds every marked resource into the map now. */
  fold(): void {
    this.lastFold = this.now();
    const items = this.o.items;
    for (const id of this.dirty) {
      const i = items.indexOf(id);
      const content = i >= 0 && items.active[i] === 1 ? this.o.content(id) : undefined;
      if (!content) {
        this.map?.forget(id);
        continue;
      }
      this.map ??= new ContentFactorMap({
        contentDim: content.length,
        factorDim: this.o.factorDim,
        ...(this.o.minEvents !== undefined ? { minEvents: this.o.minEvents } : {}),
        ...(this.o.minItems !== undefined ? { minItems: this.o.minItems } : {}),
        ...(this.o.lambda !== undefined ? { lambda: this.o.lambda } : {}),
      });
      if (content.length !== this.map.options.contentDim) continue;
      this.map.observe(id, content, items.row(i), items.bias[i], items.counts[i]);
    }
    this.dirty.clear();
  }

  /**
   * Factor and bias for a new resource from its content vector, or undefined while fewer than `minItems` resources
   * train the map (the caller then uses its fallback, the seeded projection).
   */
  predict(content: Float32Array): PredictedFactor | undefined {
    if (this.dirty.size > 0 && this.now() - this.lastFold >= this.foldEveryMs) this.fold();
    const map = this.map;
    if (!map || map.size < map.options.minItems || content.length !== map.options.contentDim) return undefined;
    if (!this.announced) {
      this.announced = true;
      this.o.logger.info('new resources now start from the learned content-to-factor map', { resources: map.size });
    }
    return map.predict(content);
  }
}
