/**
 * The read API on top of the running pipeline, against the real Kafka, registry and Redis: a learner's
 * recommendations change after their events, a brand-new learner gets a labelled fallback, filters and explain work on
 * pipeline-written lists, and DELETE publishes a real ErasureRequest that the pipeline acts on. Every response is
 * validated against the OpenAPI document.
 */
import { Registry } from 'prom-client';
import { startApi, type RunningApi } from '../../api/server';
import { lazyPublisher } from '../../api/wiring';
import { createLogger } from '../../lib/log';
import { topicName } from '../../schemas/topics';
import { createCollectorRouter } from '../../producers/collector';
import { ADMIN_GRANT } from '../../producers/authorize';
import { Publisher } from '../../producers/publisher';
import { testConfig, testRegistry, waitFor } from '../helpers';
import type { Pipeline } from '../../pipelines/pipeline';
import { createHarness, type PipelineHarness } from '../pipeline-support/harness';
import { interaction, profile, resource } from '../pipeline-support/events';
import { apiClient } from '../unit/api-client';

// testTimeout in a jest project config is ignored (it is a global option): set it here for the real services.
jest.setTimeout(120_000);

const TYPES = ['video', 'article', 'quiz'] as const;
const TOPICS = ['algebra', 'history', 'biology', 'music'];

