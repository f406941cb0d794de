/**
 * Freshness end to end against the real Kafka, registry and Redis (issue 5, acceptance 3): a click shows in the
 * learner's cached list within 1 s; a new resource reaches interested learners' lists with no interaction; a deleted
 * resource leaves every list within seconds; an erased learner has nothing left in Redis. The learner stage scores candidates on the
 * onnxruntime kernel here (pipeline.onnxMinWork 0: every scoring batch, however small, once the session is loaded),
 * and the test asserts that it ran (#18 item 5): no false pass on the JS fallback.
 */
import { dlqName, topicName } from '../../schemas/topics';
import type { Pipeline } from '../../pipelines/pipeline';
import { testConfig, waitFor } from '../helpers';
import { createHarness, type PipelineHarness } from '../pipeline-support/harness';
import { erasure, interaction, profile, resource } from '../pipeline-support/events';

jest.setTimeout(120_000);

describe('pipeline freshness (real stack)', () => {
  let h: PipelineHarness;
  let pipeline: Pipeline;
  const scored = { onnx: 0, js: 0, ivf: 0 };

  beforeAll(async () => {
    h = await createHarness(
      testConfig('pipe-fresh', {
        kafka: { partitions: 2 },
        pipeline: { rerankIntervalMs: 100, checkpointIntervalMs: 1000, topN: 20, onnxMinWork: 0 },
      }),
    );
    // the learner_candidate metric's source event, counted as Prometheus would
    h.instr.on('candidates.scored', (e) => void (scored[e.kernel] += e.learners));
    pipeline = await h.start(['learner', 'item', 'catalog']);
  });
  afterAll(async () => {
    await h?.close();
  });

  it('a click is reflected in the cached list within 1 s, new and deleted resources propagate, erasure leaves nothing', async () => {
    const topics = ['algebra', 'history', 'biology', 'music'];
    const catalogue = Array.from({ length: 40 }, (_, i) => resource(`r${i}`, [topics[i % 4]]));
    await h.publisher.publish([...catalogue, profile('L', ['algebra']), profile('M', ['music'])]);
    // Warm up: a few clicks by several learners so everything exists.
    await h.publisher.publish([interaction('L', 'r1'), interaction('M', 'r3'), interaction('N', 'r2')]);
    await waitFor(async () => (await h.store.getRecommendations('L'))?.items.length === 20, { message: 'L has a list', timeoutMs: 30000 });
    await waitFor(async () => (await h.store.getResources(['r39']))[0] !== null, { message: 'catalogue in store' });

    // 0. A malformed record on the learner's input goes to the dead-letter topic and does not stop the partition.
    const raw = h.kafka.producer();
    await raw.connect();
    await raw.send({
      topic: topicName('interactions', h.config.kafka.topicPrefix),
      messages: [{ key: 'L', value: Buffer.from('not avro at all') }],
    });
    await raw.disconnect();

    // The onnxruntime kernel scores the learner stage's candidates (loaded in the background at start; the first
    // lists may come from the JS kernel meanwhile): from now on every scoring call is onnx, none fell back to JS.
    await waitFor(() => pipeline.learner!.usesOnnx && scored.onnx > 0, { message: 'onnxruntime scored a batch', timeoutMs: 30000 });
    const jsBefore = scored.js;

    // 1. Click freshness: the list must stop recommending what L just clicked and carry the event time.
    const before = await h.store.getRecommendations('L');
    const target = before!.items[0].resourceId;
    const sent = Date.now();
    await h.publisher.publish([interaction('L', target)]);
    const fresh = await waitFor(
      async () => {
        const l = await h.store.getRecommendations('L');
        return l && l.generatedAt > before!.generatedAt && !l.items.some((i) => i.resourceId === target) ? l : undefined;
      },
      { intervalMs: 10, timeoutMs: 5000, message: 'list reflects the click' },
    );
    const latency = Date.now() - sent;
    // the click's re-rank ran on onnxruntime, not on the JS fallback (which would count js and drop usesOnnx)
    expect(scored.js).toBe(jsBefore);
    expect(pipeline.learner!.usesOnnx).toBe(true);
    expect(pipeline.learner!.scoredBy.onnx).toBe(scored.onnx);
    expect(latency).toBeLessThan(1000);
    expect(fresh.eventTime).toBeGreaterThanOrEqual(sent - 50);

    // 2. A new resource matching L's interests appears in L's list without any interaction.
    await h.publisher.publish([resource('new-algebra', ['algebra'])]);
    await waitFor(async () => (await h.store.getRecommendations('L'))?.items.some((i) => i.resourceId === 'new-algebra'), {
      message: 'new resource in L list',
      timeoutMs: 15000,
    });
    const newItem = (await h.store.getRecommendations('L'))!.items.find((i) => i.resourceId === 'new-algebra')!;
    expect(newItem.reasons.map((r) => r.code)).toContain('new-resource');
    // ... and not in M's (music) list top spots via interest
    const m = await h.store.getRecommendations('M');
    expect(m?.items.find((i) => i.resourceId === 'new-algebra')?.reasons.map((r) => r.code) ?? []).not.toContain('matches-interest');

    // 3. Deleting it removes it from every cached list within seconds.
    await h.publisher.deleteResource('new-algebra');
    await waitFor(async () => !(await h.store.getRecommendations('L'))?.items.some((i) => i.resourceId === 'new-algebra'), {
      message: 'deleted resource gone',
      timeoutMs: 10000,
    });

    // 4. Erasure: nothing about L is left in Redis.
    await h.publisher.publish([interaction('L', 'r5', 'complete'), erasure('L')]);
    await waitFor(async () => (await h.store.getRecommendations('L')) === null, { message: 'L list erased', timeoutMs: 10000 });
    await new Promise((r) => setTimeout(r, 500)); // a late re-rank would show up now
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, found] = await h.redis.scan(cursor, 'MATCH', `${h.config.redis.keyPrefix}*`, 'COUNT', 500);
      cursor = next;
      keys.push(...found);
    } while (cursor !== '0');
    const aboutL = keys.filter((k) => k.split(':').includes('L'));
    expect(aboutL).toEqual([]);
    expect(await h.store.getKnowledge('L')).toBeNull();
    expect(await h.store.getProfileInterests('L')).toBeNull();
    expect(await h.store.getRecommendations('M')).not.toBeNull();

    // The malformed record is in learning.interactions.dlq with its reason.
    const dlq = dlqName(topicName('interactions', h.config.kafka.topicPrefix));
    const consumer = h.kafka.consumer({ groupId: `${h.config.kafka.topicPrefix}dlq-check` });
    const reasons: string[] = [];
    await consumer.connect();
    await consumer.subscribe({ topic: dlq, fromBeginning: true });
    await consumer.run({
      eachMessage: ({ message }) => Promise.resolve(void reasons.push(String(message.headers?.['x-dlq-reason'] ?? ''))),
    });
    await waitFor(() => reasons.length > 0, { message: 'dead letter', timeoutMs: 15000 });
    await consumer.disconnect();
    expect(reasons).toEqual(['not-confluent-framed']);
  });
});
