/** The ServingStore contract against the real Redis of the stack, each store under its own random key prefix. */
import type { Redis } from 'ioredis';
import { loadConfig } from '../../lib/config';
import { createInstrumentation } from '../../lib/metrics/instrumentation';
import { createRedis } from '../../lib/redis/client';
import { encodeList, encodeListFormat2 } from '../../serving/list-codec';
import { RedisServingStore } from '../../serving/redis-store';
import type { RecommendationList } from '../../serving/types';
import { servingStoreContract } from '../contracts/serving-store.contract';
import { deleteKeys, randomPrefix, testConfig, testRedis } from '../helpers';

// testTimeout in a jest project config is ignored (it is a global option): set it here for the real services.
jest.setTimeout(120_000);

const config = testConfig('serving');
const prefixes: string[] = [];
let redis: Redis;

beforeAll(() => {
  redis = testRedis(config);
});

afterAll(async () => {
  for (const p of prefixes) await deleteKeys(redis, p);
  await redis.quit();
});

function freshPrefix(): string {
  const p = `${config.redis.keyPrefix}${randomPrefix('store')}`;
  prefixes.push(p);
  return p;
}

servingStoreContract('redis', { make: (now) => Promise.resolve(new RedisServingStore({ redis, keyPrefix: freshPrefix(), now })) });

