import type { Client } from '@confluentinc/schemaregistry';
import type { Kafka, Producer } from 'kafkajs';
import type { Config } from '../../lib/config';
import { registerSchemas } from '../../lib/serde';
import { topicName } from '../../schemas/topics';
import { ADMIN_GRANT } from '../../producers/authorize';
import { Publisher } from '../../producers/publisher';
import type { KindedEvent } from '../../schemas';

/** The product's Publisher (registry-registered schemas, Confluent wire format, keyed, ordered) for pipeline tests. */
export class TestPublisher {
  private pub: Publisher | null = null;
  private raw: Producer | null = null;

  constructor(
    private readonly config: Config,
    private readonly kafka: Kafka,
    private readonly registry: Client,
  ) {}

  private async publisher(): Promise<Publisher> {
    if (!this.pub) {
      await registerSchemas(this.registry, this.config);
      // admin: pipeline tests publish erasures too
      this.pub = await Publisher.create({
        kafka: this.kafka,
        registry: this.registry,
        topicPrefix: this.config.kafka.topicPrefix,
        grant: ADMIN_GRANT,
      });
    }
    return this.pub;
  }

  /** Publishes events in order and resolves once all are acknowledged. */
  async publish(events: KindedEvent[]): Promise<number> {
    const pub = await this.publisher();
    await Promise.all(events.map((e) => pub.publishValid(e)));
    return events.length;
  }

  /** A catalogue tombstone (resource deleted). */
  async deleteResource(resourceId: string): Promise<void> {
    if (!this.raw) {
      this.raw = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
      await this.raw.connect();
    }
    await this.raw.send({ topic: topicName('resources', this.config.kafka.topicPrefix), messages: [{ key: resourceId, value: null }] });
  }

  async close(): Promise<void> {
    await this.pub?.close();
    await this.raw?.disconnect();
    this.pub = null;
    this.raw = null;
  }
}
