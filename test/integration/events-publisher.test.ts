/**
 * The typed Publisher against the real broker and registry: its grant (erasures need admin, a bound publisher keeps
 * to its id prefix), validation before sending, keys, tombstones, resolve on ack, close semantics, and a clear error
 * when this build's schemas are not registered.
 */
import type { Consumer, Kafka, KafkaMessage } from 'kafkajs';
import type { Config } from '../../lib/config';
import { ConfigError, ForbiddenError, ValidationError } from '../../lib/errors';
import { createInstrumentation } from '../../lib/metrics/instrumentation';
import { EventDeserializer } from '../../lib/serde';
import { topicName } from '../../schemas/topics';
import { ADMIN_GRANT } from '../../producers/authorize';
import { Publisher } from '../../producers/publisher';
import { closeKafkaWorld, testRegistry, waitFor, openKafkaWorld, type KafkaWorld } from '../helpers';

const NOW = Date.now();

describe('Publisher', () => {
  let config: Config;
  let kafka: Kafka;
  let world: KafkaWorld | undefined;
  let publisher: Publisher;
  let consumer: Consumer | undefined;
  const sent: { topic: string; count: number; ok: boolean }[] = [];

  beforeAll(async () => {
    world = await openKafkaWorld('ev-pub');
    ({ config, kafka } = world);
    const { registry } = world;
    const instr = createInstrumentation();
    instr.on('producer.sent', (e) => void sent.push(e));
    publisher = await Publisher.create({
      kafka,
      registry,
      topicPrefix: config.kafka.topicPrefix,
      emit: instr,
      lingerMs: 2,
      grant: ADMIN_GRANT,
    });
  }, 40_000);

  afterAll(async () => {
    await consumer?.disconnect();
    await publisher?.close();
    await closeKafkaWorld(world);
  }, 30_000);

  it('refuses to start when the schemas of this build are not registered', async () => {
    await expect(
      Publisher.create({ kafka, registry: testRegistry(config), topicPrefix: `${config.kafka.topicPrefix}unregistered.` }),
    ).rejects.toBeInstanceOf(ConfigError);
  });

  it('rejects invalid events with ValidationError before sending anything', async () => {
    const before = sent.length;
    await expect(
      publisher.publishInteraction({
        eventId: 'x',
        userId: 'u',
        resourceId: 'r',
        type: 'view',
        dwellMs: -1,
        occurredAt: NOW,
        context: { platform: 'web' },
      }),
    ).rejects.toBeInstanceOf(ValidationError);
    await expect(
      publisher.publishQuizAttempt({ eventId: 'x', userId: 'u', itemId: 'i', correct: true, score: 2, occurredAt: NOW }),
    ).rejects.toBeInstanceOf(ValidationError);
    await expect(publisher.deleteResource('')).rejects.toBeInstanceOf(ValidationError);
    await publisher.flush();
    expect(sent.length).toBe(before);
  });

  it('holds its grant: no erasure without admin, a bound publisher writes resources and profiles only under its prefix', async () => {
    const before = sent.length;
    const plain = await Publisher.create({
      kafka,
      registry: world!.registry,
      topicPrefix: config.kafka.topicPrefix,
      emit: { emit: (n, e) => void (n === 'producer.sent' && sent.push(e as (typeof sent)[number])) },
      lingerMs: 2,
    });
    const bound = await Publisher.create({
      kafka,
      registry: world!.registry,
      topicPrefix: config.kafka.topicPrefix,
      lingerMs: 2,
      grant: { scopes: ['write'], idPrefix: 'acme:' },
    });
    try {
      const erasure = await plain.requestErasure({ requestId: 'x0', userId: 'mallory-target', requestedAt: NOW }).catch((e: unknown) => e);
      expect(erasure).toBeInstanceOf(ForbiddenError);
      expect(erasure).toMatchObject({ code: 'missing-scope', message: expect.stringMatching(/needs the 'admin' scope/) });
      // the scope is checked before the fields: an invalid erasure is still a ForbiddenError, not a ValidationError
      await expect(plain.publish('erasure', { userId: '' })).rejects.toBeInstanceOf(ForbiddenError);
      await expect(bound.upsertResource({ resourceId: 'globex:r1', title: 'Not ours', type: 'course' })).rejects.toMatchObject({
        code: 'outside-prefix',
        field: 'resourceId',
      });
      await expect(bound.upsertProfile({ userId: 'globex:u1', interests: [], updatedAt: NOW })).rejects.toMatchObject({
        code: 'outside-prefix',
        field: 'userId',
      });
      await expect(bound.deleteResource('globex:r1')).rejects.toBeInstanceOf(ForbiddenError);
      await plain.flush();
      expect(sent.length).toBe(before);
      // inside the prefix, and an unbound kind: published (seen on the topics by the next test)
      await bound.upsertProfile({ userId: 'acme:dana', interests: ['math'], updatedAt: NOW });
      await bound.publishInteraction({
        eventId: 'e0',
        userId: 'globex:u1',
        resourceId: 'r1',
        type: 'view',
        occurredAt: NOW,
        context: { platform: 'web' },
      });
    } finally {
      await plain.close();
      await bound.close();
    }
  });

  it('publishes every kind keyed by userId (resourceId for the catalogue), resolving on ack; deleteResource is a tombstone', async () => {
    await Promise.all([
      publisher.publishInteraction({
        eventId: 'e1',
        userId: 'alice',
        resourceId: 'r1',
        type: 'view',
        occurredAt: NOW,
        context: { platform: 'web' },
      }),
      publisher.publishQuizAttempt({ eventId: 'q1', userId: 'alice', itemId: 'i1', correct: true, score: 0.8, occurredAt: NOW }),
      publisher.upsertResource({ resourceId: 'r1', title: 'Linear algebra', type: 'course', topics: ['math'] }),
      publisher.upsertProfile({ userId: 'alice', interests: ['math'], updatedAt: NOW }),
      publisher.requestErasure({ requestId: 'x1', userId: 'bob', requestedAt: NOW }),
    ]);
    await publisher.deleteResource('r1');
    expect(sent.every((s) => s.ok)).toBe(true);

    const des = new EventDeserializer(testRegistry(config), config.kafka.topicPrefix);
    const got: { topic: string; key: string; decoded: unknown }[] = [];
    const topics = (['interactions', 'quizAttempts', 'resources', 'profiles', 'erasures'] as const).map((k) =>
      topicName(k, config.kafka.topicPrefix),
    );
    consumer = kafka.consumer({ groupId: `${config.kafka.topicPrefix}pub` });
    await consumer.connect();
    await consumer.subscribe({ topics, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ topic, message }: { topic: string; message: KafkaMessage }) => {
        got.push({
          topic: topic.slice(config.kafka.topicPrefix.length),
          key: message.key!.toString(),
          decoded: await des.decode(topic, message.value, message.key),
        });
      },
    });
    await waitFor(() => got.length >= 8, { timeoutMs: 20_000, message: 'eight records consumed' });
    const by = (t: string) => got.filter((g) => g.topic === t);
    expect(
      by('learning.interactions')
        .map((g) => g.key)
        .sort(),
    ).toEqual(['alice', 'globex:u1']);
    expect(by('learning.interactions').filter((g) => g.key === 'alice')).toEqual([
      {
        topic: 'learning.interactions',
        key: 'alice',
        decoded: expect.objectContaining({
          event: 'LearningInteraction',
          value: expect.objectContaining({ eventId: 'e1', dwellMs: 0, value: null }),
        }),
      },
    ]);
    expect(by('learning.quiz-attempts')[0]).toMatchObject({ key: 'alice', decoded: { value: { attempt: 1, skills: [] } } });
    expect(by('catalog.resources').map((g) => [g.key, (g.decoded as { event: string | null }).event])).toEqual([
      ['r1', 'Resource'],
      ['r1', null],
    ]);
    expect(
      by('learners.profiles')
        .map((g) => g.key)
        .sort(),
    ).toEqual(['acme:dana', 'alice']);
    // only the admin publisher's erasure reached the topic
    expect(by('privacy.erasures')).toHaveLength(1);
    expect(by('privacy.erasures')[0]).toMatchObject({ key: 'bob', decoded: { value: { requestId: 'x1', reason: null } } });
  });

  it('close() flushes, is idempotent, and publishing afterwards rejects', async () => {
    const p = publisher.publishInteraction({
      eventId: 'late',
      userId: 'carol',
      resourceId: 'r2',
      type: 'click',
      occurredAt: NOW,
      context: { platform: 'web' },
    });
    await Promise.all([publisher.close(), publisher.close()]);
    await expect(p).resolves.toBeUndefined();
    await expect(
      publisher.publishInteraction({
        eventId: 'after',
        userId: 'carol',
        resourceId: 'r2',
        type: 'click',
        occurredAt: NOW,
        context: { platform: 'web' },
      }),
    ).rejects.toThrow(/closed/);
  });
});