describe('RedisServingStore specifics', () => {
  it('writes a list as one key holding its binary encoding (format 4) under the prefix, its entries in the dictionary, and times every command', async () => {
    const keyPrefix = freshPrefix();
    const instr = createInstrumentation();
    const seen: string[] = [];
    instr.on('redis.command', (e) => seen.push(`${e.command}:${e.ok}`));
    const store = new RedisServingStore({ redis, keyPrefix, emit: instr });
    await store.putRecommendations({ userId: 'u1', items: [], modelVersion: 'm', generatedAt: 1, source: 'popular' });
    expect(await redis.type(`${keyPrefix}rec:u1`)).toBe('string');
    expect((await redis.keys(`${keyPrefix}*`)).sort()).toEqual([`${keyPrefix}dict:k`, `${keyPrefix}dict:v`, `${keyPrefix}rec:u1`]);
    expect([...(await redis.getBuffer(`${keyPrefix}rec:u1`))!.subarray(0, 3)]).toEqual([0x4c, 0x34, 0]);
    await store.getRecommendations('u1');
    // New entries (the model version) numbered once; the reading store loads what it has not seen, once. The list is
    // read with its experiment tag (rtag:<userId>, absent here) in one MGET.
    expect(seen).toEqual(['eval:true', 'set:true', 'mget:true', 'hmget:true']);
    await store.putRecommendations({ userId: 'u2', items: [], modelVersion: 'm', generatedAt: 1, source: 'popular' });
    await store.getRecommendations('u2');
    expect(seen.slice(4)).toEqual(['set:true', 'mget:true']);
  });

  it('forgets the list dictionary when the serving view is lost (new epoch): a list read after the loss is the list written', async () => {
    const keyPrefix = freshPrefix();
    const item = (resourceId: string) => ({ resourceId, score: 1, reasons: [{ code: 'popular' as const, text: 'Popular' }] });
    const list = (userId: string, ids: string[]): RecommendationList => ({
      userId,
      items: ids.map(item),
      modelVersion: 'm',
      generatedAt: 1,
      source: 'personal',
    });
    const writer = new RedisServingStore({ redis, keyPrefix, epochCheckMs: 0 });
    const reader = new RedisServingStore({ redis, keyPrefix, epochCheckMs: 0 });
    await writer.claimEpoch('before');
    await writer.checkEpoch();
    await reader.checkEpoch();
    await writer.putRecommendations(list('u1', ['a', 'b']));
    expect((await reader.getRecommendations('u1'))!.items.map((i) => i.resourceId)).toEqual(['a', 'b']);
    // Redis loses everything; another writer numbers other entries first (0, 1, 2 now name m, c, d).
    await deleteKeys(redis, keyPrefix);
    const other = new RedisServingStore({ redis, keyPrefix, epochCheckMs: 0 });
    await other.claimEpoch('after');
    await other.putRecommendations(list('u9', ['c', 'd']));
    await writer.checkEpoch();
    await reader.checkEpoch();
    await writer.putRecommendations(list('u1', ['a', 'b']));
    expect((await reader.getRecommendations('u1'))!.items.map((i) => i.resourceId)).toEqual(['a', 'b']);
    expect((await reader.getRecommendations('u9'))!.items.map((i) => i.resourceId)).toEqual(['c', 'd']);
  });

  it('sends a batch of popularity increments as one MULTI and still bounds each ZSET', async () => {
    const keyPrefix = freshPrefix();
    const instr = createInstrumentation();
    const seen: string[] = [];
    instr.on('redis.command', (e) => seen.push(e.command));
    const store = new RedisServingStore({ redis, keyPrefix, emit: instr, maxPopularMembers: 3 });
    await store.incrementPopularityMany(Array.from({ length: 6 }, (_, i) => ({ resourceId: `r${i}`, by: i + 1, topics: ['t'] })));
    expect(seen).toEqual(['multi']);
    expect(await redis.zcard(`${keyPrefix}pop`)).toBe(3);
    expect((await store.getPopular(10, 't')).map((p) => p.resourceId)).toEqual(['r5', 'r4', 'r3']);
  });

  it('bounds each popularity ZSET to maxPopularMembers', async () => {
    const keyPrefix = freshPrefix();
    const store = new RedisServingStore({ redis, keyPrefix, maxPopularMembers: 3 });
    for (let i = 0; i < 6; i++) await store.incrementPopularity(`r${i}`, i + 1, ['t']);
    expect(await redis.zcard(`${keyPrefix}pop`)).toBe(3);
    expect((await store.getPopular(10, 't')).map((p) => p.resourceId)).toEqual(['r5', 'r4', 'r3']);
  });

  it('reads lists written in the previous formats (1: one JSON object, 2: JSON lines, 3: binary with its own strings) through both getters', async () => {
    const keyPrefix = freshPrefix();
    const old: RecommendationList = {
      userId: 'u1',
      items: [
        {
          resourceId: 'a',
          score: 0.5,
          reasons: [{ code: 'popular', text: 'Popular right now 😀' }],
          type: 'video',
          topics: ['t'],
          skills: [],
        },
      ],
      modelVersion: 'm',
      generatedAt: 1,
      eventTime: 0,
      source: 'personal',
    };
    const store = new RedisServingStore({ redis, keyPrefix });
    for (const value of [JSON.stringify(old), encodeListFormat2(old), encodeList(old)]) {
      await redis.set(`${keyPrefix}rec:u1`, value);
      expect(await store.getRecommendations('u1')).toEqual(old);
      const view = (await store.getRecommendationView('u1'))!;
      expect([view.ids, view.score(0), view.item(0)]).toEqual([['a'], 0.5, old.items[0]]);
    }
  });

  it('treats a corrupt value as missing instead of failing the read', async () => {
    const keyPrefix = freshPrefix();
    const store = new RedisServingStore({ redis, keyPrefix });
    for (const bad of [
      '{not json',
      Buffer.from([0x4c, 0x33, 0, 1]),
      Buffer.from([0x4c, 0x34, 0, 1]),
      encodeList({ userId: 'u1', items: [], modelVersion: 'm', generatedAt: 1, source: 'popular' }).subarray(0, 9),
    ]) {
      await redis.set(`${keyPrefix}rec:u1`, bad);
      expect(await store.getRecommendations('u1')).toBeNull();
      expect(await store.getRecommendationView('u1')).toBeNull();
    }
  });

  it('reports a retriable DependencyError when Redis is unreachable', async () => {
    const dead = createRedis(loadConfig({ overrides: { redis: { url: 'redis://127.0.0.1:1' } } }), {
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      enableOfflineQueue: false,
      lazyConnect: true,
    });
    const store = new RedisServingStore({ redis: dead, keyPrefix: 'x:' });
    await expect(store.getRecommendations('u')).rejects.toMatchObject({ name: 'DependencyError', retriable: true });
    expect(await store.ping()).toBe(false);
    dead.disconnect();
  });
});
