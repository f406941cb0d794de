import { randomBytes } from 'node:crypto';
import type { Kafka, Producer } from 'kafkajs';
import type { SchemaRegistryClient } from '@confluentinc/schemaregistry';
import { loadConfig, merge, type Config } from '../../lib/config';
import { createKafka } from '../../lib/kafka/client';
import { ensureTopics } from '../../lib/kafka/topics';
import { createLogger } from '../../lib/log';
import { createInstrumentation, type Instrumentation } from '../../lib/metrics/instrumentation';
import { createRedis } from '../../lib/redis/client';
import { createRegistryClient } from '../../lib/registry/client';
import { EventSerializer, registerSchemas } from '../../lib/serde';
import { RedisServingStore } from '../../serving/redis-store';
import { topicName } from '../../schemas/topics';
import { gaussian, mulberry32 } from '../../models/random/prng';
import { createDecode } from '../../consumers/decode/decoders';
import { encodeItemRow } from '../../pipelines/messages';
import { Pipeline } from '../../pipelines/pipeline';
import { MemoryCheckpointStore } from '../../consumers/state/checkpoint';
import type { LearningInteraction } from '../../schemas';
import { pick, TOPICS } from './catalog';

/**
 * A private world for one pipeline benchmark run: random topic prefix (topics created with `partitions`), random Redis
 * key prefix, schemas registered, a pre-serialised event stream, and the learner stage started in this process
 * through the pipeline's own API (pipelines/pipeline.ts). `close()` removes the topics and keys it created.
 */
export interface BenchWorld {
  config: Config;
  kafka: Kafka;
  registry: SchemaRegistryClient;
  serializer: EventSerializer;
  instr: Instrumentation;
  producer: Producer;
  topic: { interactions: string; itemFactors: string };
  close(): Promise<void>;
}

export async function createWorld(label: string, partitions: number, overrides: Record<string, unknown> = {}): Promise<BenchWorld> {
  const base = loadConfig();
  const tag = `bench-${label}-${randomBytes(3).toString('hex')}.`;
  const config = loadConfig({
    overrides: merge(
      {
        logLevel: 'warn',
        kafka: { topicPrefix: `${base.kafka.topicPrefix}${tag}`, partitions },
        redis: { keyPrefix: `${base.redis.keyPrefix}${tag}` },
      },
      overrides,
    ),
  });
  const kafka = createKafka(config, `bench-${label}`);
  const admin = kafka.admin();
  await admin.connect();
  const created = await ensureTopics(admin, config);
  const registry = createRegistryClient(config);
  await registerSchemas(registry, config);
  const serializer = await EventSerializer.create(registry, config.kafka.topicPrefix);
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const instr = createInstrumentation();
  const prefix = config.kafka.topicPrefix;
  return {
    config,
    kafka,
    registry,
    serializer,
    instr,
    producer,
    topic: { interactions: topicName('interactions', prefix), itemFactors: topicName('itemFactors', prefix) },
    async close() {
      await producer.disconnect().catch(() => undefined);
      const mine = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
      await admin.deleteTopics({ topics: mine.length ? mine : created }).catch(() => undefined);
      await admin.disconnect();
      const redis = createRedis(config);
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${config.redis.keyPrefix}*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length) await redis.unlink(...keys);
      } while (cursor !== '0');
      redis.disconnect();
    },
  };
}

/**
 * Publishes `n` resources straight to model.item-factors (as the item stage would), so every learner instance's replica
 * holds the full catalogue and each re-rank scores all of it.
 */
export async function publishCatalogue(w: BenchWorld, n: number, seed = 3): Promise<string[]> {
  const rng = mulberry32(seed);
  const dim = w.config.model.dim;
  const ids: string[] = [];
  for (let a = 0; a < n; a += 1000) {
    const messages = [];
    for (let i = a; i < Math.min(n, a + 1000); i++) {
      const id = `r${i}`;
      ids.push(id);
      const f = new Float32Array(dim);
      for (let d = 0; d < dim; d++) f[d] = gaussian(rng, 0.1);
      messages.push({
        key: id,
        value: encodeItemRow({
          itemId: id,
          factors: f,
          bias: 0,
          count: 1,
          lastT: Date.now(),
          active: true,
          meta: { type: 'article', topics: [pick(rng, TOPICS)], skills: [], title: `Resource ${i}` },
        }),
      });
    }
    await w.producer.send({ topic: w.topic.itemFactors, messages });
  }
  return ids;
}

/** `n` interaction events (Confluent-framed Avro, keyed by userId) over `users` learners and `resources`. */
export function interactionMessages(
  w: BenchWorld,
  n: number,
  users: number,
  resources: string[],
  seed = 9,
): { key: string; value: Buffer }[] {
  const rng = mulberry32(seed);
  const types: LearningInteraction['type'][] = ['view', 'click', 'click', 'complete', 'bookmark'];
  const out: { key: string; value: Buffer }[] = [];
  for (let i = 0; i < n; i++) {
    const userId = `u${Math.floor(rng() * users)}`;
    const ev: LearningInteraction = {
      eventId: `b-${seed}-${i}`,
      userId,
      resourceId: resources[Math.floor(rng() * resources.length)],
      type: types[Math.floor(rng() * types.length)],
      value: null,
      dwellMs: 1000,
      occurredAt: Date.now(),
      context: { platform: 'bench', device: null, session: null },
      review: false,
      recommId: null,
    };
    out.push({ key: userId, value: w.serializer.serializeSync(w.topic.interactions, ev) });
  }
  return out;
}

/** Sends pre-serialised messages in batches of `batch`, acknowledged (acks=-1) before the next. */
export async function produceAll(w: BenchWorld, messages: { key: string; value: Buffer }[], batch = 2000): Promise<void> {
  for (let a = 0; a < messages.length; a += batch)
    await w.producer.send({ topic: w.topic.interactions, messages: messages.slice(a, a + batch) });
}

/**
 * Starts the learner and item stages in this process (distributed mode: the learner ranks from its replica of
 * model.item-factors and sends gradients to model.item-updates; the item stage applies them and broadcasts the rows).
 * The learner waits when its replica lags its own gradients by more than maxReplicaLag, so it cannot run without an
 * item stage; both in one process is `pipelines/main.ts --stage all` without the catalogue stage.
 */
export async function startLearner(
  w: BenchWorld,
  opts: { maxReplicaLag?: number } = {},
): Promise<{ pipeline: Pipeline; stop: () => Promise<void> }> {
  const logger = createLogger({ level: 'warn', base: { component: 'bench-pipeline' } });
  const { decode, close } = await createDecode({ config: w.config, kafka: w.kafka, registry: w.registry, emit: w.instr, logger });
  const redis = createRedis(w.config);
  const store = new RedisServingStore({ redis, keyPrefix: w.config.redis.keyPrefix, emit: w.instr });
  const pipeline = new Pipeline({
    config: w.config,
    kafka: w.kafka,
    decode,
    store,
    logger,
    emit: w.instr,
    stages: ['learner', 'item'],
    synchronousItems: false,
    checkpoints: new MemoryCheckpointStore(),
    ...opts,
  });
  await pipeline.start();
  return {
    pipeline,
    stop: async () => {
      await pipeline.stop();
      await close();
      redis.disconnect();
    },
  };
}
