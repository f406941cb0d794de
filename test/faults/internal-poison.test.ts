/**
 * Poison on the internal topics under steady load (issue 17, items 1 and 8), on the real stack: 26 bytes of text, and
 * JSON that is not one of the pipeline's records, written to model.item-updates, model.item-factors and
 * model.content-vectors while learners keep sending events. Nothing stops: the item stage and the learner's replicas
 * dead-letter each bad record (`<topic>.dlq`, original bytes, the reason in headers, counted) and go on applying, the
 * process stays ready, and the end state is the one an uninterrupted run of the same input holds:
 * - every learner's exact counts, history (distinct resources in order of last engagement) and completed set as the
 *   events sent make them: nothing skipped, nothing applied twice;
 * - every resource's count in the item stage's replicated table equal to the events sent for it (the item stage
 *   applied every gradient once, the poison none);
 * - popularity in the serving store equal to the positive events sent per resource;
 * - exactly the poison records dead-lettered, no valid record.
 * A replica consumer that does crash reports why until it consumes again.
 */
import type { Consumer, IHeaders, Producer } from 'kafkajs';
import { DLQ_HEADERS } from '../../consumers/dead-letter';
import { createLogger } from '../../lib/log';
import { dlqName, topicName } from '../../schemas/topics';
import type { KindedEvent } from '../../schemas';
import type { Pipeline } from '../../pipelines/pipeline';
import { ReplicaConsumer } from '../../consumers/replica/consumer';
import { testConfig, waitFor } from '../helpers';
import { interaction, resource } from '../pipeline-support/events';
import { createHarness, type PipelineHarness } from '../pipeline-support/harness';

jest.setTimeout(180_000);

const TEXT = Buffer.from('this is not a valid record');
const NOT_OURS = Buffer.from(JSON.stringify({ hello: 'world', n: [1, 2, 3] }));
const RESOURCES = Array.from({ length: 10 }, (_, i) => `pz-r${i}`);
const LEARNERS = Array.from({ length: 60 }, (_, i) => `pz-u${i}`);

