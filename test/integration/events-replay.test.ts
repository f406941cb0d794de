/**
 * Acceptance 1 of issue 3: replaying movielens-latest-small through the real CLI puts all 100,836 ratings into Kafka
 * (real broker, real registry), a consumer counts them back exactly once each, in time order per user, and the CLI
 * prints its throughput.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import type { Admin, Consumer, Kafka } from 'kafkajs';
import type { Config } from '../../lib/config';
import { DEFAULT_DATASET_DIRS } from '../../lib/datasets';
import { ensureTopics, plannedTopics } from '../../lib/kafka/topics';
import { topicName } from '../../lib/topics';
import { createDecodeStep } from '../../consumers/decode';
import { testConfig, testKafka, testRegistry, waitFor } from '../helpers';

const ROOT = path.join(__dirname, '..', '..');
const haveData = existsSync(path.join(DEFAULT_DATASET_DIRS.movielens, 'ratings.csv'));
if (!haveData) console.warn(`skipping events-replay: ${DEFAULT_DATASET_DIRS.movielens} is absent`);

(haveData ? describe : describe.skip)('replay movielens-latest-small into Kafka', () => {
  let config: Config;
  let kafka: Kafka;
  let admin: Admin;
  let consumer: Consumer | undefined;

  beforeAll(async () => {
    config = testConfig('ev-replay');
    kafka = testKafka(config);
    admin = kafka.admin();
    await admin.connect();
    await ensureTopics(admin, config);
  }, 30_000);

  afterAll(async () => {
    await consumer?.disconnect();
    await admin.deleteTopics({ topics: plannedTopics(config).map((t) => t.name) }).catch(() => undefined);
    await admin.disconnect();
  }, 30_000);

  it('publishes all 100,836 ratings, which a consumer counts back exactly, in per-user time order', async () => {
    const { stdout, stderr } = await new Promise<{ stdout: string; stderr: string }>((resolve, reject) => {
      execFile(process.execPath, [require.resolve('tsx/cli'), path.join(ROOT, 'producers', 'replay', 'cli.ts'), '--dataset', 'movielens', '--path', DEFAULT_DATASET_DIRS.movielens], {
        cwd: ROOT,
        env: { ...process.env, LEARNSTREAM_KAFKA_TOPIC_PREFIX: config.kafka.topicPrefix, LEARNSTREAM_LOG_LEVEL: 'warn' },
        maxBuffer: 16 * 1024 * 1024,
      }, (err, out, errOut) => (err ? reject(new Error(`${err.message}\n${errOut}`)) : resolve({ stdout: out, stderr: errOut })));
    });
    const summary = JSON.parse(stdout.trim().split('\n').pop()!);
    expect(summary).toMatchObject({ dataset: 'movielens', events: 100_836, resources: 9742, acked: 110_578, failed: 0 });
    expect(stdout).toMatch(/records\/s/);
    expect(stderr).toMatch(/ETA/);
    console.log(stdout.split('\n')[0]);

    const topic = topicName('interactions', config.kafka.topicPrefix);
    const decode = createDecodeStep({ registry: testRegistry(config), topicPrefix: config.kafka.topicPrefix, sink: { send: () => Promise.reject(new Error('no poison expected')) } });
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
      messages: 100_836, distinct: 100_836, duplicates: 0, outOfOrder: 0, notDecoded: 0, users: 610,
    });
  }, 120_000);
});
