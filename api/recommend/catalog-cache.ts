/**
 * A read-through, in-process cache of catalogue entries in front of the serving store, for the API only. Catalogue
 * entries change rarely and every recommendation page needs ~20 of them; caching them for a couple of seconds turns
 * the steady-state read path into one Redis round trip (list + completed) instead of two. A resource deactivated or
 * retitled shows up within `ttlMs`; a deleted resource is also removed from the cached lists by the pipeline.
 *
 * Refresh-ahead: an entry read in the last `refreshAheadMs` of its life is re-fetched in the background (one MGET for
 * all such entries of an event-loop turn, at most one refresh in flight per entry) while the page is served from the
 * cached value. An entry read now and then therefore never expires on a request's path, yet no value older than
 * `ttlMs` is ever served: the staleness bound stays `ttlMs`. With 10,000 uniformly read resources and a 2 s TTL, 2-3 of
 * a page's 20 entries used to be expired, so nearly every page waited for a second Redis round trip.
 */
import { hasStoredResourceReads, type ResourceMeta, type ServingReader, type ServingStore } from '../../serving/types';

type Meta = Awaited<ReturnType<ServingStore['getResources']>>[number];

/**
 * Read-only catalogue reads for the API's own use: the entries are shared and frozen (`Object.freeze`, arrays
 * included), so no copy is made per read. `getResources` still returns copies for everyone else.
 */
export interface SharedCatalog {
  getSharedResources(ids: readonly string[]): Promise<readonly (ResourceMeta | null)[]>;
}

export function hasSharedCatalog<S extends ServingReader>(store: S): store is S & SharedCatalog {
  return typeof (store as Partial<SharedCatalog>).getSharedResources === 'function';
}

// A copy per read, as from the store. By hand, field by field: structuredClone of the ~20 entries of a page cost ~30 µs
// of CPU, as much as decoding the list, and object/array spread was still the largest item of this file in the
// read benchmark's profile.
function copy(m: ResourceMeta): ResourceMeta {
  const c: ResourceMeta = {
    resourceId: m.resourceId,
    title: m.title,
    type: m.type,
    topics: m.topics.slice(),
    skills: m.skills.slice(),
    active: m.active,
  };
  if (m.difficulty !== undefined) c.difficulty = m.difficulty;
  if (m.language !== undefined) c.language = m.language;
  return c;
}

/** A private, frozen copy of what the store returned (the caller of getResources keeps the original). */
function frozen(m: Meta): Meta {
  if (m === null) return null;
  const c = copy(m);
  Object.freeze(c.topics);
  Object.freeze(c.skills);
  return Object.freeze(c);
}

export interface CatalogCacheOptions {
  /** How long an entry (or a miss) is reused, in ms: the staleness bound. Default 2000; 0 disables the cache. */
  ttlMs?: number;
  /**
   * An entry read within this many ms of its expiry is refreshed in the background. Default a quarter of `ttlMs`
   * (with half, every entry was re-fetched and re-parsed about every ttlMs/2, twice the JSON.parse work of expiry
   * alone); 0 turns refresh-ahead off (expired entries are then fetched on the request's path).
   */
  refreshAheadMs?: number;
  /** Most entries kept; the least recently fetched are dropped beyond it. Default 20,000. */
  maxEntries?: number;
  now?: () => number;
}

interface Entry {
  meta: Meta;
  until: number;
  refreshing: boolean;
  /** The stored text `meta` was parsed from, when the store reads entries as text (undefined otherwise). */
  stored: string | null | undefined;
}

