/**
 * #17 item 1 on the real stack: 26 bytes of text written to model.item-updates, model.item-factors and
 * model.content-vectors stop nothing. The item stage and the learner's replica keep going (records written after the
 * poison are applied), each bad record is in `<topic>.dlq` with its original bytes and the reason in headers, counted
 * as a dead letter, and the process stays ready. A replica consumer that does crash reports why until it consumes
 * again.
 */
import type { Consumer, IHeaders, Producer } from 'kafkajs';
import { DLQ_HEADERS } from '../../consumers/dead-letter';
import { createLogger } from '../../lib/log';
import { dlqName, topicName } from '../../schemas/topics';
import type { Pipeline } from '../../pipelines/pipeline';
import { ReplicaConsumer } from '../../consumers/replica/consumer';
import { testConfig, waitFor } from '../helpers';
import { interaction, resource } from '../pipeline-support/events';
import { createHarness, type PipelineHarness } from '../pipeline-support/harness';

jest.setTimeout(120_000);

const TEXT = Buffer.from('this is not a valid record');

describe('poison on internal topics (real stack)', () => {
  let h: PipelineHarness;
  let pipeline: Pipeline;
  let producer: Producer;
  const readers: Consumer[] = [];
  const deadLetters: { topic: string; reason: string }[] = [];

  beforeAll(async () => {
    h = await createHarness(testConfig('int-poison', { kafka: { partitions: 2 }, pipeline: { rerankIntervalMs: 50, checkpointIntervalMs: 1000 } }));
    h.instr.on('deadLetter', (e) => deadLetters.push(e));
    pipeline = await h.start(['learner', 'item', 'catalog']);
    producer = h.kafka.producer();
    await producer.connect();
  }, 120_000);

  afterAll(async () => {
    for (const r of readers) await r.disconnect();
    await producer?.disconnect();
    await h?.close();
  });

  const topic = (k: 'itemUpdates' | 'itemFactors' | 'contentVectors') => topicName(k, h.config.kafka.topicPrefix);

  async function readDlq(t: string, n: number): Promise<{ key: string; value: Buffer | null; headers: IHeaders }[]> {
    const got: { key: string; value: Buffer | null; headers: IHeaders }[] = [];
    const reader = h.kafka.consumer({ groupId: `${h.config.kafka.topicPrefix}dlq-reader-${readers.length}` });
    readers.push(reader);
    await reader.connect();
    await reader.subscribe({ topics: [dlqName(t)], fromBeginning: true });
    await reader.run({ eachMessage: ({ message }) => Promise.resolve(void got.push({ key: String(message.key), value: message.value, headers: message.headers ?? {} })) });
    await waitFor(() => got.length >= n, { timeoutMs: 30_000, message: `${n} dead letter(s) on ${dlqName(t)}` });
    return got;
  }

  it('item stage and replicas dead-letter 26 bytes of text and go on applying later records', async () => {
    const replica = pipeline.replica!;
    await h.publisher.publish([resource('r-before', ['algebra']), interaction('L1', 'r-before')]);
    await waitFor(() => (replica.table.get('r-before')?.count ?? 0) >= 1, { timeoutMs: 30_000, message: 'r-before learned and replicated' });

    for (const k of ['itemUpdates', 'itemFactors', 'contentVectors'] as const) {
      await producer.send({ topic: topic(k), messages: [{ key: 'r-poison', value: TEXT, headers: { trace: 'poison-test' } }] });
    }
    // Valid records after the poison, through every stage: catalogue upsert -> item-updates -> item stage -> item-factors
    // -> replica, and a learner's gradient the same way.
    await h.publisher.publish([resource('r-after', ['algebra']), interaction('L2', 'r-after'), interaction('L1', 'r-after')]);
    await waitFor(() => (replica.table.get('r-after')?.count ?? 0) >= 2, { timeoutMs: 30_000, message: 'r-after learned by the item stage and replicated after the poison' });
    expect(pipeline.learner!.learner('L2')).toMatchObject({ interactions: 1 });
    expect(replica.table.has('r-poison')).toBe(false);

    const expected: [string, string][] = [[topic('itemUpdates'), 'internal-undecodable'], [topic('itemFactors'), 'internal-undecodable'], [topic('contentVectors'), 'internal-invalid']];
    for (const [t, reason] of expected) {
      const [letter] = await readDlq(t, 1);
      const header = (k: string) => letter.headers[k]?.toString();
      expect(letter.value).toEqual(TEXT);
      expect(letter.key).toBe('r-poison');
      expect([header(DLQ_HEADERS.reason), header(DLQ_HEADERS.topic), header('trace')]).toEqual([reason, t, 'poison-test']);
      expect(header(DLQ_HEADERS.message)).toMatch(/item-update record does not decode|item-factor row does not decode|content vector/);
      expect(deadLetters).toContainEqual({ topic: t, reason });
    }
    // Stages running, replicas following: the process is ready.
    expect(pipeline.readiness()).toEqual({ ready: true, reasons: [] });
  });

  it('a replica consumer that crashes reports why until it consumes again', async () => {
    let failing = true;
    let applied = 0;
    const rc = new ReplicaConsumer({
      kafka: h.kafka,
      topic: topic('itemFactors'),
      groupId: `${h.config.kafka.topicPrefix}crashing-replica`,
      logger: createLogger({ level: 'error' }),
      what: 'test replica',
      eachBatch: (b) => {
        if (failing) return Promise.reject(new Error('replica bug'));
        applied += b.messages.length;
        return Promise.resolve();
      },
    });
    // something to consume whatever ran before: a tombstone of an unknown key is a no-op for the pipeline's replica
    await producer.send({ topic: topic('itemFactors'), messages: [{ key: 'r-none', value: null }] });
    try {
      await rc.start();
      const down = await waitFor(() => (rc.health().ok ? undefined : rc.health()), { timeoutMs: 60_000, message: 'crash reported' });
      expect(down.reason).toMatch(/test replica consumer of .*model\.item-factors crashed .*replica bug/);
      failing = false;
      await waitFor(() => rc.health().ok, { timeoutMs: 60_000, message: 'healthy again after the restart' });
      expect(applied).toBeGreaterThan(0);
    } finally {
      await rc.stop();
    }
  });
});
