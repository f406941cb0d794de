import { Redis, type RedisOptions } from 'ioredis';
import type { Config } from '../config';

/**
 * An ioredis client for the configured URL. rediss:// turns TLS on (handled by ioredis from the URL); a separately
 * configured password is used when the URL has none. The key prefix is NOT applied here (stores add it explicitly,
 * so a key in logs is the key in Redis).
 */
export function createRedis(config: Config, overrides: RedisOptions = {}): Redis {
  const url = new URL(config.redis.url);
  const options: RedisOptions = {
    // Fail commands fast when Redis is down instead of queueing them without bound.
    maxRetriesPerRequest: 2,
    connectTimeout: 5000,
    enableOfflineQueue: true,
    retryStrategy: (times) => Math.min(100 * times, 2000),
    ...(url.protocol === 'rediss:' ? { tls: {} } : {}),
    ...(!url.password && config.redis.password ? { password: config.redis.password } : {}),
    ...overrides,
  };
  return new Redis(config.redis.url, options);
}
