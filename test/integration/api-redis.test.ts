/** The read-API suite against the real Redis of the stack (random key prefix, removed afterwards). */
import { Registry } from 'prom-client';
import { RedisServingStore } from '../../serving/redis-store';
import { apiReadSuite } from '../unit/api-read.suite';
import { deleteKeys, testConfig, testRedis } from '../helpers';

// testTimeout in a jest project config is ignored (it is a global option): set it here for the real services.
jest.setTimeout(120_000);

apiReadSuite('redis', () => {
  const config = testConfig('api');
  const redis = testRedis(config);
  const store = new RedisServingStore({ redis, keyPrefix: config.redis.keyPrefix, now: () => Date.UTC(2026, 10, 2) });
  return Promise.resolve({
    store,
    registry: new Registry(),
    cleanup: async () => {
      await deleteKeys(redis, config.redis.keyPrefix);
      await redis.quit();
    },
  });
});
