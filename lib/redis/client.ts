import { Cluster, Redis, type RedisOptions } from 'ioredis';
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

/** What the serving store runs on: one Redis, or a Redis Cluster (ioredis' Cluster client). */
export type ServingRedis = Redis | Cluster;

/**
 * The serving store's client: ioredis' Cluster client over config.redis.clusterNodes when any are configured (TLS and
 * password from the URL and config as for one Redis; `overrides` apply to every node connection and, for the options
 * Cluster has itself such as enableAutoPipelining, to the cluster), else createRedis.
 */
export function createServingRedis(config: Config, overrides: RedisOptions = {}): ServingRedis {
  if (config.redis.clusterNodes.length === 0) return createRedis(config, overrides);
  const url = new URL(config.redis.url);
  const nodes = config.redis.clusterNodes.map((n) => {
    const at = n.lastIndexOf(':');
    return { host: n.slice(0, at), port: Number(n.slice(at + 1)) };
  });
  const { enableAutoPipelining, ...redisOptions } = overrides;
  return new Cluster(nodes, {
    enableAutoPipelining,
    // As createRedis: fail fast instead of queueing without bound while the cluster is unreachable.
    maxRedirections: 16,
    clusterRetryStrategy: (times) => Math.min(100 * times, 2000),
    redisOptions: {
      maxRetriesPerRequest: 2,
      connectTimeout: 5000,
      ...(url.protocol === 'rediss:' ? { tls: {} } : {}),
      ...(url.password ? { password: decodeURIComponent(url.password) } : config.redis.password ? { password: config.redis.password } : {}),
      ...redisOptions,
    },
  });
}