describe('read API over the live pipeline (real stack)', () => {
  let h: PipelineHarness;
  let pipeline: Pipeline;
  let api: RunningApi;
  let erasures: ReturnType<typeof lazyPublisher>;
  let call: ReturnType<typeof apiClient>;

  beforeAll(async () => {
    h = await createHarness(
      testConfig('api-pipe', { kafka: { partitions: 2 }, pipeline: { rerankIntervalMs: 50, checkpointIntervalMs: 1000, topN: 30 } }),
    );
    pipeline = await h.start(['learner', 'item', 'catalog']);
    erasures = lazyPublisher(() =>
      Publisher.create({ kafka: h.kafka, registry: testRegistry(h.config), topicPrefix: h.config.kafka.topicPrefix, grant: ADMIN_GRANT }),
    );
    const logger = createLogger({ level: 'error' });
    const eventsRouter = createCollectorRouter({ publisher: erasures, logger });
    api = await startApi({
      config: h.config,
      store: h.store,
      registry: new Registry(),
      port: 0,
      logger,
      publishErasure: erasures.publishErasure,
      eventsRouter,
      health: { redis: () => h.store.ping() },
    });
    call = apiClient(`http://127.0.0.1:${api.port}`, 'dev-read-key');
    const catalogue = Array.from({ length: 36 }, (_, i) =>
      resource(`r${i}`, [TOPICS[i % 4]], { type: TYPES[i % 3], skills: [`skill-${i % 5}`] }),
    );
    await h.publisher.publish([...catalogue, profile('L', ['algebra'])]);
    // Some traffic from other learners so popularity exists.
    await h.publisher.publish([
      interaction('A', 'r1'),
      interaction('A', 'r2'),
      interaction('B', 'r2'),
      interaction('C', 'r3'),
      interaction('C', 'r2'),
    ]);
    await waitFor(async () => (await h.store.getResources(['r35']))[0] !== null, { message: 'catalogue in Redis', timeoutMs: 30_000 });
    await waitFor(async () => (await h.store.getPopular(1)).length > 0, { message: 'popularity in Redis', timeoutMs: 30_000 });
  }, 120_000);

  afterAll(async () => {
    await api?.stop();
    await erasures?.close();
    await h?.close();
  });

  it('gives a brand-new learner a labelled fallback from real popularity', async () => {
    const r = await call('GET', '/v1/learners/never-seen-before/recommendations?limit=3&explain=true');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ source: 'popular', fallback: true, modelVersion: null });
    expect(r.body.items.length).toBeGreaterThan(0);
    expect(r.body.items[0]).toMatchObject({ resourceId: 'r2', source: 'popular', reasons: [{ code: 'popular' }] });
  });

  it("a learner's recommendations change after their events", async () => {
    await h.publisher.publish([interaction('L', 'r4'), interaction('L', 'r8')]);
    const first = await waitFor(
      async () => {
        const r = await call('GET', '/v1/learners/L/recommendations?limit=10&explain=true');
        return r.body.source === 'personal' ? r : undefined;
      },
      { message: 'L has a personal list', timeoutMs: 30_000 },
    );
    expect(first.body.fallback).toBe(false);
    expect(first.body.items.every((i: { reasons: unknown[] }) => i.reasons.length > 0)).toBe(true);
    const top = first.body.items[0].resourceId as string;

    // L completes the top recommendation, reported through the API's POST /v1/events (collector, scope write):
    // it must leave the list, and the list must be newer.
    const completion = { kind: 'interaction', ...interaction('L', top, 'complete').event };
    expect((await call('POST', '/v1/events', { body: [completion] })).status).toBe(403);
    const posted = await call('POST', '/v1/events', { key: 'dev-write-key', body: [completion, { kind: 'interaction', userId: 'L' }] });
    expect(posted.status).toBe(202);
    expect(posted.body).toMatchObject({ accepted: 1, rejected: 1, errors: [{ index: 1, reason: 'invalid-event' }] });
    const after = await waitFor(
      async () => {
        const r = await call('GET', '/v1/learners/L/recommendations?limit=10&explain=true');
        return r.body.generatedAt > first.body.generatedAt && !r.body.items.some((i: { resourceId: string }) => i.resourceId === top)
          ? r
          : undefined;
      },
      { message: 'L list reflects the completion', timeoutMs: 15_000 },
    );
    expect(after.body.items.map((i: { resourceId: string }) => i.resourceId)).not.toEqual(
      first.body.items.map((i: { resourceId: string }) => i.resourceId),
    );
  });

  it('a batch of five identical quiz attempts, posted twice, counts as one attempt (exactly-once per eventId)', async () => {
    const attempt = (eventId: string, skill: string) => ({
      kind: 'quizAttempt',
      eventId,
      userId: 'Q',
      itemId: `${skill}-q1`,
      resourceId: 'r5',
      skills: [skill],
      correct: true,
      score: null,
      attempt: 1,
      responseTimeMs: 4000,
      occurredAt: Date.now(),
    });
    const batch = Array.from({ length: 5 }, () => attempt('quiz-retried-1', 'fractions'));
    for (let k = 0; k < 2; k++) {
      const posted = await call('POST', '/v1/events', { key: 'dev-write-key', body: batch });
      expect(posted.status).toBe(202);
      expect(posted.body).toMatchObject({ accepted: 5, rejected: 0 });
    }
    // A later attempt with its own eventId, on the same partition: once it shows, every copy before it was consumed.
    expect((await call('POST', '/v1/events', { key: 'dev-write-key', body: [attempt('quiz-marker-1', 'decimals')] })).status).toBe(202);
    const knowledge = await waitFor(
      async () => {
        const r = await call('GET', '/v1/learners/Q/knowledge');
        return r.status === 200 && r.body.skills.some((x: { skill: string }) => x.skill === 'decimals') ? r : undefined;
      },
      { message: 'Q knowledge with the marker attempt', timeoutMs: 30_000 },
    );
    const bySkill = Object.fromEntries(knowledge.body.skills.map((x: { skill: string; attempts: number }) => [x.skill, x.attempts]));
    expect(bySkill).toEqual({ fractions: 1, decimals: 1 });
    expect(pipeline.learner?.learner('Q')).toMatchObject({ quizzes: 2 });
  });

  it('filters and explain work on pipeline-written lists', async () => {
    const videos = await call('GET', '/v1/learners/L/recommendations?type=video&limit=5');
    expect(videos.body.items.length).toBeGreaterThan(0);
    expect(videos.body.items.every((i: { type: string; score?: number }) => i.type === 'video' && i.score === undefined)).toBe(true);
    const skill = await call('GET', '/v1/learners/L/recommendations?skill=skill-2&limit=5&explain=true');
    expect(
      skill.body.items.every((i: { skills: string[]; reasons: unknown[] }) => i.skills.includes('skill-2') && i.reasons.length > 0),
    ).toBe(true);
    const similar = await call('GET', '/v1/resources/r4/similar?limit=3');
    expect(similar.status).toBe(200);
  });

  it('DELETE publishes a real ErasureRequest to privacy.erasures, keyed by the learner', async () => {
    const r = await call('DELETE', '/v1/learners/L?reason=test', { key: 'dev-admin-key' });
    expect(r.status).toBe(202);
    const consumer = h.kafka.consumer({ groupId: `${h.config.kafka.topicPrefix}api-erasure-check` });
    const seen: { key: string; value: Buffer }[] = [];
    try {
      await consumer.connect();
      await consumer.subscribe({ topic: topicName('erasures', h.config.kafka.topicPrefix), fromBeginning: true });
      await consumer.run({
        eachMessage: ({ message }) => Promise.resolve(void seen.push({ key: String(message.key), value: message.value! })),
      });
      // Confluent wire format: magic byte 0, schema id, then Avro (strings are length-prefixed UTF-8).
      const msg = await waitFor(() => seen.find((m) => m.key === 'L' && m.value.includes(Buffer.from(r.body.requestId as string))), {
        message: 'erasure request on Kafka',
        timeoutMs: 15_000,
      });
      expect(msg.value[0]).toBe(0);
    } finally {
      await consumer.disconnect();
    }
    const recs = await call('GET', '/v1/learners/L/recommendations');
    expect(recs.body.fallback).toBe(true);
  });
});
