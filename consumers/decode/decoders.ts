import type { Kafka, KafkaMessage } from 'kafkajs';
import type { Client } from '@confluentinc/schemaregistry';
import { createDecodeStep, type DecodeStep } from './step';
import type { Config } from '../../lib/config';
import type { Logger } from '../../lib/log';
import type { Emitter } from '../../lib/metrics/instrumentation';
import type { Decode } from '../event-types';
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
 * The decode step every stage uses: the shared consumers/decode/step.ts step (Confluent-framed Avro -> validated event
 * via lib/serde, undecodable or invalid records to `<topic>.dlq` with the reason in headers, counted) mapped to the
 * pipeline's event shape. Dead letters are at-least-once: a poison record replayed after a crash is dead-lettered
 * again (the DLQ is an audit trail, never model state).
 */
export async function createDecode(deps: DecodeDeps): Promise<{ decode: Decode; close: () => Promise<void> }> {
  const producer = deps.kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const step = createDecodeStep({
    registry: deps.registry,
    topicPrefix: deps.topicPrefix ?? deps.config.kafka.topicPrefix,
    sink: producer,
    emit: deps.emit,
  });
  return { decode: stageDecode(step), close: () => producer.disconnect() };
}

/** The shared decode step as the stages call it: an InputRecord in, a pipeline event or null (dead-lettered) out. */
export function stageDecode(step: DecodeStep): Decode {
  return async (rec) => {
    const message = {
      key: rec.key,
      value: rec.value,
      offset: rec.offset,
      timestamp: String(rec.timestamp),
      headers: rec.headers,
      attributes: 0,
    } as KafkaMessage;
    const d = await step(rec.topic, rec.partition, message);
    if (d === null) return null;
    if (d.event === null) return null; // a tombstone where the stage expected an event: nothing to learn
    return toPipelineEvent(d.event, d.value);
  };
}

/**
 * The decode step of a stage that reads topics another stage in the same deployment already dead-letters (the
 * experiment stage reads the learner stage's inputs): a poison record is skipped here without being written or
 * counted a second time.
 */
export function createSecondaryDecode(deps: Pick<DecodeDeps, 'config' | 'registry' | 'topicPrefix'>): Decode {
  const skip = { send: () => Promise.resolve() };
  return stageDecode(
    createDecodeStep({ registry: deps.registry, topicPrefix: deps.topicPrefix ?? deps.config.kafka.topicPrefix, sink: skip }),
  );
}
