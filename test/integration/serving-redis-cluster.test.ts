/**
 * The ServingStore contract on a Redis Cluster of three masters that infra/ starts from the same redis-server binary
 * (infra/stack/redis-cluster.ts), through ioredis' Cluster client as config.redis.clusterNodes selects it.
 */
import type { Cluster } from 'ioredis';
import { loadConfig } from '../../lib/config';
import { createServingRedis } from '../../lib/redis/client';
import { RedisServingStore } from '../../serving/redis-store';
import { clusterPorts, startRedisCluster, type LocalRedisCluster } from '../../infra/stack/redis-cluster';
import { servingStoreContract } from '../contracts/serving-store.contract';
import { randomPrefix, testConfig } from '../helpers';

jest.setTimeout(60_000);

const base = testConfig('serving-cluster');
let cluster: LocalRedisCluster;
let redis: Cluster;

beforeAll(async () => {
  cluster = await startRedisCluster({ ports: clusterPorts(base.stack.redisPort) });
  const config = loadConfig({ overrides: { redis: { clusterNodes: cluster.nodes } } });
  redis = createServingRedis(config) as Cluster;
  expect(redis.isCluster).toBe(true);
});

afterAll(async () => {
  redis?.disconnect();
  await cluster?.stop();
});

const freshPrefix = (): string => `${randomPrefix('cstore')}:`;

servingStoreContract('redis cluster', { make: (now) => Promise.resolve(new RedisServingStore({ redis, keyPrefix: freshPrefix(), now })) });

describe('RedisServingStore on a cluster', () => {
  const slotOf = async (key: string) => Number(await redis.call('CLUSTER', 'KEYSLOT', key));
  const keysOnNodes = async (prefix: string) => Promise.all(redis.nodes('master').map((n) => n.keys(`${prefix}*`)));

  it('keeps one learner in one slot, spreads learners over the masters, and loads the catalogue across slots', async () => {
    const keyPrefix = freshPrefix();
    const store = new RedisServingStore({ redis, keyPrefix });
    for (let u = 0; u < 30; u++) {
      await store.putRecommendations({
        userId: `u${u}`,
        items: [{ resourceId: 'r1', score: 1, reasons: [] }],
        modelVersion: 'm',
        generatedAt: 1,
        source: 'personal',
      });
      await store.putKnowledge({ userId: `u${u}`, skills: [], updatedAt: 1 });
      await store.addCompleted(`u${u}`, ['r1']);
      await store.putProfileInterests(`u${u}`, ['algebra']);
    }
    const perNode = await keysOnNodes(keyPrefix);
    expect(perNode.filter((keys) => keys.some((k) => k.includes('rec:'))).length).toBe(3);
    const learnerKeys = perNode.flat().filter((k) => k.endsWith('{u7}'));
    expect(learnerKeys).toHaveLength(4);
    expect(new Set(await Promise.all(learnerKeys.map(slotOf))).size).toBe(1);
    await store.eraseLearner('u7');
    expect((await keysOnNodes(keyPrefix)).flat().filter((k) => k.endsWith('{u7}'))).toEqual([]);
    for (let i = 0; i < 40; i++)
      await store.putResource({ resourceId: `r${i}`, title: `R${i}`, type: 'video', topics: [], skills: [], active: true });
    const ids = Array.from({ length: 41 }, (_, i) => `r${40 - i}`);
    expect(new Set(await Promise.all(ids.map((id) => slotOf(`${keyPrefix}res:{${id}}`)))).size).toBeGreaterThan(30);
    expect((await store.getResources(ids)).map((m) => m?.title ?? null)).toEqual([null, ...ids.slice(1).map((id) => `R${id.slice(1)}`)]);
  });

  it('refuses a key prefix with braces (it would become the hash tag of every key)', () => {
    expect(() => new RedisServingStore({ redis, keyPrefix: 'ls:{x}:' })).toThrow(/braces/);
  });
});
