/**
 * The pipeline's decode adapter (consumers/decode/decoders.ts) dead-letters poison through consumers/dead-letter.ts
 * before the runner moves on: the record lands in <topic>.dlq with its original bytes and the reason headers.
 */
import type { Consumer, IHeaders, Kafka } from 'kafkajs';
import type { Config } from '../../lib/config';
import { PoisonMessageError } from '../../lib/errors';
import { createLogger } from '../../lib/log';
import { noopEmitter } from '../../lib/metrics/instrumentation';
import { dlqName, topicName } from '../../schemas/topics';
import { DLQ_HEADERS } from '../../consumers/decode/step';
import { createDecode } from '../../consumers/decode/decoders';
import { closeKafkaWorld, testRegistry, waitFor, openKafkaWorld, type KafkaWorld } from '../helpers';

describe('pipeline decode adapter dead-letters poison', () => {
  let config: Config;
  let kafka: Kafka;
  let world: KafkaWorld | undefined;
  let reader: Consumer | undefined;

  beforeAll(async () => {
    world = await openKafkaWorld('ev-pdlq');
    ({ config, kafka } = world);
  }, 40_000);

  afterAll(async () => {
    await reader?.disconnect();
    await closeKafkaWorld(world);
  }, 30_000);

  it('writes the original bytes with reason and provenance, and tells the runner to move on', async () => {
    const { decode, close } = await createDecode({
      config,
      kafka,
      registry: testRegistry(config),
      emit: noopEmitter,
      logger: createLogger({ level: 'error' }),
    });
    const topic = topicName('interactions', config.kafka.topicPrefix);
    const value = Buffer.from('definitely not avro');
    try {
      // The pipeline's contract for "dead-lettered, move on" is null (or, in its earlier form, a PoisonMessageError).
      const outcome = await decode({
        topic,
        partition: 2,
        offset: '41',
        key: Buffer.from('u1'),
        value,
        timestamp: 1_700_000_000_000,
        headers: { trace: 'abc' },
      }).then(
        (v) => v,
        (e: unknown) => e,
      );
      expect(outcome === null || outcome instanceof PoisonMessageError).toBe(true);
    } finally {
      await close();
    }
    const got: { value: Buffer | null; headers: IHeaders }[] = [];
    reader = kafka.consumer({ groupId: `${config.kafka.topicPrefix}pdlq` });
    await reader.connect();
    await reader.subscribe({ topics: [dlqName(topic)], fromBeginning: true });
    await reader.run({
      eachMessage: ({ message }) => {
        got.push({ value: message.value, headers: message.headers ?? {} });
        return Promise.resolve();
      },
    });
    await waitFor(() => got.length >= 1, { timeoutMs: 20_000, message: 'dead letter read back' });
    const h = (k: string) => got[0].headers[k]?.toString();
    expect(got[0].value).toEqual(value);
    expect([
      h(DLQ_HEADERS.reason),
      h(DLQ_HEADERS.topic),
      h(DLQ_HEADERS.partition),
      h(DLQ_HEADERS.offset),
      h(DLQ_HEADERS.timestamp),
      h('trace'),
    ]).toEqual(['not-confluent-framed', topic, '2', '41', '1700000000000', 'abc']);
  });
});
