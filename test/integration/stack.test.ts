/**
 * The whole path through the real services of the stack, no mocks: Avro schema in the registry -> Confluent wire
 * format -> Kafka 4 broker -> consumer group -> deserialise -> Redis -> read back. Plus the Kafka features the
 * pipeline relies on: admin (topics, offsets), group commit/resume, and transactions.
 */
import { AvroDeserializer, AvroSerializer, Compatibility, SerdeType, type SchemaRegistryClient } from '@confluentinc/schemaregistry';
import type { Redis } from 'ioredis';
import type { Admin, Consumer, Kafka, KafkaMessage } from 'kafkajs';
import type { Config } from '../../lib/config';
import { createTopics, ensureTopics, plannedTopics } from '../../lib/kafka/topics';
import { topicName } from '../../schemas/topics';
import { deleteKeys, randomId, testConfig, testKafka, testRedis, testRegistry, waitFor } from '../helpers';

const SCHEMA_V1 = {
  type: 'record',
  name: 'StackProbe',
  namespace: 'io.learnstream.test',
  fields: [
    { name: 'userId', type: 'string' },
    { name: 'resourceId', type: 'string' },
    { name: 'weight', type: 'double' },
    { name: 'ts', type: 'long' },
  ],
};
/** v2 adds a field with a default: BACKWARD compatible. */
const SCHEMA_V2 = { ...SCHEMA_V1, fields: [...SCHEMA_V1.fields, { name: 'source', type: 'string', default: 'unknown' }] };
/** Adds a field without a default: a v2 reader could not read v1 data, so BACKWARD must reject it. */
const SCHEMA_BAD = { ...SCHEMA_V1, fields: [...SCHEMA_V1.fields, { name: 'mandatory', type: 'int' }] };

// Group joins and the first fetches take seconds on a busy 2-core machine (jest ignores testTimeout inside projects).
jest.setTimeout(60_000);

let config: Config;
let kafka: Kafka;
let admin: Admin;
let registry: SchemaRegistryClient;
let redis: Redis;
const consumers: Consumer[] = [];
const subjects: string[] = [];

beforeAll(async () => {
  config = testConfig('stack');
  kafka = testKafka(config, 'stack-test');
  admin = kafka.admin();
  await admin.connect();
  registry = testRegistry(config);
  redis = testRedis(config);
  // Make the test output show which real services answered.
  const cluster = await admin.describeCluster();
  const redisInfo = await redis.info('server');
  const redisVersion = /redis_version:(\S+)/.exec(redisInfo)?.[1];
  console.log(
    [
      `kafka:    ${config.kafka.brokers.join(',')} cluster ${cluster.clusterId}, ${cluster.brokers.length} broker(s), controller ${cluster.controller}`,
      `registry: ${config.registry.url}`,
      `redis:    ${config.redis.url} version ${redisVersion}`,
      `prefix:   topics ${config.kafka.topicPrefix} keys ${config.redis.keyPrefix}`,
    ].join('\n'),
  );
});

afterAll(async () => {
  await Promise.all(consumers.map((c) => c.disconnect().catch(() => undefined)));
  const mine = (await admin.listTopics()).filter((t) => t.startsWith(config.kafka.topicPrefix));
  if (mine.length > 0) await admin.deleteTopics({ topics: mine }).catch(() => undefined);
  await admin.disconnect();
  for (const s of subjects) await registry.deleteSubject(s, false).catch(() => undefined);
  await deleteKeys(redis, config.redis.keyPrefix);
  await redis.quit();
});

function newConsumer(groupId: string, opts: { readUncommitted?: boolean } = {}): Consumer {
  const consumer = kafka.consumer({
    groupId,
    sessionTimeout: 10_000,
    heartbeatInterval: 1000,
    maxWaitTimeInMs: 200,
    readUncommitted: opts.readUncommitted ?? false,
  });
  consumers.push(consumer);
  return consumer;
}

async function createTopic(name: string, partitions = 1): Promise<void> {
  await createTopics(admin, [{ topic: name, numPartitions: partitions, replicationFactor: 1 }]);
}

