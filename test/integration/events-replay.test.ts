/**
 * Acceptance 1 of issue 3: replaying movielens-latest-small through the real CLI puts all 100,836 ratings into Kafka
 * (real broker, real registry), a consumer counts them back exactly once each, in time order per user, and the CLI
 * prints its throughput. Also: the CLI end to end on the first 2,000 events of OULAD, EdNet and Statics (what Kafka
 * holds equals what was acknowledged), and replay's own validation (a bad row is counted with its reason, never sent).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import type { Admin, Consumer, Kafka } from 'kafkajs';
import type { Config } from '../../lib/config';
import { DEFAULT_DATASET_DIRS, type Dataset, type DatasetName } from '../../producers/datasets';
import { plannedTopics } from '../../lib/kafka/topics';
import { topicName, type TopicKey } from '../../schemas/topics';
import { createDecodeStep } from '../../consumers/decode/step';
import { Publisher } from '../../producers/publisher';
import { replay } from '../../producers/replay/replay';
import type { EventName, LearningInteraction, Resource } from '../../schemas';
import { closeKafkaWorld, testConfig, testKafka, testRegistry, waitFor, openKafkaWorld, type KafkaWorld } from '../helpers';

const ROOT = path.join(__dirname, '..', '..');

/** Runs the real replay CLI (tsx, as `npm run replay` does) against the topics of `prefix`. */
function runCli(args: string[], prefix: string): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [require.resolve('tsx/cli'), path.join(ROOT, 'producers', 'replay', 'cli.ts'), ...args],
      {
        cwd: ROOT,
        env: { ...process.env, LEARNSTREAM_KAFKA_TOPIC_PREFIX: prefix, LEARNSTREAM_LOG_LEVEL: 'warn' },
        maxBuffer: 16 * 1024 * 1024,
      },
      (err, out, errOut) => (err ? reject(new Error(`${err.message}\n${out}\n${errOut}`)) : resolve({ stdout: out, stderr: errOut })),
    );
  });
}

/**
 * Records written to `topics` (sum of high watermarks; every topic here starts empty). A partition nothing was
 * produced to yet can answer NOT_LEADER for a moment after creation (kafkajs does not retry it here): retry that.
 */
async function written(admin: Admin, topics: string[]): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    try {
      let n = 0;
      for (const t of topics) for (const p of await admin.fetchTopicOffsets(t)) n += Number(p.high);
      return n;
    } catch (err) {
      if ((err as { retriable?: boolean }).retriable !== true || attempt >= 20) throw err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}
const haveData = existsSync(path.join(DEFAULT_DATASET_DIRS.movielens, 'ratings.csv'));
if (!haveData) console.warn(`skipping events-replay: ${DEFAULT_DATASET_DIRS.movielens} is absent`);

(haveData ? describe : describe.skip)('replay movielens-latest-small into Kafka', () => {
  let config: Config;
  let kafka: Kafka;
  let admin: Admin;
  let world: KafkaWorld | undefined;
  let consumer: Consumer | undefined;

  beforeAll(async () => {
    world = await openKafkaWorld('ev-replay', { schemas: false });
    ({ config, kafka, admin } = world);
  }, 30_000);

  afterAll(async () => {
    await consumer?.disconnect();
    await closeKafkaWorld(world);
  }, 30_000);

  it('publishes all 100,836 ratings, which a consumer counts back exactly, in per-user time order', async () => {
    const { stdout, stderr } = await runCli(['--dataset', 'movielens', '--path', DEFAULT_DATASET_DIRS.movielens], config.kafka.topicPrefix);
    const summary = JSON.parse(stdout.trim().split('\n').pop()!);
    expect(summary).toMatchObject({ dataset: 'movielens', events: 100_836, resources: 9742, acked: 110_578, failed: 0, invalid: 0 });
    expect(stdout).toMatch(/records\/s/);
    expect(stderr).toMatch(/ETA/);
    console.log(stdout.split('\n')[0]);

    const topic = topicName('interactions', config.kafka.topicPrefix);
    const decode = createDecodeStep({
      registry: testRegistry(config),
      topicPrefix: config.kafka.topicPrefix,
      sink: { send: () => Promise.reject(new Error('no poison expected')) },
    });
    const seen = new Set<string>();
    const lastTime = new Map<string, number>();
    let messages = 0;
    let outOfOrder = 0;
    let duplicates = 0;
    let notDecoded = 0;
    consumer = kafka.consumer({ groupId: `${config.kafka.topicPrefix}count`, maxBytes: 10 * 1024 * 1024 });
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) {
          messages++;
          const d = await decode(batch.topic, batch.partition, m);
          if (!d || d.event !== 'LearningInteraction') {
            notDecoded++;
            continue;
          }
          const e = d.value;
          if (seen.has(e.eventId)) duplicates++;
          seen.add(e.eventId);
          if (e.occurredAt < (lastTime.get(e.userId) ?? -Infinity)) outOfOrder++;
          lastTime.set(e.userId, e.occurredAt);
        }
      },
    });
    await waitFor(() => messages >= 100_836, { timeoutMs: 60_000, message: 'all ratings consumed' });
    // High watermarks = records written: exactly the ratings, so nothing was written twice (a duplicate would also be counted).
    const offsets = await admin.fetchTopicOffsets(topic);
    expect(offsets.reduce((n, p) => n + Number(p.high), 0)).toBe(100_836);
    expect({ messages, distinct: seen.size, duplicates, outOfOrder, notDecoded, users: lastTime.size }).toEqual({
      messages: 100_836,
      distinct: 100_836,
      duplicates: 0,
      outOfOrder: 0,
      notDecoded: 0,
      users: 610,
    });
  }, 120_000);
});

