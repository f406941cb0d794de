import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readMovieLensRatings } from '../../producers/datasets/movielens';
import type { StreamEvent } from '../../models/eval/types';

/** A movielens ratings stream, in time order, with dense ids in order of first appearance. */
export interface MovielensStream {
  events: StreamEvent[];
  userIds: string[];
  itemIds: string[];
  /** which file was read */
  file: string;
}

/**
 * Movielens ratings (producers/datasets reader: ratings.csv or u.data) as the numeric stream the prequential harness runs
 * on. The sort is stable on the timestamp, so ties keep file order (user, then movie) and every run sees the same
 * stream; ids become dense indices in order of first appearance.
 */
export function readMovielens(dir: string, limit?: number): MovielensStream {
  const file = existsSync(join(dir, 'ratings.csv')) ? join(dir, 'ratings.csv') : join(dir, 'u.data');
  const raw = readMovieLensRatings(dir).filter((r) => Number.isFinite(r.rating) && Number.isFinite(r.timestampMs));
  const order = raw.map((_, i) => i);
  order.sort((a, b) => raw[a].timestampMs - raw[b].timestampMs || a - b);
  const userIdx = new Map<string, number>();
  const itemIdx = new Map<string, number>();
  const userIds: string[] = [];
  const itemIds: string[] = [];
  const n = limit !== undefined ? Math.min(limit, order.length) : order.length;
  const events: StreamEvent[] = new Array<StreamEvent>(n);
  for (let e = 0; e < n; e++) {
    const x = raw[order[e]];
    let u = userIdx.get(x.userId);
    if (u === undefined) {
      u = userIds.length;
      userIdx.set(x.userId, u);
      userIds.push(x.userId);
    }
    let i = itemIdx.get(x.itemId);
    if (i === undefined) {
      i = itemIds.length;
      itemIdx.set(x.itemId, i);
      itemIds.push(x.itemId);
    }
    events[e] = { user: u, item: i, t: x.timestampMs / 1000, kind: 'rating', value: x.rating };
  }
  return { events, userIds, itemIds, file };
}

/**
 * Fraction of events that share their timestamp with another event of the same learner. The stable sort keeps those
 * in file order (ascending movie id in ratings.csv), an order a sequential model can pick up, so the eval prints it.
 */
export function sameSecondShare(events: readonly StreamEvent[]): number {
  const counts = new Map<string, number>();
  for (const ev of events) {
    const key = `${ev.user}:${ev.t}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  let shared = 0;
  for (const c of counts.values()) if (c > 1) shared += c;
  return events.length === 0 ? 0 : shared / events.length;
}
