import { withCatalogCache } from '../../api/recommend/catalogCache';
import { MemoryServingStore } from '../../lib/serving/memory';

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
});