describe('admin', () => {
  it('ensureTopics creates every topic with its DLQ, compacted where declared, and is idempotent', async () => {
    const created = await ensureTopics(admin, config);
    const planned = plannedTopics(config);
    expect(created.sort()).toEqual(planned.map((t) => t.name).sort());
    expect(await ensureTopics(admin, config)).toEqual([]);

    const topics = new Set(await admin.listTopics());
    for (const t of planned) expect(topics.has(t.name)).toBe(true);

    const resources = topicName('resources', config.kafka.topicPrefix);
    const interactions = topicName('interactions', config.kafka.topicPrefix);
    const described = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [resources, interactions, `${resources}.dlq`].map((name) => ({
        type: 2 /* TOPIC */,
        name,
        configNames: ['cleanup.policy'],
      })),
    });
    const policy = Object.fromEntries(described.resources.map((r) => [r.resourceName, r.configEntries[0]?.configValue]));
    expect(policy).toEqual({ [resources]: 'compact', [interactions]: 'delete', [`${resources}.dlq`]: 'delete' });

    const meta = await admin.fetchTopicMetadata({ topics: [interactions] });
    expect(meta.topics[0].partitions).toHaveLength(config.kafka.partitions);
  });

  it('fetchTopicOffsets reports the high watermark after producing', async () => {
    const topic = `${config.kafka.topicPrefix}offsets`;
    await createTopic(topic, 2);
    const producer = kafka.producer({ idempotent: true });
    await producer.connect();
    await producer.send({ topic, messages: Array.from({ length: 7 }, (_, i) => ({ partition: i % 2, value: `m${i}` })) });
    await producer.disconnect();
    const offsets = await admin.fetchTopicOffsets(topic);
    const byPartition = Object.fromEntries(offsets.map((o) => [o.partition, Number(o.high)]));
    expect(byPartition).toEqual({ 0: 4, 1: 3 });
  });
});

describe('whole path: registry -> Kafka -> consumer group -> Redis', () => {
  it('serialises with a registered Avro schema, consumes in a group, deserialises, writes to Redis and reads back', async () => {
    const topic = `${config.kafka.topicPrefix}probe-events`;
    const subject = `${topic}-value`;
    subjects.push(subject);
    await createTopic(topic, 3);

    const id1 = await registry.register(subject, { schemaType: 'AVRO', schema: JSON.stringify(SCHEMA_V1) });
    await registry.updateCompatibility(subject, Compatibility.BACKWARD);
    expect(await registry.getCompatibility(subject)).toBe(Compatibility.BACKWARD);
    await expect(registry.register(subject, { schemaType: 'AVRO', schema: JSON.stringify(SCHEMA_BAD) })).rejects.toThrow(
      /409|incompatible/i,
    );
    const id2 = await registry.register(subject, { schemaType: 'AVRO', schema: JSON.stringify(SCHEMA_V2) });
    const latest = await registry.getLatestSchemaMetadata(subject);
    expect(latest).toMatchObject({ id: id2, version: 2 });
    expect(id2).not.toBe(id1);

    const serializer = new AvroSerializer(registry, SerdeType.VALUE, { useSchemaId: id2 });
    const deserializer = new AvroDeserializer(registry, SerdeType.VALUE, {});
    const userId = `u-${randomId()}`;
    const event = { userId, resourceId: 'r-42', weight: 0.75, ts: 1_700_000_000_000, source: 'stack-test' };
    const value = await serializer.serialize(topic, event);
    // Confluent wire format: magic byte 0, then the 4-byte big-endian schema id, then the Avro body.
    expect(value[0]).toBe(0);
    expect(value.readInt32BE(1)).toBe(id2);

    const producer = kafka.producer({ idempotent: true });
    await producer.connect();
    await producer.send({ topic, acks: -1, messages: [{ key: userId, value }] });
    await producer.disconnect();

    const groupId = `${config.kafka.topicPrefix}g-path`;
    const consumer = newConsumer(groupId);
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const received: KafkaMessage[] = [];
    await consumer.run({
      eachMessage: async ({ message }) => {
        received.push(message);
        const decoded = (await deserializer.deserialize(topic, message.value!)) as typeof event;
        // Derived serving data goes to Redis under the (random) key prefix.
        await redis.set(`${config.redis.keyPrefix}probe:${decoded.userId}`, JSON.stringify(decoded));
      },
    });
    await waitFor(() => received.length >= 1, { message: 'message consumed', timeoutMs: 30_000 });
    await consumer.disconnect();

    expect(received[0].key?.toString()).toBe(userId);
    const stored = await waitFor(() => redis.get(`${config.redis.keyPrefix}probe:${userId}`).then((v) => v ?? undefined));
    expect(JSON.parse(stored)).toEqual(event);

    // The group committed its position (auto-commit on disconnect).
    const committed = await admin.fetchOffsets({ groupId, topics: [topic] });
    const total = committed[0].partitions.reduce((n, p) => n + Math.max(0, Number(p.offset)), 0);
    expect(total).toBe(1);
  });
});