/**
 * The CLI end to end on the other three datasets, cut to their first 2,000 events in time order (the catalogue is
 * small and goes too, so resource mapping is covered as well): nothing invalid or failed, and a consumer reads back
 * from Kafka exactly as many records as the broker acknowledged, each decoding as the event of its topic.
 */
describe('replay CLI on the first 2,000 events of oulad, ednet and statics', () => {
  const LIMIT = 2000;
  const NAMES = ['oulad', 'ednet', 'statics'] as const satisfies readonly DatasetName[];
  let kafka: Kafka;
  let admin: Admin;
  const configs = new Map<DatasetName, Config>();
  /** The three CLI runs, started together (each is mostly process start-up and file reading): one per test below. */
  const runs = new Map<DatasetName, Promise<{ stdout: string } | { error: unknown }>>();
  const consumers: Consumer[] = [];

  beforeAll(async () => {
    kafka = testKafka(testConfig('ev-replay-e2e'));
    admin = kafka.admin();
    await admin.connect();
    for (const name of NAMES) {
      const dir = DEFAULT_DATASET_DIRS[name];
      if (!existsSync(dir)) continue;
      const config = testConfig(`ev-replay-${name}`);
      configs.set(name, config);
      runs.set(
        name,
        runCli(['--dataset', name, '--path', dir, '--limit', String(LIMIT)], config.kafka.topicPrefix).then(
          (r) => ({ stdout: r.stdout }),
          (error: unknown) => ({ error }),
        ),
      );
    }
  }, 30_000);

  afterAll(async () => {
    await Promise.all(consumers.map((c) => c.disconnect()));
    await Promise.all(runs.values());
    const topics = [...configs.values()].flatMap((c) => plannedTopics(c).map((t) => t.name));
    if (topics.length > 0) await admin.deleteTopics({ topics }).catch(() => undefined);
    await admin.disconnect();
  }, 30_000);

  const KINDS: Record<Extract<TopicKey, 'interactions' | 'quizAttempts' | 'resources'>, EventName> = {
    interactions: 'LearningInteraction',
    quizAttempts: 'QuizAttempt',
    resources: 'Resource',
  };

  for (const name of NAMES) {
    const dir = DEFAULT_DATASET_DIRS[name];
    const present = existsSync(dir);
    if (!present) console.warn(`skipping events-replay ${name}: ${dir} is absent`);
    (present ? it : it.skip)(
      `${name}: --limit ${LIMIT} publishes with 0 failed, and Kafka holds exactly what was acknowledged`,
      async () => {
        const config = configs.get(name)!;
        const prefix = config.kafka.topicPrefix;
        const run = await runs.get(name)!;
        if ('error' in run) throw run.error;
        const { stdout } = run;
        const summary = JSON.parse(stdout.trim().split('\n').pop()!) as {
          events: number;
          resources: number;
          acked: number;
          failed: number;
          invalid: number;
        };
        console.log(stdout.split('\n')[0]);
        expect(summary).toMatchObject({ dataset: name, events: LIMIT, failed: 0, invalid: 0 });
        expect(summary.acked).toBe(summary.resources + summary.events);

        const topics = (Object.keys(KINDS) as (keyof typeof KINDS)[]).map((k) => topicName(k, prefix));
        expect(await written(admin, topics)).toBe(summary.acked);
        const decode = createDecodeStep({
          registry: testRegistry(config),
          topicPrefix: prefix,
          sink: { send: () => Promise.reject(new Error('no poison expected')) },
        });
        const byTopic: Record<string, number> = {};
        let mismatched = 0;
        let read = 0;
        const consumer = kafka.consumer({ groupId: `${prefix}count` });
        consumers.push(consumer);
        await consumer.connect();
        await consumer.subscribe({ topics, fromBeginning: true });
        await consumer.run({
          eachBatch: async ({ batch }) => {
            for (const m of batch.messages) {
              const d = await decode(batch.topic, batch.partition, m);
              const expected = Object.entries(KINDS).find(([k]) => topicName(k as TopicKey, prefix) === batch.topic)?.[1];
              if (!d || d.event !== expected) mismatched++;
              byTopic[batch.topic] = (byTopic[batch.topic] ?? 0) + 1;
              read++;
            }
          },
        });
        await waitFor(() => read >= summary.acked, { timeoutMs: 30_000, message: `${summary.acked} records read back` });
        expect({ read, mismatched }).toEqual({ read: summary.acked, mismatched: 0 });
        expect(byTopic[topicName('resources', prefix)] ?? 0).toBe(summary.resources);
      },
      90_000,
    );
  }
});

