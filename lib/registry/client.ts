import { SchemaRegistryClient, type ClientConfig } from '@confluentinc/schemaregistry';
import type { Config } from '../config';

/**
 * A Confluent-compatible registry client for the configured URL, with basic auth when a username is configured.
 * Retries are short: the registry is local or close, and callers see DependencyError quickly.
 */
export function createRegistryClient(config: Config, overrides: Partial<ClientConfig> = {}): SchemaRegistryClient {
  const { username, password } = config.registry;
  const clientConfig: ClientConfig = {
    baseURLs: [config.registry.url],
    cacheCapacity: 1000,
    // Latest-version lookups are cached briefly so a new schema version is seen within seconds.
    cacheLatestTtlSecs: 10,
    maxRetries: 2,
    retriesWaitMs: 100,
    retriesMaxWaitMs: 1000,
    createAxiosDefaults: { timeout: 10_000 },
    ...(username !== undefined && password !== undefined
      ? { basicAuthCredentials: { credentialsSource: 'USER_INFO', userInfo: `${username}:${password}` } }
      : {}),
    ...overrides,
  };
  return new SchemaRegistryClient(clientConfig);
}
