import type { Reranker } from './rerank';
import type { LearnerRanker } from './rank';
import type { VariantRankers } from './variants';
import { interestKey, type InterestIndex } from './interests';
import type { ItemSource } from './item-source';
import type { Learner, LearnerGroup } from './state';

export interface RerankTriggersOptions {
  reranker: Reranker;
  ranker: LearnerRanker;
  variants: VariantRankers<LearnerRanker>;
  items: ItemSource;
  interests?: InterestIndex;
  /** The partition groups held now (learners whose interests match a new resource are looked up there). */
  groups: () => Iterable<LearnerGroup>;
  /** The learner's state when this instance holds them. */
  learner: (userId: string) => Learner | undefined;
  now: () => number;
  /** LearnerProcessorOptions.signalRefreshMs; 0 = off (no recent-resource index is kept). */
  signalRefreshMs: number;
  /** Learners re-ranked per changed transition row at most (config pipeline.refreshPerRow). */
  refreshPerRow: number;
  /** Entries of the recent-resource index at most (config pipeline.refreshIndexEntries). */
  refreshIndexEntries: number;
  /** Cosine to a declared interest above which a new resource re-ranks that learner at once (the ranker's reason threshold). */
  interestCosine: number;
  /** Learners re-ranked at once for one new resource at most (config pipeline.interestRerankMax). */
  interestRerankMax: number;
}

/**
 * When a learner is re-ranked without an event of their own: a transition row they depend on changed (signal
 * refresh), a resource in their list left the catalogue, a new resource matches their declared interests.
 */
export class RerankTriggers {
  /** resource id -> learners with it among their recent resources (the recommender's window): whom a row change concerns */
  private readonly recentOf = new Map<string, Set<string>>();
  private recentEntries = 0;
  /** learner -> when their list was last refreshed for others' signals (pruned as it ages) */
  private readonly refreshedAt = new Map<string, number>();
  /** replica row -> the row total it had when last seen: a change of it is a transition learned somewhere */
  private readonly rowSums = new Map<number, number>();

  constructor(private readonly o: RerankTriggersOptions) {}

  /** The recommender's window of a history: the resources whose transitions score the learner. */
  window(history: readonly string[]): readonly string[] {
    return history.slice(-this.o.ranker.recommender.window);
  }

  /** The learner's recent window went from `before` to `after`: keeps the recent-resource index in step. */
  indexRecent(userId: string, before: readonly string[], after: readonly string[]): void {
    if (this.o.signalRefreshMs <= 0) return;
    for (const id of before) {
      if (after.includes(id)) continue;
      const set = this.recentOf.get(id);
      if (set?.delete(userId)) this.recentEntries--;
      if (set && set.size === 0) this.recentOf.delete(id);
    }
    for (const id of after) {
      if (before.includes(id) || this.recentEntries >= this.o.refreshIndexEntries) continue;
      let set = this.recentOf.get(id);
      if (!set) this.recentOf.set(id, (set = new Set()));
      const size = set.size;
      set.add(userId);
      if (set.size > size) this.recentEntries++;
    }
  }

  /** The learner is erased: out of the index and the refresh clock. */
  forget(userId: string, gone: Learner | undefined): void {
    if (gone) this.indexRecent(userId, this.window(gone.history), []);
    this.refreshedAt.delete(userId);
  }

  /**
   * A transition row changed: learners with that resource among their recent ones are re-ranked (at once, then at
   * most once per signalRefreshMs each with a trailing re-rank at its end; at most refreshPerRow per change), so what
   * one learner taught reaches another's list without waiting for their next event. `except`: the learner whose own
   * event this is (re-ranked anyway).
   */
  signalsChanged(resourceId: string, except?: string): void {
    const every = this.o.signalRefreshMs;
    if (every <= 0) return;
    const learners = this.recentOf.get(resourceId);
    if (!learners) return;
    const reranker = this.o.reranker;
    const perRow = this.o.refreshPerRow;
    const now = this.o.now();
    let n = 0;
    for (const u of learners) {
      if (u === except) continue;
      const at = this.refreshedAt.get(u);
      if (at !== undefined && now - at < every) {
        // refreshed lately: once more when the interval ends (what changed since is not lost, only late)
        reranker.requestAt(u, at + every);
        continue;
      }
      this.refreshedAt.set(u, now);
      reranker.request(u);
      if (++n >= perRow) break;
    }
    if (this.refreshedAt.size > 4 * perRow * 64) for (const [u, at] of this.refreshedAt) if (now - at >= every) this.refreshedAt.delete(u);
  }

  /** Content vectors of the catalogue changed (model.content-vectors replica): learners who want a new resource see it now. */
  contentChanged(resourceId: string, slot: number, present: boolean): void {
    const ix = this.o.interests;
    if (!ix) return;
    ix.contentChanged(slot);
    if (!present) return;
    // The content replica starts before any partition group is assigned: in synchronous mode there is no item
    // table to look the resource up in yet, and nobody to re-rank either.
    const table = this.o.items.current();
    if (!table) return;
    const i = table.indexOf(resourceId);
    if (i < 0 || table.active[i] !== 1) return; // not recommendable yet: itemChanged does this when the row arrives
    this.requestInterested(new Set(), ix.matching(slot, this.o.interestCosine));
  }

  /** Called after an item row changed in the table ranking reads (replica or owned). */
  itemChanged(itemId: string, wasActive: boolean): void {
    const table = this.o.items.table();
    const reranker = this.o.reranker;
    const i = table.indexOf(itemId);
    const active = i >= 0 && table.active[i] === 1;
    if (i >= 0 && this.o.signalRefreshMs > 0) {
      const sum = table.signals.row(i)?.sumKey ?? -Infinity;
      if (sum !== (this.rowSums.get(i) ?? -Infinity)) {
        this.rowSums.set(i, sum);
        this.signalsChanged(itemId);
      }
    }
    if (wasActive && !active) {
      // Left the catalogue: every cached list containing it is rebuilt now, not at the learner's next event.
      for (const u of reranker.learnersListing(itemId)) if (this.o.learner(u)) reranker.request(u, true);
    } else if (!wasActive && active) {
      this.o.ranker.noteActivated(i);
      for (const r of this.o.variants.others()) r.noteActivated(i);
      const topics = new Set((table.meta[i]?.topics ?? []).map((s) => s.toLowerCase()));
      const ix = this.o.interests;
      const slot = ix ? ix.content.slotOf(itemId) : -1;
      const keys = ix && slot >= 0 && ix.content.present[slot] === 1 ? ix.matching(slot, this.o.interestCosine) : new Set<string>();
      // New resource: learners whose declared interests match get it without any interaction (cold start by content).
      this.requestInterested(topics, keys);
    }
  }

  /** Urgent re-rank of learners whose interests equal one of `topics` or are among the embedded interests `keys`. */
  private requestInterested(topics: ReadonlySet<string>, keys: ReadonlySet<string>): void {
    if (topics.size === 0 && keys.size === 0) return;
    let n = 0;
    for (const grp of this.o.groups()) {
      for (const [u, l] of grp.learners) {
        if (l.interests.some((x) => topics.has(x.toLowerCase()) || (keys.size > 0 && keys.has(interestKey(x))))) {
          this.o.reranker.request(u, true);
          if (++n >= this.o.interestRerankMax) return;
        }
      }
    }
  }
}
