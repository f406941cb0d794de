import { hasSharedCatalog, withCatalogCache } from '../../api/recommend/catalog-cache';
import { MemoryServingStore } from '../../serving/memory-store';

const meta = (id: string, title = id) => ({ resourceId: id, title, type: 'video', topics: [], skills: [], active: true });

describe('withCatalogCache', () => {
  it('serves repeated catalogue reads from memory until the TTL, including misses, and returns copies', async () => {
    let t = 0;
    const store = new MemoryServingStore();
    let fetched: string[][] = [];
    const original = store.getResources.bind(store);
    store.getResources = (ids) => {
      fetched.push(ids);
      return original(ids);
    };
    await store.putResource(meta('a'));
    const cached = withCatalogCache(store, { ttlMs: 1000, now: () => t });
    expect(await cached.getResources(['a', 'b'])).toEqual([meta('a'), null]);
    await store.putResource(meta('a', 'renamed'));
    await store.putResource(meta('b'));
    const again = await cached.getResources(['b', 'a']);
    expect(again).toEqual([null, meta('a')]);
    again[1]!.title = 'mutated by a caller';
    expect(fetched).toEqual([['a', 'b']]);
    t = 1001;
    fetched = [];
    expect(await cached.getResources(['a', 'b'])).toEqual([meta('a', 'renamed'), meta('b')]);
    expect(fetched).toEqual([['a', 'b']]);
    // Everything else is delegated.
    await cached.putProfileInterests('u', ['x']);
    expect(await store.getProfileInterests('u')).toEqual(['x']);
  });

  it('is bounded (LRU) and can be disabled', async () => {
    const store = new MemoryServingStore();
    let calls = 0;
    const original = store.getResources.bind(store);
    store.getResources = (ids) => {
      calls++;
      return original(ids);
    };
    const cached = withCatalogCache(store, { maxEntries: 2 });
    await cached.getResources(['a', 'b', 'c']);
    await cached.getResources(['b', 'c']);
    expect(calls).toBe(1);
    await cached.getResources(['a']);
    expect(calls).toBe(2);
    expect(withCatalogCache(store, { ttlMs: 0 })).toBe(store);
  });

  it('refreshes entries in the background before they expire, never serving one older than the TTL, and shares frozen entries', async () => {
    let t = 0;
    const store = new MemoryServingStore();
    const fetched: string[][] = [];
    const original = store.getResources.bind(store);
    store.getResources = (ids) => {
      fetched.push(ids);
      return original(ids);
    };
    await store.putResource(meta('a'));
    await store.putResource(meta('b'));
    const cached = withCatalogCache(store, { ttlMs: 1000, refreshAheadMs: 500, now: () => t });
    if (!hasSharedCatalog(cached)) throw new Error('expected a shared catalogue');
    await cached.getResources(['a', 'b']);
    await store.putResource(meta('a', 'renamed'));
    t = 600; // in the refresh-ahead window (last 500 ms): served from the cache, refreshed in the background
    expect(await cached.getSharedResources(['a', 'b'])).toEqual([meta('a'), meta('b')]);
    await cached.getSharedResources(['a']); // one refresh in flight per entry
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    expect(fetched).toEqual([
      ['a', 'b'],
      ['a', 'b'],
    ]);
    t = 1500; // past the first fetch's TTL, within the refresh's: no wait for Redis
    const shared = await cached.getSharedResources(['a']);
    expect(shared).toEqual([meta('a', 'renamed')]);
    expect(fetched).toHaveLength(2);
    expect(Object.isFrozen(shared[0]) && Object.isFrozen(shared[0]!.topics)).toBe(true);
    t = 1601; // not read in its refresh-ahead window after the refresh: expired, fetched on the request's path
    await store.putResource(meta('b', 'renamed'));
    expect(await cached.getSharedResources(['b'])).toEqual([meta('b', 'renamed')]);
    expect(fetched).toEqual([['a', 'b'], ['a', 'b'], ['b']]);
  });
});
