/** The read-API suite against the real Redis of the stack (random key prefix, removed afterwards). */
import { randomUUID } from 'node:crypto';
import { Registry } from 'prom-client';
import { loadConfig } from '../../lib/config';
import { createRedis } from '../../lib/redis/client';
import { RedisServingStore } from '../../lib/serving/redis';
import { apiReadSuite } from '../unit/api-read.suite';

apiReadSuite('redis', () => {
  const redis = createRedis(loadConfig());
  const keyPrefix = `test-api:${randomUUID().slice(0, 8)}:`;
  const store = new RedisServingStore({ redis, keyPrefix, now: () => Date.UTC(2026, 10, 2) });
  return Promise.resolve({
    store,
    registry: new Registry(),
    cleanup: async () => {
      const keys = await redis.keys(`${keyPrefix}*`);
      if (keys.length > 0) await redis.del(...keys);
      await redis.quit();
    },
  });
});
