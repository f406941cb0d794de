import type { Kafka } from 'kafkajs';
import type { Redis } from 'ioredis';
import type { Config } from '../../lib/config';
import { createKafka } from '../../lib/kafka/client';
import { createRedis } from '../../lib/redis/client';
import { createRegistryClient } from '../../lib/registry/client';

/**
 * Clients for tests, from the same factories production uses, with fast retries so a missing service fails a test in
 * seconds. Close everything returned here in afterAll.
 */
export function testKafka(config: Config, suffix = 'test'): Kafka {
  return createKafka(config, suffix, { retry: { initialRetryTime: 100, retries: 8, maxRetryTime: 1000 } });
}

export function testRedis(config: Config): Redis {
  return createRedis(config, { maxRetriesPerRequest: 1 });
}

export function testRegistry(config: Config) {
  return createRegistryClient(config);
}

/** Deletes every Redis key under the config's (random) key prefix. */
export async function deleteKeys(redis: Redis, prefix: string): Promise<number> {
  let deleted = 0;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    cursor = next;
    if (keys.length > 0) deleted += await redis.del(...keys);
  } while (cursor !== '0');
  return deleted;
}
