import type { Admin, Kafka } from 'kafkajs';
import type { Config } from '../../lib/config';
import { ensureTopics, plannedTopics } from '../../lib/kafka/topics';
import { registerSchemas, type RegisteredSubject } from '../../lib/serde';
import { testKafka, testRegistry } from './clients';
import { testConfig } from './config';

/** A test's own slice of the shared broker and registry: a random topic prefix, its topics, its schema subjects. */
export interface KafkaWorld {
  config: Config;
  kafka: Kafka;
  /** Connected; closeKafkaWorld disconnects it. */
  admin: Admin;
  registry: ReturnType<typeof testRegistry>;
  /** Empty when opened with `schemas: false`. */
  subjects: RegisteredSubject[];
}

/**
 * Creates every planned topic under a fresh prefix and registers this build's schemas (unless `schemas: false`, for
 * tests of what happens before registration). Call from beforeAll; pair with closeKafkaWorld in afterAll.
 */
export async function openKafkaWorld(label: string, opts: { schemas?: boolean } = {}): Promise<KafkaWorld> {
  const config = testConfig(label);
  const kafka = testKafka(config);
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, config);
  const registry = testRegistry(config);
  const subjects = opts.schemas === false ? [] : await registerSchemas(registry, config);
  return { config, kafka, admin, registry, subjects };
}

/** Deletes the world's topics (best effort: the broker may already be gone) and disconnects its admin. */
export async function closeKafkaWorld(world: KafkaWorld | undefined): Promise<void> {
  if (!world) return;
  await world.admin.deleteTopics({ topics: plannedTopics(world.config).map((t) => t.name) }).catch(() => undefined);
  await world.admin.disconnect();
}
