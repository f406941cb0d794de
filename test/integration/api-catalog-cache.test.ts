/** The API's catalogue cache in front of the real Redis store: unchanged entries are not parsed again on refresh. */
import { hasSharedCatalog, withCatalogCache } from '../../api/recommend/catalog-cache';
import { RedisServingStore } from '../../serving/redis-store';
import { deleteKeys, testConfig, testRedis } from '../helpers';

jest.setTimeout(120_000);

const meta = (id: string, title = id) => ({ resourceId: id, title, type: 'video', topics: ['t'], skills: [], active: true });

it('keeps the parsed entry when the stored JSON did not change, parses changed and corrupt ones again', async () => {
  const config = testConfig('catcache');
  const redis = testRedis(config);
  try {
    const store = new RedisServingStore({ redis, keyPrefix: config.redis.keyPrefix });
    await store.putResource(meta('a'));
    await store.putResource(meta('b'));
    await redis.set(`${config.redis.keyPrefix}res:bad`, '{not json');
    const reads: string[][] = [];
    const parsed: string[] = [];
    const getStored = store.getStoredResources.bind(store);
    const parse = store.parseStoredResource.bind(store);
    let answered = 0;
    store.getStoredResources = async (ids) => {
      reads.push([...ids]);
      const out = await getStored(ids);
      answered++;
      return out;
    };
    store.parseStoredResource = (text) => {
      parsed.push(text);
      return parse(text);
    };
    let t = 0;
    const cached = withCatalogCache(store, { ttlMs: 1000, refreshAheadMs: 500, now: () => t });
    if (!hasSharedCatalog(cached)) throw new Error('expected a shared catalogue');
    const first = await cached.getSharedResources(['a', 'b', 'bad', 'none']);
    expect(first).toEqual([meta('a'), meta('b'), null, null]);
    expect(parsed).toHaveLength(3);
    await store.putResource(meta('b', 'renamed'));
    parsed.length = 0;
    t = 600; // refresh-ahead window: served from the cache, re-read in the background
    await cached.getSharedResources(['a', 'b', 'bad', 'none']);
    // until the background read has been answered and stored (not just sent)
    for (let i = 0; i < 400 && answered < 2; i++) await new Promise((resolve) => setTimeout(resolve, 5));
    await new Promise((resolve) => setTimeout(resolve, 5));
    t = 1500; // past the first read's TTL: only the refresh can answer without a round trip
    const second = await cached.getSharedResources(['a', 'b', 'bad', 'none']);
    expect(reads).toHaveLength(2);
    expect(second[0]).toBe(first[0]);
    expect(second[1]).toEqual(meta('b', 'renamed'));
    expect(second.slice(2)).toEqual([null, null]);
    expect(parsed).toEqual([JSON.stringify(meta('b', 'renamed')), '{not json']);
    // Copies for everyone else, as before.
    const copies = await cached.getResources(['a']);
    expect(copies[0]).toEqual(meta('a'));
    expect(copies[0]).not.toBe(first[0]);
  } finally {
    await deleteKeys(redis, config.redis.keyPrefix);
    await redis.quit();
  }
});
