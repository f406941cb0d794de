import { AvroDeserializer, SerdeType, type SchemaRegistryClient } from '@confluentinc/schemaregistry';
import { PoisonMessageError, errorMessage } from '../../lib/errors';
import { TOPIC_EVENT, type EventTopicKey } from '../../schemas';
import { topicName } from '../../lib/topics';
import type { Decode } from '../decode';
import { toPipelineEvent } from './events';

/**
 * Interim decode step (registry Avro deserializer, no dead-letter producer) until the shared consumers/decode.ts is
 * wired in; an undecodable record becomes a PoisonMessageError, which the runner counts and skips.
 */
export function createRegistryDecode(client: SchemaRegistryClient, topicPrefix: string): Decode {
  const des = new AvroDeserializer(client, SerdeType.VALUE, {});
  const byTopic = new Map<string, (typeof TOPIC_EVENT)[EventTopicKey]>();
  for (const [k, name] of Object.entries(TOPIC_EVENT)) byTopic.set(topicName(k as EventTopicKey, topicPrefix), name);
  return async (rec) => {
    const name = byTopic.get(rec.topic);
    if (!name || !rec.value) throw new PoisonMessageError('unknown-topic', `no event type for topic ${rec.topic}`);
    let v: unknown;
    try {
      v = await des.deserialize(rec.topic, rec.value);
    } catch (err) {
      throw new PoisonMessageError('undecodable', errorMessage(err), { cause: err, context: { topic: rec.topic, offset: rec.offset } });
    }
    return toPipelineEvent(name, v as never);
  };
}
