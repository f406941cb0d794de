import type { KindedEvent, Resource } from '../../schemas';

export type DatasetName = 'movielens' | 'oulad' | 'ednet' | 'statics';
export const DATASET_NAMES: readonly DatasetName[] = ['movielens', 'oulad', 'ednet', 'statics'];

/**
 * A dataset mapped to learnstream events. `resources` is the catalogue (publish it first); `events` are interactions
 * and quiz attempts sorted by occurredAt (ties keep file order, so each learner's own order is preserved).
 */
export interface Dataset {
  name: DatasetName;
  resources: Resource[];
  events: KindedEvent[];
  /** Rows skipped while mapping, by reason (e.g. missing score), so a replay can say what it left out. */
  skipped: Record<string, number>;
  /** Honest notes about the mapping (synthesized timestamps, derived fields). */
  notes: string[];
}

export interface ReadOptions {
  /** Prepended to every user, resource and item id, so several datasets can share one deployment. Default ''. */
  idPrefix?: string;
  /** Stop after this many events (after time ordering). Default: all. */
  limit?: number;
}

export function occurredAt(e: KindedEvent): number {
  switch (e.kind) {
    case 'interaction':
    case 'quizAttempt':
      return e.event.occurredAt;
    case 'resource':
      return e.event.publishedAt ?? 0;
    case 'profile':
      return e.event.updatedAt;
    case 'erasure':
      return e.event.requestedAt;
  }
}

/** Stable sort by time (Array.prototype.sort is stable), then cut to `limit`. */
export function timeOrdered(events: KindedEvent[], limit?: number): KindedEvent[] {
  const keyed = events.map((e, i) => ({ e, t: occurredAt(e), i }));
  keyed.sort((a, b) => a.t - b.t || a.i - b.i);
  const out = keyed.map((k) => k.e);
  return limit !== undefined && limit >= 0 ? out.slice(0, limit) : out;
}

export function bump(counter: Record<string, number>, reason: string): void {
  counter[reason] = (counter[reason] ?? 0) + 1;
}

/** Splits text into lines without a trailing empty line; tolerates CRLF and a BOM. */
export function lines(text: string): string[] {
  const t = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const out = t.split(/\r?\n/);
  if (out.length > 0 && out[out.length - 1] === '') out.pop();
  return out;
}

export function clampMs(v: number, max = 86_400_000): number {
  return Math.max(0, Math.min(max, Math.round(v)));
}
