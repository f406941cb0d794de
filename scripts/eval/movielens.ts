import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { ValidationError } from '../../lib/errors';
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
 * Minimal movielens reader for the eval CLI: ratings.csv (latest-small, header `userId,movieId,rating,timestamp`) or
 * u.data (ml-100k, tab-separated `user item rating timestamp`). Sorting is stable on the timestamp, so ties keep file
 * order (user, then movie) and every run sees the same stream.
 */
export function readMovielens(dir: string, limit?: number): MovielensStream {
  const csv = join(dir, 'ratings.csv');
  const udata = join(dir, 'u.data');
  const file = existsSync(csv) ? csv : existsSync(udata) ? udata : '';
  if (!file) throw new ValidationError(`no ratings.csv or u.data in ${dir}`);
  const text = readFileSync(file, 'utf8');
  const lines = text.split('\n');
  const tab = file.endsWith('u.data');
  const raw: { u: string; i: string; r: number; t: number }[] = [];
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n].trim();
    if (!line) continue;
    const f = tab ? line.split('\t') : line.split(',');
    if (!tab && n === 0 && f[0] === 'userId') continue;
    if (f.length < 4) throw new ValidationError(`${file}:${n + 1}: expected 4 fields`);
    const r = Number(f[2]);
    const t = Number(f[3]);
    if (!Number.isFinite(r) || !Number.isFinite(t)) throw new ValidationError(`${file}:${n + 1}: bad rating/timestamp`);
    raw.push({ u: f[0], i: f[1], r, t });
  }
  const order = raw.map((_, i) => i);
  order.sort((a, b) => raw[a].t - raw[b].t || a - b);
  const userIdx = new Map<string, number>();
  const itemIdx = new Map<string, number>();
  const userIds: string[] = [];
  const itemIds: string[] = [];
  const n = limit !== undefined ? Math.min(limit, order.length) : order.length;
  const events: StreamEvent[] = new Array<StreamEvent>(n);
  for (let e = 0; e < n; e++) {
    const x = raw[order[e]];
    let u = userIdx.get(x.u);
    if (u === undefined) {
      u = userIds.length;
      userIdx.set(x.u, u);
      userIds.push(x.u);
    }
    let i = itemIdx.get(x.i);
    if (i === undefined) {
      i = itemIds.length;
      itemIdx.set(x.i, i);
      itemIds.push(x.i);
    }
    events[e] = { user: u, item: i, t: x.t, kind: 'rating', value: x.r };
  }
  return { events, userIds, itemIds, file };
}
