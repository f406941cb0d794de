import type { Logger } from '../../lib/log';
import type { PopularityIncrement, ServingStore } from '../../serving/types';

/** Pairs written to the serving store per call (one pipelined round trip each). */
const CO_ENGAGEMENT_CHUNK = 500;

export interface DerivedCountersOptions {
  store: ServingStore;
  logger: Logger;
  /** A resource's catalogue topics (popularity per topic); [] when the resource or the item table is unknown yet. */
  topicsOf: (resourceId: string) => string[];
  /** A new engagement is paired with the learner's this many most recent resources (config pipeline.coEngagementWindow). */
  coEngagementWindow: number;
  /** Counts are written every this many ms (config pipeline.derivedFlushMs); 0 = only on flush() / stop(). */
  flushMs: number;
}

/**
 * Popularity and co-engagement counting: derived serving data (the /popular and /similar fallbacks), not model state.
 * Counted in memory per event and written to the serving store in one batch per flush; a failed write is skipped
 * (the counts regrow from traffic), never retried into the event path.
 */
export class DerivedCounters {
  private popularity = new Map<string, number>();
  /** Co-engagement pairs ("a\u0000b", a < b) counted since the last flush to the serving store. */
  private coPending = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;
  /** While true the timer flush waits (a serving-view rewrite raises the counts, ./rewrite.ts); flush() still writes. */
  hold = false;

  constructor(private readonly o: DerivedCountersOptions) {
    if (o.flushMs > 0) {
      this.timer = setInterval(() => void (this.hold ? undefined : this.flushPopularity().then(() => this.flushCoEngagement())), o.flushMs);
      this.timer.unref();
    }
  }

  /** A positive engagement with `resourceId`. */
  countPopular(resourceId: string): void {
    this.popularity.set(resourceId, (this.popularity.get(resourceId) ?? 0) + 1);
  }

  /** Learners who engaged with A also engaged with B: pairs a first engagement with the learner's recent resources. */
  countCoEngagement(history: readonly string[], resourceId: string): void {
    for (let i = Math.max(0, history.length - this.o.coEngagementWindow); i < history.length; i++) {
      const other = history[i];
      const key = other < resourceId ? `${other}\u0000${resourceId}` : `${resourceId}\u0000${other}`;
      this.coPending.set(key, (this.coPending.get(key) ?? 0) + 1);
    }
  }

  /** Forgets co-engagement counted but not written yet: a rewrite recounts it from the learners' histories. */
  discardPendingCoEngagement(): void {
    this.coPending = new Map();
  }

  /** Writes the counts now instead of at the next timer flush. */
  async flush(): Promise<void> {
    await this.flushPopularity();
    await this.flushCoEngagement();
  }

  /** Stops the timer and writes what is counted. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.flush();
  }

  private async flushCoEngagement(): Promise<void> {
    if (this.coPending.size === 0) return;
    const batch = this.coPending;
    this.coPending = new Map();
    const pairs = [...batch].map(([k, by]) => {
      const i = k.indexOf('\u0000');
      return { a: k.slice(0, i), b: k.slice(i + 1), by };
    });
    try {
      for (let i = 0; i < pairs.length; i += CO_ENGAGEMENT_CHUNK)
        await this.o.store.incrementCoEngagement(pairs.slice(i, i + CO_ENGAGEMENT_CHUNK));
    } catch (err) {
      this.o.logger.debug('co-engagement update failed (derived data, skipped)', { err });
    }
  }

  private async flushPopularity(): Promise<void> {
    if (this.popularity.size === 0) return;
    const batch = this.popularity;
    this.popularity = new Map();
    const increments: PopularityIncrement[] = [];
    for (const [id, by] of batch) increments.push({ resourceId: id, by, topics: this.o.topicsOf(id) });
    // One write for the whole flush (one MULTI in Redis), not one per resource.
    try {
      await this.o.store.incrementPopularityMany(increments);
    } catch (err) {
      this.o.logger.debug('popularity update failed (derived data, skipped)', { err });
    }
  }
}