describe('consumer group commit and resume', () => {
  it('a new consumer in the same group resumes right after the committed offset', async () => {
    const topic = `${config.kafka.topicPrefix}resume`;
    await createTopic(topic, 1);
    const producer = kafka.producer({ idempotent: true });
    await producer.connect();
    await producer.send({ topic, messages: Array.from({ length: 10 }, (_, i) => ({ key: 'k', value: String(i) })) });
    await producer.disconnect();

    const groupId = `${config.kafka.topicPrefix}g-resume`;
    const first = newConsumer(groupId);
    await first.connect();
    await first.subscribe({ topic, fromBeginning: true });
    const seenFirst: string[] = [];
    let committedAt = -1;
    await first.run({
      autoCommit: false,
      eachMessage: async ({ message, partition }) => {
        if (seenFirst.length >= 4) return;
        seenFirst.push(message.value!.toString());
        if (seenFirst.length === 4) {
          committedAt = Number(message.offset) + 1;
          await first.commitOffsets([{ topic, partition, offset: String(committedAt) }]);
        }
      },
    });
    await waitFor(() => committedAt > 0, { message: 'first consumer committed', timeoutMs: 30_000 });
    await first.disconnect();
    expect(seenFirst).toEqual(['0', '1', '2', '3']);
    const afterFirst = await admin.fetchOffsets({ groupId, topics: [topic] });
    expect(afterFirst[0].partitions[0].offset).toBe('4');

    const second = newConsumer(groupId);
    await second.connect();
    await second.subscribe({ topic, fromBeginning: true });
    const seenSecond: { value: string; offset: string }[] = [];
    await second.run({
      eachMessage: ({ message }) => {
        seenSecond.push({ value: message.value!.toString(), offset: message.offset });
        return Promise.resolve();
      },
    });
    await waitFor(() => seenSecond.length >= 6, { message: 'second consumer caught up', timeoutMs: 30_000 });
    await second.disconnect();
    expect(seenSecond.map((m) => m.value)).toEqual(['4', '5', '6', '7', '8', '9']);
    expect(seenSecond[0].offset).toBe('4');
    const afterSecond = await admin.fetchOffsets({ groupId, topics: [topic] });
    expect(afterSecond[0].partitions[0].offset).toBe('10');
  });
});

describe('transactions', () => {
  it('read_committed consumers see committed transactions and never aborted ones; offsets commit inside the transaction', async () => {
    const topic = `${config.kafka.topicPrefix}txn`;
    const source = `${config.kafka.topicPrefix}txn-source`;
    await createTopic(topic, 1);
    await createTopic(source, 1);
    const groupId = `${config.kafka.topicPrefix}g-txn`;

    const producer = kafka.producer({ transactionalId: `${config.kafka.topicPrefix}tx`, idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const aborted = await producer.transaction();
    await aborted.send({ topic, messages: [{ value: 'aborted' }] });
    await aborted.abort();
    const committed = await producer.transaction();
    await committed.send({ topic, messages: [{ value: 'committed' }] });
    // The pipeline's exactly-once step: consumed offsets become visible atomically with the output.
    await committed.sendOffsets({ consumerGroupId: groupId, topics: [{ topic: source, partitions: [{ partition: 0, offset: '5' }] }] });
    await committed.commit();
    await producer.disconnect();

    const consumer = newConsumer(`${config.kafka.topicPrefix}g-txn-reader`);
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const values: string[] = [];
    await consumer.run({
      eachMessage: ({ message }) => {
        values.push(message.value!.toString());
        return Promise.resolve();
      },
    });
    await waitFor(() => values.length >= 1, { message: 'committed message read', timeoutMs: 30_000 });
    await consumer.disconnect();
    expect(values).toEqual(['committed']);

    const offsets = await admin.fetchOffsets({ groupId, topics: [source] });
    expect(offsets[0].partitions[0].offset).toBe('5');
  });
});
