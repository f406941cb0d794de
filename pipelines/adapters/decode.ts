import type { Kafka } from 'kafkajs';
import type { Client } from '@confluentinc/schemaregistry';
import type { Config } from '../../lib/config';
import type { Logger } from '../../lib/log';
import type { Emitter } from '../../lib/metrics/instrumentation';
import { EventDeserializer } from '../../lib/serde';
import { PoisonMessageError } from '../../lib/errors';
import { DeadLetterWriter } from '../../consumers/dead-letter';
import type { Decode } from '../decode';
import { toPipelineEvent } from './events';

export interface DecodeDeps {
  config: Config;
  kafka: Kafka;
  registry: Client;
  emit: Emitter;
  logger: Logger;
  /** Full topic prefix; default config.kafka.topicPrefix. */
  topicPrefix?: string;
}

/**
 * The decode step every stage uses: Confluent-framed Avro -> validated event (lib/serde EventDeserializer: writer
 * schema from the registry by id, resolved to the reader schema compiled into this build) -> pipeline event.
 * Undecodable or invalid records throw PoisonMessageError; the runner counts them and the offset moves on.
 */
export async function createDecode(deps: DecodeDeps): Promise<{ decode: Decode; close: () => Promise<void> }> {
  const des = new EventDeserializer(deps.registry, deps.topicPrefix ?? deps.config.kafka.topicPrefix);
  // Poison is written to <topic>.dlq (original bytes + x-dlq-* headers) before the runner moves on; the runner emits
  // the deadLetter count, so the writer gets no emitter. A failing DLQ write is a retriable DependencyError.
  const producer = deps.kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const deadLetters = new DeadLetterWriter({ sink: producer, logger: deps.logger });
  const decode: Decode = async (rec) => {
    try {
      const d = await des.decode(rec.topic, rec.value, rec.key);
      if (d.event === null) throw new PoisonMessageError('unexpected-tombstone', `tombstone on ${rec.topic} where an event was expected`);
      return toPipelineEvent(d.event, d.value);
    } catch (err) {
      if (err instanceof PoisonMessageError) {
        await deadLetters.write({ topic: rec.topic, partition: rec.partition, message: { key: rec.key, value: rec.value, offset: rec.offset, timestamp: String(rec.timestamp), headers: rec.headers } }, err);
      }
      throw err;
    }
  };
  return { decode, close: () => producer.disconnect() };
}