/** Replay validates every record with schemas/validate.ts before sending it, as the collector does. */
describe('replay validation against the real broker', () => {
  let config: Config;
  let kafka: Kafka;
  let admin: Admin;
  let world: KafkaWorld | undefined;
  let publisher: Publisher | undefined;

  beforeAll(async () => {
    world = await openKafkaWorld('ev-replay-invalid');
    ({ config, kafka, admin } = world);
  }, 30_000);

  afterAll(async () => {
    await publisher?.close();
    await closeKafkaWorld(world);
  }, 30_000);

  it('counts each bad row with its reason and never sends it; the good rows all arrive', async () => {
    const now = Date.now();
    const view = (eventId: string, extra: Partial<LearningInteraction> = {}): LearningInteraction => ({
      eventId,
      userId: 'u1',
      resourceId: 'r1',
      type: 'view',
      value: null,
      dwellMs: 1000,
      occurredAt: now - 60_000,
      context: { platform: 'replay-test', device: null, session: null },
      review: false,
      recommId: null,
      ...extra,
    });
    const resource = (resourceId: string, extra: Partial<Resource> = {}): Resource => ({
      resourceId,
      title: `Resource ${resourceId}`,
      description: '',
      type: 'video',
      topics: [],
      skills: [],
      difficulty: null,
      durationMin: null,
      language: 'en',
      prerequisites: [],
      instructor: null,
      publishedAt: null,
      active: true,
      ...extra,
    });
    const dataset: Dataset = {
      name: 'movielens',
      resources: [resource('r1'), resource('r2', { language: 'x'.repeat(36) }), resource('r3', { instructor: 'i'.repeat(257) })],
      events: [
        { kind: 'interaction', event: view('ok-1') },
        { kind: 'interaction', event: view('bad-dwell', { dwellMs: -5 }) },
        { kind: 'interaction', event: view('bad-rate', { type: 'rate', value: 9 }) },
        { kind: 'interaction', event: view('ok-2') },
        { kind: 'interaction', event: view('bad-future', { occurredAt: now + 3 * 86_400_000 }) },
        {
          kind: 'quizAttempt',
          event: {
            eventId: 'bad-score',
            userId: 'u1',
            itemId: 'q1',
            resourceId: null,
            skills: [],
            correct: true,
            score: 2,
            attempt: 1,
            responseTimeMs: 0,
            occurredAt: now,
          },
        },
        { kind: 'interaction', event: view('ok-3') },
      ],
      skipped: {},
      notes: [],
    };
    publisher = await Publisher.create({ kafka, registry: testRegistry(config), topicPrefix: config.kafka.topicPrefix });
    const summary = await replay(dataset, publisher);
    expect(summary).toMatchObject({
      acked: 4,
      failed: 6,
      invalid: 6,
      invalidByCode: { 'too-long': 2, 'out-of-range': 3, 'future-timestamp': 1 },
    });
    expect(summary.errors).toEqual([
      expect.stringMatching(/^record 1 \(resource r2\) is invalid: language: .*too-long/),
      expect.stringMatching(/^record 2 \(resource r3\) is invalid: instructor: .*too-long/),
      expect.stringMatching(/^record 4 \(interaction bad-dwell\) is invalid: dwellMs: .*out-of-range/),
      expect.stringMatching(/^record 5 \(interaction bad-rate\) is invalid: value: .*out-of-range/),
      expect.stringMatching(/^record 7 \(interaction bad-future\) is invalid: occurredAt: .*future-timestamp/),
      expect.stringMatching(/^record 8 \(quizAttempt bad-score\) is invalid: score: .*out-of-range/),
    ]);
    const prefix = config.kafka.topicPrefix;
    expect(await written(admin, [topicName('interactions', prefix)])).toBe(3);
    expect(await written(admin, [topicName('resources', prefix)])).toBe(1);
    expect(await written(admin, [topicName('quizAttempts', prefix)])).toBe(0);
  }, 60_000);
});
