/**
 * A read-through, in-process cache of catalogue entries in front of the serving store, for the API only. Catalogue
 * entries change rarely and every recommendation page needs ~20 of them; caching them for a couple of seconds turns
 * the steady-state read path into one Redis round trip (list + completed) instead of two. A resource deactivated or
 * retitled shows up within `ttlMs`; a deleted resource is also removed from the cached lists by the pipeline.
 */
import type { ResourceMeta, ServingStore } from '../../lib/serving/types';

type Meta = Awaited<ReturnType<ServingStore['getResources']>>[number];

// A copy per read, as from the store. By hand, field by field: structuredClone of the ~20 entries of a page cost ~30 µs
// of CPU, as much as decoding the list, and object/array spread was still the largest item of this file in the
// read benchmark's profile.
function copy(m: ResourceMeta): ResourceMeta {
  const c: ResourceMeta = { resourceId: m.resourceId, title: m.title, type: m.type, topics: m.topics.slice(), skills: m.skills.slice(), active: m.active };
  if (m.difficulty !== undefined) c.difficulty = m.difficulty;
  if (m.language !== undefined) c.language = m.language;
  return c;
}

export interface CatalogCacheOptions {
  /** How long an entry (or a miss) is reused, in ms. Default 2000; 0 disables the cache. */
  ttlMs?: number;
  /** Most entries kept; the least recently fetched are dropped beyond it. Default 20,000. */
  maxEntries?: number;
  now?: () => number;
}

export function withCatalogCache(store: ServingStore, opts: CatalogCacheOptions = {}): ServingStore {
  const ttlMs = opts.ttlMs ?? 2000;
  if (ttlMs <= 0) return store;
  const max = opts.maxEntries ?? 20_000;
  const now = opts.now ?? Date.now;
  const cache = new Map<string, { meta: Meta; until: number }>();

  const getResources = async (ids: string[]): Promise<Meta[]> => {
    const t = now();
    const out: Meta[] = new Array<Meta>(ids.length);
    const missing: number[] = [];
    ids.forEach((id, i) => {
      const hit = cache.get(id);
      // A hit is not moved to the end (Map order = fetch order, not use order): deleting and re-inserting ~20 keys
      // per page cost more than the lookups (V8 rehashes a Map full of deleted entries). Entries are re-fetched,
      // and so re-ordered, every ttlMs anyway.
      if (hit && hit.until > t) {
        out[i] = hit.meta === null ? null : copy(hit.meta);
      } else missing.push(i);
    });
    if (missing.length > 0) {
      const fetched = await store.getResources(missing.map((i) => ids[i]));
      missing.forEach((i, k) => {
        out[i] = fetched[k];
        cache.delete(ids[i]);
        cache.set(ids[i], { meta: fetched[k] === null ? null : copy(fetched[k]), until: t + ttlMs });
      });
      while (cache.size > max) cache.delete(cache.keys().next().value as string);
    }
    return out;
  };

  // Everything else goes straight to the store (bound, so `this` inside its methods stays the store).
  return {
    putRecommendations: (l) => store.putRecommendations(l),
    getRecommendations: (u) => store.getRecommendations(u),
    getRecommendationView: (u) => store.getRecommendationView(u),
    putResource: (m) => store.putResource(m),
    getResources,
    deleteResource: (id) => store.deleteResource(id),
    putSimilar: (id, items) => store.putSimilar(id, items),
    getSimilar: (id) => store.getSimilar(id),
    putKnowledge: (s) => store.putKnowledge(s),
    getKnowledge: (u) => store.getKnowledge(u),
    addCompleted: (u, ids) => store.addCompleted(u, ids),
    getCompleted: (u) => store.getCompleted(u),
    incrementPopularity: (id, by, topics, at) => store.incrementPopularity(id, by, topics, at),
    getPopular: (limit, topic, t) => store.getPopular(limit, topic, t),
    incrementCoEngagement: (pairs) => store.incrementCoEngagement(pairs),
    getCoEngaged: (id, limit) => store.getCoEngaged(id, limit),
    takeCoEngagementChanges: (max) => store.takeCoEngagementChanges(max),
    putProfileInterests: (u, i) => store.putProfileInterests(u, i),
    getProfileInterests: (u) => store.getProfileInterests(u),
    eraseLearner: (u) => store.eraseLearner(u),
    ping: () => store.ping(),
    close: () => store.close(),
  };
}
