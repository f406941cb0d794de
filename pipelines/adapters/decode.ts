import type { Kafka } from 'kafkajs';
import type { SchemaRegistryClient } from '@confluentinc/schemaregistry';
import type { Config } from '../../lib/config';
import type { Logger } from '../../lib/log';
import type { Emitter } from '../../lib/metrics/instrumentation';
import type { Decode } from '../decode';
import { createRegistryDecode } from './registry-decode';

export interface DecodeDeps {
  config: Config;
  kafka: Kafka;
  registry: SchemaRegistryClient;
  emit: Emitter;
  logger: Logger;
}

/** The decode step every stage uses, with whatever it needs to close. */
export function createDecode(deps: DecodeDeps): Promise<{ decode: Decode; close: () => Promise<void> }> {
  return Promise.resolve({ decode: createRegistryDecode(deps.registry, deps.config.kafka.topicPrefix), close: () => Promise.resolve() });
}
