import * as fs from 'node:fs';
import * as path from 'node:path';
import { DEFAULT_DATASET_DIRS, readMovieLens } from '../../producers/datasets';
import type { KindedEvent } from '../../schemas';

export const MOVIELENS_DIR = DEFAULT_DATASET_DIRS.movielens;
export const HAVE_MOVIELENS = fs.existsSync(path.join(MOVIELENS_DIR, 'ratings.csv'));

/** The first `limit` movielens-latest-small ratings in time order, as interaction events, with the true counts. */
export function movielensEvents(limit: number): {
  events: KindedEvent[];
  perLearner: Map<string, number>;
  perResource: Map<string, number>;
} {
  const events = readMovieLens(MOVIELENS_DIR, { limit }).events;
  const perLearner = new Map<string, number>();
  const perResource = new Map<string, number>();
  for (const e of events) {
    if (e.kind !== 'interaction') continue;
    perLearner.set(e.event.userId, (perLearner.get(e.event.userId) ?? 0) + 1);
    perResource.set(e.event.resourceId, (perResource.get(e.event.resourceId) ?? 0) + 1);
  }
  return { events, perLearner, perResource };
}