/** The store with the cache in front; `ttlMs` 0 returns `store` itself (no SharedCatalog: see hasSharedCatalog). */
export function withCatalogCache(store: ServingStore, opts: CatalogCacheOptions = {}): ServingStore {
  const ttlMs = opts.ttlMs ?? 2000;
  if (ttlMs <= 0) return store;
  const refreshAheadMs = Math.min(ttlMs, opts.refreshAheadMs ?? ttlMs / 4);
  const max = opts.maxEntries ?? 20_000;
  const now = opts.now ?? Date.now;
  const cache = new Map<string, Entry>();

  const remember = (id: string, meta: Meta, fetchedAt: number, stored: string | null | undefined) => {
    cache.delete(id);
    cache.set(id, { meta, until: fetchedAt + ttlMs, refreshing: false, stored });
  };

  // Fetches `ids` (as of `t`) into the cache and returns the entries. From a store that reads entries as stored text,
  // an entry whose text did not change keeps what was parsed and frozen before: with refresh-ahead every entry in use
  // is re-fetched about once per TTL and hardly any has changed, so parsing each again was most of a refresh's cost. A
  // corrupt entry is parsed (and counted) again each time, as before.
  const fetchInto: (ids: string[], t: number) => Promise<Meta[]> = hasStoredResourceReads(store)
    ? async (ids, t) => {
        const stored = await store.getStoredResources(ids);
        return ids.map((id, k) => {
          const text = stored[k];
          const prev = cache.get(id);
          const meta =
            prev && prev.stored === text && (text === null || prev.meta !== null)
              ? prev.meta
              : text === null
                ? null
                : frozen(store.parseStoredResource(text));
          remember(id, meta, t, text);
          return meta;
        });
      }
    : async (ids, t) => {
        const fetched = await store.getResources(ids);
        return ids.map((id, k) => {
          const meta = frozen(fetched[k]);
          remember(id, meta, t, undefined);
          return meta;
        });
      };
  const trim = () => {
    while (cache.size > max) cache.delete(cache.keys().next().value as string);
  };

  // Background refreshes of one event-loop turn share one MGET.
  let due: string[] = [];
  const refresh = () => {
    const ids = due;
    due = [];
    // The value fetched is at least as new as this instant, so its life counts from here (never overstated).
    const t = now();
    fetchInto(ids, t).then(
      () => trim(),
      () => {
        // Left to expire: the next read past the TTL fetches it on the request's path and sees the error.
        for (const id of ids) {
          const e = cache.get(id);
          if (e) e.refreshing = false;
        }
      },
    );
  };

  const read = async (ids: readonly string[]): Promise<Meta[]> => {
    const t = now();
    const out: Meta[] = new Array<Meta>(ids.length);
    let missing: number[] | undefined;
    for (let i = 0; i < ids.length; i++) {
      const hit = cache.get(ids[i]);
      // A hit is not moved to the end (Map order = fetch order, not use order): deleting and re-inserting ~20 keys
      // per page cost more than the lookups (V8 rehashes a Map full of deleted entries). Entries are re-fetched,
      // and so re-ordered, every ttlMs anyway.
      if (hit && hit.until > t) {
        out[i] = hit.meta;
        if (!hit.refreshing && hit.until - t <= refreshAheadMs) {
          hit.refreshing = true;
          if (due.push(ids[i]) === 1) setImmediate(refresh);
        }
      } else (missing ??= []).push(i);
    }
    if (missing) {
      const fetched = await fetchInto(
        missing.map((i) => ids[i]),
        t,
      );
      missing.forEach((i, k) => (out[i] = fetched[k]));
      trim();
    }
    return out;
  };

  const getResources = async (ids: string[]): Promise<Meta[]> => {
    const shared = await read(ids);
    return shared.map((m) => (m === null ? null : copy(m)));
  };

  // Everything else goes straight to the store (bound, so `this` inside its methods stays the store).
  const cached: ServingStore & SharedCatalog = {
    getSharedResources: read,
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
    putReviews: (s) => store.putReviews(s),
    getReviews: (u) => store.getReviews(u),
    addCompleted: (u, ids) => store.addCompleted(u, ids),
    addCompletedMany: (entries) => store.addCompletedMany(entries),
    getCompleted: (u) => store.getCompleted(u),
    incrementPopularity: (id, by, topics, at) => store.incrementPopularity(id, by, topics, at),
    incrementPopularityMany: (increments) => store.incrementPopularityMany(increments),
    getPopular: (limit, topic, t) => store.getPopular(limit, topic, t),
    incrementCoEngagement: (pairs) => store.incrementCoEngagement(pairs),
    getCoEngaged: (id, limit) => store.getCoEngaged(id, limit),
    takeCoEngagementChanges: (max) => store.takeCoEngagementChanges(max),
    raisePopularityMany: (entries) => store.raisePopularityMany(entries),
    raiseCoEngagement: (pairs) => store.raiseCoEngagement(pairs),
    putProfileInterests: (u, i) => store.putProfileInterests(u, i),
    getProfileInterests: (u) => store.getProfileInterests(u),
    eraseLearner: (u) => store.eraseLearner(u),
    ping: () => store.ping(),
    close: () => store.close(),
  };
  return cached;
}
