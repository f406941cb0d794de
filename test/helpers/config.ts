import { loadConfig, merge, type Config } from '../../lib/config';
import { randomPrefix } from './random';

/**
 * The configuration integration tests run with: the environment (so LEARNSTREAM_* pointing at an existing cluster is
 * honoured), quiet logs, and a random topic prefix and Redis key prefix so parallel tests never collide.
 */
export function testConfig(label = 'test', overrides: Record<string, unknown> = {}): Config {
  const prefix = randomPrefix(label);
  const base = loadConfig({ overrides: { logLevel: 'warn' } });
  return loadConfig({
    overrides: merge(
      {
        logLevel: 'warn',
        kafka: { topicPrefix: `${base.kafka.topicPrefix}${prefix}`, clientId: `learnstream-${label}` },
        redis: { keyPrefix: `${base.redis.keyPrefix}${prefix}` },
      },
      overrides,
    ),
  });
}