describe('poison on internal topics under load (real stack)', () => {
  let h: PipelineHarness;
  let pipeline: Pipeline;
  let producer: Producer;
  const readers: Consumer[] = [];
  const deadLetters: { topic: string; reason: string }[] = [];

  beforeAll(async () => {
    h = await createHarness(
      testConfig('flt-poison', { kafka: { partitions: 2 }, pipeline: { rerankIntervalMs: 50, checkpointIntervalMs: 1000 } }),
    );
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
    await reader.run({
      eachMessage: ({ message }) =>
        Promise.resolve(void got.push({ key: String(message.key), value: message.value, headers: message.headers ?? {} })),
    });
    await waitFor(() => got.length >= n, { timeoutMs: 30_000, message: `${n} dead letter(s) on ${dlqName(t)}` });
    return got; // no more than n: the deadLetter events say so
  }

  it('dead-letters every bad record and ends with the state of an uninterrupted run', async () => {
    const replica = pipeline.replica!;
    const p = pipeline.learner!;
    // What was sent, per learner in order (one partition each): the uninterrupted run's end state follows from it.
    const sent = new Map<string, { id: string; complete: boolean }[]>();
    const publish = async (events: KindedEvent[]) => {
      await h.publisher.publish(events);
      for (const e of events)
        if (e.kind === 'interaction')
          sent.set(e.event.userId, [
            ...(sent.get(e.event.userId) ?? []),
            { id: e.event.resourceId, complete: e.event.type === 'complete' },
          ]);
    };
    await h.publisher.publish(RESOURCES.map((id, i) => resource(id, [i % 2 ? 'algebra' : 'biology'])));
    await publish(LEARNERS.map((u, i) => interaction(u, RESOURCES[i % RESOURCES.length])));
    await waitFor(() => RESOURCES.every((id) => replica.table.has(id)), { timeoutMs: 30_000, message: 'catalogue replicated' });

    // Steady load: 20 events every 200 ms over every learner and resource, some completions.
    let loading = true;
    let n = 0;
    const load = (async () => {
      while (loading) {
        const batch = Array.from({ length: 20 }, (_, k) => {
          const i = n + k;
          return interaction(LEARNERS[i % LEARNERS.length], RESOURCES[(i * 7) % RESOURCES.length], i % 9 === 0 ? 'complete' : 'click');
        });
        await publish(batch);
        n += batch.length;
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
    await new Promise((r) => setTimeout(r, 1000));
    for (const k of ['itemUpdates', 'itemFactors', 'contentVectors'] as const) {
      await producer.send({ topic: topic(k), messages: [{ key: 'pz-poison', value: TEXT, headers: { trace: 'poison-test' } }] });
      await new Promise((r) => setTimeout(r, 300));
      await producer.send({ topic: topic(k), messages: [{ key: 'pz-poison-json', value: NOT_OURS, headers: { trace: 'poison-test' } }] });
    }
    // A resource created after the poison goes through every stage: catalogue -> item-updates -> item stage ->
    // item-factors -> replica.
    await publish([resource('pz-after', ['algebra']), interaction(LEARNERS[0], 'pz-after'), interaction(LEARNERS[1], 'pz-after')]);
    await new Promise((r) => setTimeout(r, 1000));
    loading = false;
    await load;
    process.stdout.write(`poison: 6 bad records among ${n + LEARNERS.length + 2} events of load\n`);

    // Every learner: exact counts, history and completed as the events sent make them.
    const expected = (u: string) => {
      const history: string[] = [];
      const completed: string[] = [];
      for (const e of sent.get(u)!) {
        for (const list of e.complete ? [history, completed] : [history]) {
          const at = list.indexOf(e.id);
          if (at >= 0) list.splice(at, 1);
          list.push(e.id);
        }
      }
      return { interactions: sent.get(u)!.length, history, completed };
    };
    await waitFor(() => [...sent.keys()].every((u) => p.learner(u)?.interactions === sent.get(u)!.length), {
      timeoutMs: 60_000,
      intervalMs: 200,
      message: 'every event sent applied',
    });
    await new Promise((r) => setTimeout(r, 1500)); // anything applied twice would show now
    for (const u of sent.keys()) {
      const l = p.learner(u)!;
      expect({ u, interactions: l.interactions, history: l.history, completed: l.completed }).toEqual({ u, ...expected(u) });
    }
    // Every resource: the item stage applied each event's gradient once (count in the replicated table).
    const perResource = new Map<string, number>();
    for (const evs of sent.values()) for (const e of evs) perResource.set(e.id, (perResource.get(e.id) ?? 0) + 1);
    // (the 1.5 s above also let a gradient applied twice reach the replica)
    await waitFor(() => [...perResource].every(([id, c]) => replica.table.get(id)?.count === c), {
      timeoutMs: 60_000,
      intervalMs: 200,
      message: 'item counts replicated',
    });
    for (const [id, c] of perResource) expect([id, replica.table.get(id)?.count]).toEqual([id, c]);
    expect(replica.table.has('pz-poison')).toBe(false);
    expect(replica.table.has('pz-poison-json')).toBe(false);
    // Popularity as the events sent make it (all of them positive; 7-day decay over a minute is < 0.01 %).
    await p.flushDerived();
    const served = new Map((await h.store.getPopular(100)).map((x) => [x.resourceId, x.score]));
    let popDev = 0;
    for (const [id, c] of perResource) popDev = Math.max(popDev, Math.abs((served.get(id) ?? 0) - c) / c);
    expect(popDev).toBeLessThan(0.001);

    // Exactly the six poison records dead-lettered, with their bytes and reasons.
    for (const k of ['itemUpdates', 'itemFactors', 'contentVectors'] as const) {
      const t = topic(k);
      const letters = await readDlq(t, 2);
      expect(letters.map((l) => l.key).sort()).toEqual(['pz-poison', 'pz-poison-json']);
      for (const letter of letters) {
        const header = (x: string) => letter.headers[x]?.toString();
        expect(letter.value).toEqual(letter.key === 'pz-poison' ? TEXT : NOT_OURS);
        expect([header(DLQ_HEADERS.topic), header('trace')]).toEqual([t, 'poison-test']);
        expect(header(DLQ_HEADERS.reason)).toMatch(/^internal-(undecodable|invalid)$/);
        expect(header(DLQ_HEADERS.message)).toMatch(
          /item-update record does not decode|item-factor row does not decode|content vector|item-update|item-factor/,
        );
      }
    }
    expect(deadLetters.length).toBe(6);
    expect(deadLetters.every((d) => /model\.(item-updates|item-factors|content-vectors)$/.test(d.topic))).toBe(true);
    process.stdout.write(
      `end state: ${sent.size} learners exact (counts, history, completed), ${perResource.size} resources' item counts exact, popularity max relative diff ${(popDev * 100).toFixed(3)}%, dead letters ${deadLetters.map((d) => `${d.topic.split('.').pop()}:${d.reason}`).join(', ')}\n`,
    );
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
