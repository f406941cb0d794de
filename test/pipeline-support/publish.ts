import { AvroSerializer, SerdeType, type SchemaRegistryClient } from '@confluentinc/schemaregistry';
import type { Kafka, Producer } from 'kafkajs';
import type { Config } from '../../lib/config';
import { topicName } from '../../lib/topics';
import { KIND_EVENT, KIND_TOPIC, eventKey, schemaText, type KindedEvent } from '../../schemas';

/**
 * A minimal Avro publisher for pipeline tests (registry-registered schemas, Confluent wire format, keyed like the
 * product's producers). Kept here so pipeline tests do not depend on producers/ landing first.
 */
export class TestPublisher {
  private readonly producer: Producer;
  private readonly serializers = new Map<string, AvroSerializer>();
  private connected = false;

  constructor(private readonly config: Config, kafka: Kafka, private readonly registry: SchemaRegistryClient) {
    this.producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  }

  private async serializer(topic: string, kind: KindedEvent['kind']): Promise<AvroSerializer> {
    let s = this.serializers.get(topic);
    if (!s) {
      await this.registry.register(`${topic}-value`, { schemaType: 'AVRO', schema: schemaText(KIND_EVENT[kind]) });
      s = new AvroSerializer(this.registry, SerdeType.VALUE, { useLatestVersion: true });
      this.serializers.set(topic, s);
    }
    return s;
  }

  /** Publishes events in order (per key order preserved), in chunks of `chunk`. Returns the count. */
  async publish(events: KindedEvent[], chunk = 1000): Promise<number> {
    if (!this.connected) {
      await this.producer.connect();
      this.connected = true;
    }
    for (let i = 0; i < events.length; i += chunk) {
      const byTopic = new Map<string, { key: string; value: Buffer }[]>();
      for (const e of events.slice(i, i + chunk)) {
        const topic = topicName(KIND_TOPIC[e.kind], this.config.kafka.topicPrefix);
        const ser = await this.serializer(topic, e.kind);
        const value = await ser.serialize(topic, e.event);
        const list = byTopic.get(topic) ?? [];
        list.push({ key: eventKey(KIND_EVENT[e.kind], e.event as never), value });
        byTopic.set(topic, list);
      }
      await this.producer.sendBatch({ topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })) });
    }
    return events.length;
  }

  /** A catalogue tombstone (resource deleted). */
  async deleteResource(resourceId: string): Promise<void> {
    if (!this.connected) {
      await this.producer.connect();
      this.connected = true;
    }
    await this.producer.send({ topic: topicName('resources', this.config.kafka.topicPrefix), messages: [{ key: resourceId, value: null }] });
  }

  async close(): Promise<void> {
    if (this.connected) await this.producer.disconnect();
    this.connected = false;
  }
}
