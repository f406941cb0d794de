/**
 * State in Kafka (issue 17, items 7 and 8): a pipeline stage process with `--state kafka` (the default) checkpoints into
 * the compacted changelog topic (consumers/state/changelog.ts, one transaction per checkpoint, only changed rows
 * rewritten: learners, knowledge, the --sync item table); it
 * is killed with SIGKILL half-way through the stream and a new instance starts with an EMPTY state dir. The new one
 * restores from Kafka alone and finishes: per-learner exact counts equal the true ones (nothing lost, nothing applied
 * twice), and no checkpoint file was ever written. Poison on the changelog before the restore (text under the group's
 * head, a learner's key and a chunk of the non-row state: any text is a valid chunk, only the head's hash of it tells)
 * is dead-lettered and the last checkpoint's values are restored: the counts stay exact.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Config } from '../../lib/config';
import { ensureTopics } from '../../lib/kafka/topics';
import type { LearnerGroupJSON } from '../../pipelines/learner/state';
import { KafkaChangelogStore } from '../../consumers/state/changelog';
import { DLQ_HEADERS } from '../../consumers/dead-letter';
import { dlqName } from '../../schemas/topics';
import type { KindedEvent } from '../../schemas';
import { deleteKeys, testConfig, testKafka, testRedis, testRegistry, waitFor } from '../helpers';
import { eventsConsumed, freePort, StageProcess, stageEnv } from '../pipeline-support/procs';
import { TestPublisher } from '../pipeline-support/publish';

jest.setTimeout(300_000);

const N = 4000;
const LEARNERS = 50;

describe('learner state in a Kafka changelog: kill -9, new instance with an empty state dir', () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ls-changelog-'));
  const procs: StageProcess[] = [];
  let config: Config | undefined;
  let reader: KafkaChangelogStore | undefined;
  afterAll(async () => {
    for (const p of procs) if (p.running) await p.kill9();
    await reader?.close();
    if (config) {
      const redis = testRedis(config);
      await deleteKeys(redis, config.redis.keyPrefix);
      redis.disconnect();
    }
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('restores from the changelog alone and ends with exact counts', async () => {
    config = testConfig('changelog', { kafka: { partitions: 1 } });
    const cfg = config;
    const kafka = testKafka(cfg, 'changelog');
    const admin = kafka.admin();
    await admin.connect();
    await ensureTopics(admin, cfg);
    await admin.disconnect();
    // Every 7th event a quiz attempt (on the same resource), so the knowledge model's per-learner records (k/<id>)
    // are checkpointed and restored too.
    const isQuiz = (i: number) => i % 7 === 3;
    const events: KindedEvent[] = Array.from({ length: N }, (_, i): KindedEvent =>
      isQuiz(i)
        ? {
            kind: 'quizAttempt',
            event: {
              eventId: `cl-${i}`,
              userId: `cl-u${i % LEARNERS}`,
              itemId: `cl-r${i % 70}-q1`,
              resourceId: `cl-r${i % 70}`,
              skills: [`s${i % 5}`],
              correct: i % 3 === 0,
              score: null,
              attempt: 1,
              responseTimeMs: 5000,
              occurredAt: Date.now() - (N - i) * 10,
            },
          }
        : {
            kind: 'interaction',
            event: {
              eventId: `cl-${i}`,
              userId: `cl-u${i % LEARNERS}`,
              resourceId: `cl-r${i % 70}`,
              type: i % 4 === 0 ? 'complete' : 'click',
              value: null,
              dwellMs: 1000,
              occurredAt: Date.now() - (N - i) * 10,
              context: { platform: 'test', device: null, session: null },
              review: false,
              recommId: null,
            },
          },
    );
    const want = new Map<string, { n: number; q: number }>();
    events.forEach((_, i) => {
      const w = want.get(`cl-u${i % LEARNERS}`) ?? { n: 0, q: 0 };
      if (isQuiz(i)) w.q++;
      else w.n++;
      want.set(`cl-u${i % LEARNERS}`, w);
    });
    const pub = new TestPublisher(cfg, kafka, testRegistry(cfg));
    // first half now; the second while the first instance runs, so the kill lands mid-stream
    await pub.publish(events.slice(0, N / 2));

    const run = (name: string, checkpointMs: number) => {
      const dir = path.join(work, name);
      const port = freePort();
      const env = stageEnv(cfg, {
        LEARNSTREAM_METRICS_PORT: String(port),
        LEARNSTREAM_CHECKPOINT_INTERVAL_MS: String(checkpointMs),
        LEARNSTREAM_TOP_N: '10',
        LEARNSTREAM_RERANK_INTERVAL_MS: '2000',
      });
      const p = new StageProcess(name, ['--stage', 'all', '--sync', '--no-encoder', '--state', 'kafka', '--state-dir', dir], env, work);
      procs.push(p);
      return { p, dir, port };
    };
    // The first instance checkpoints every 3 s: the kill (within ~1.6 s of its first checkpoint: seen within 250 ms,
    // the second half published, 0.3-1 s) lands before a checkpoint can hold the second half, however fast the
    // machine consumes it.
    const first = run('first', 3000);
    first.p.start();
    reader = new KafkaChangelogStore({
      kafka,
      topic: `${cfg.kafka.topicPrefix}learnstream.state-changelog`,
      partitions: 1,
      transactionalPrefix: `${cfg.kafka.topicPrefix}test-reader-`,
      deadLetters: false,
    });
    const applied = async () => {
      const cp = await reader!.get<LearnerGroupJSON>('learner', 0).catch(() => null);
      return cp ? cp.state.learners.reduce((s, [, l]) => s + l.n + l.q, 0) : 0;
    };
    // at least one changelog checkpoint before the kill, so the new instance has something to restore
    await waitFor(async () => (await applied()) > 0 || (!first.p.running && Promise.reject(new Error(first.p.log()))), {
      timeoutMs: 60_000,
      intervalMs: 250,
      message: `a changelog checkpoint of the first instance\n${first.p.log().slice(-3000)}`,
    });
    await pub.publish(events.slice(N / 2));
    await pub.close();
    await new Promise((r) => setTimeout(r, 300 + Math.random() * 700));
    const atKill = await eventsConsumed(first.port);
    await first.p.kill9();
    const restorable = await applied();
    expect(restorable).toBeGreaterThan(0);
    expect(restorable).toBeLessThan(N);

    // Poison on the changelog before the new instance restores: text under the group's head, under a learner's key
    // and under the first chunk of the non-row state (a crash loop before the chunks were hashed: the joined chunks
    // did not parse), and text under a key of no group. The restore dead-letters the first three and keeps what the
    // last checkpoint wrote under those keys; the fourth is not read.
    const changelogTopic = `${cfg.kafka.topicPrefix}learnstream.state-changelog`;
    const poison = kafka.producer();
    await poison.connect();
    const TEXT = Buffer.from('this is not a valid record');
    await poison.send({
      topic: changelogTopic,
      messages: [
        { key: 'learner/0/head', value: TEXT, partition: 0 },
        { key: 'learner/0/l/cl-u3', value: TEXT, partition: 0 },
        { key: 'learner/0/m/0', value: TEXT, partition: 0 },
        { key: 'not-a-group-key', value: TEXT, partition: 0 },
      ],
    });
    await poison.disconnect();

    const second = run('second', 1000);
    const t0 = Date.now();
    second.p.start();
    await waitFor(async () => (await applied()) >= N || (!second.p.running && Promise.reject(new Error(second.p.log()))), {
      timeoutMs: 180_000,
      intervalMs: 2000,
      message: 'second instance finished the stream',
    });
    const seconds = (Date.now() - t0) / 1000;
    expect(await second.p.stop()).toBe(0);
    const cp = (await reader.get<LearnerGroupJSON>('learner', 0))!;
    const counts = new Map(cp.state.learners.map(([id, l]) => [id, { n: l.n, q: l.q }]));
    expect(counts.size).toBe(LEARNERS);
    for (let u = 0; u < LEARNERS; u++) expect([u, counts.get(`cl-u${u}`)]).toEqual([u, want.get(`cl-u${u}`)]);
    // The knowledge model's per-learner beliefs came back through their own records: every quizzing learner is there.
    const quizzers = [...want]
      .filter(([, w]) => w.q > 0)
      .map(([u]) => u)
      .sort();
    expect(cp.state.knowledge.learners.map(([u]) => u).sort()).toEqual(quizzers);
    // Exactly the three poison records under the group's keys are in the changelog's dead-letter topic.
    const letters: { key: string; reason: string; value: string }[] = [];
    const dlqReader = kafka.consumer({ groupId: `${cfg.kafka.topicPrefix}changelog-dlq-reader` });
    await dlqReader.connect();
    try {
      await dlqReader.subscribe({ topics: [dlqName(changelogTopic)], fromBeginning: true });
      await dlqReader.run({
        eachMessage: ({ message }) =>
          Promise.resolve(
            void letters.push({
              key: String(message.key),
              reason: String(message.headers?.[DLQ_HEADERS.reason]),
              value: String(message.value),
            }),
          ),
      });
      await waitFor(() => letters.length >= 3, { timeoutMs: 30_000, message: 'changelog dead letters' });
      await new Promise((r) => setTimeout(r, 500));
    } finally {
      await dlqReader.disconnect();
    }
    // once per restore of the group (the new instance's; again after a rebalance)
    const unique = [...new Map(letters.map((l) => [l.key, l])).values()];
    expect(unique.sort((a, b) => (a.key < b.key ? -1 : 1))).toEqual([
      { key: 'learner/0/head', reason: 'changelog-undecodable', value: TEXT.toString() },
      { key: 'learner/0/l/cl-u3', reason: 'changelog-undecodable', value: TEXT.toString() },
      { key: 'learner/0/m/0', reason: 'changelog-undecodable', value: TEXT.toString() },
    ]);
    // The stage's consumer group committed exactly the offsets of the last checkpoint, in its transaction (sendOffsets).
    const groupAdmin = kafka.admin();
    await groupAdmin.connect();
    const committed: Record<string, string> = {};
    try {
      const inputs = Object.keys(cp.offsets).map((k) => k.slice(0, k.lastIndexOf(':')));
      await waitFor(
        async () => {
          for (const t of await groupAdmin.fetchOffsets({
            groupId: `${cfg.kafka.topicPrefix}learnstream-learner-sync`,
            topics: [...new Set(inputs)],
          })) {
            for (const p of t.partitions) if (`${t.topic}:${p.partition}` in cp.offsets) committed[`${t.topic}:${p.partition}`] = p.offset;
          }
          return Object.keys(cp.offsets).every((k) => committed[k] === cp.offsets[k]);
        },
        {
          timeoutMs: 10_000,
          intervalMs: 200,
          message: `group offsets equal to the checkpoint's ${JSON.stringify(cp.offsets)}: ${JSON.stringify(committed)}`,
        },
      );
    } finally {
      await groupAdmin.disconnect();
    }
    // state only ever lived in Kafka: neither instance wrote a checkpoint file
    for (const dir of [first.dir, second.dir]) expect(fs.existsSync(path.join(dir, 'learner', 'group-0.json'))).toBe(false);
    const r = reader.restored.get('learner/0');
    process.stdout.write(
      `first instance killed at ${atKill} of ${N} consumed (${restorable} in its last changelog checkpoint); second (empty state dir) finished in ${seconds.toFixed(1)} s; changelog restore by the test reader: ${r?.records} records in ${r?.seconds.toFixed(2)} s; ${counts.size} learners with exact counts; group offsets = checkpoint offsets ${JSON.stringify(committed)}; changelog dead letters ${letters.length} (${unique.map((l) => l.key).join(', ')})\n`,
    );
  });
});
