/**
 * State in Kafka (issue 17, items 7 and 8): a pipeline stage process with `--changelog` checkpoints into the compacted
 * changelog topic (consumers/state/changelog.ts, one transaction per checkpoint, only changed learners rewritten); it
 * is killed with SIGKILL half-way through the stream and a new instance starts with an EMPTY state dir. The new one
 * restores from Kafka alone and finishes: per-learner exact counts equal the true ones (nothing lost, nothing applied
 * twice), and no checkpoint file was ever written.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Config } from '../../lib/config';
import { ensureTopics } from '../../lib/kafka/topics';
import type { LearnerGroupJSON } from '../../pipelines/learner/state';
import { KafkaChangelogStore } from '../../consumers/state/changelog';
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
    const events: KindedEvent[] = Array.from({ length: N }, (_, i) => ({ kind: 'interaction', event: { eventId: `cl-${i}`, userId: `cl-u${i % LEARNERS}`, resourceId: `cl-r${i % 70}`, type: i % 4 === 0 ? 'complete' : 'click', value: null, dwellMs: 1000, occurredAt: Date.now() - (N - i) * 10, context: { platform: 'test', device: null, session: null }, review: false, recommId: null } }));
    const pub = new TestPublisher(cfg, kafka, testRegistry(cfg));
    // first half now; the second while the first instance runs, so the kill lands mid-stream
    await pub.publish(events.slice(0, N / 2));

    const run = (name: string) => {
      const dir = path.join(work, name);
      const port = freePort();
      const env = stageEnv(cfg, { LEARNSTREAM_METRICS_PORT: String(port), LEARNSTREAM_CHECKPOINT_INTERVAL_MS: '1000', LEARNSTREAM_TOP_N: '10', LEARNSTREAM_RERANK_INTERVAL_MS: '2000' });
      const p = new StageProcess(name, ['--stage', 'all', '--sync', '--no-encoder', '--changelog', '--state-dir', dir], env, work);
      procs.push(p);
      return { p, dir, port };
    };
    const first = run('first');
    first.p.start();
    reader = new KafkaChangelogStore({ kafka, topic: `${cfg.kafka.topicPrefix}learnstream.state-changelog`, partitions: 1, transactionalPrefix: `${cfg.kafka.topicPrefix}test-reader-` });
    const applied = async () => {
      const cp = await reader!.get<LearnerGroupJSON>('learner', 0).catch(() => null);
      return cp ? cp.state.learners.reduce((s, [, l]) => s + l.n, 0) : 0;
    };
    // at least one changelog checkpoint before the kill, so the new instance has something to restore
    await waitFor(async () => (await applied()) > 0 || (!first.p.running && Promise.reject(new Error(first.p.log()))), { timeoutMs: 60_000, intervalMs: 1000, message: `a changelog checkpoint of the first instance\n${first.p.log().slice(-3000)}` });
    // the kill lands mid-stream: once the instance has consumed past the first half and before it has all (a fixed
    // sleep let a fast run apply and checkpoint all N first, and the test then restored nothing from the kill)
    const publishingRest = pub.publish(events.slice(N / 2));
    const target = N / 2 + Math.floor(Math.random() * (N / 4));
    await waitFor(async () => (await eventsConsumed(first.port)) >= target || undefined, { timeoutMs: 60_000, intervalMs: 20, message: `first instance consumed ${target}` });
    const atKill = await eventsConsumed(first.port);
    await first.p.kill9();
    await publishingRest;
    await pub.close();
    const restorable = await applied();
    expect(restorable).toBeGreaterThan(0);
    expect(restorable).toBeLessThan(N);

    const second = run('second');
    const t0 = Date.now();
    second.p.start();
    await waitFor(async () => (await applied()) >= N || (!second.p.running && Promise.reject(new Error(second.p.log()))), { timeoutMs: 180_000, intervalMs: 2000, message: 'second instance finished the stream' });
    const seconds = (Date.now() - t0) / 1000;
    expect(await second.p.stop()).toBe(0);
    const cp = (await reader.get<LearnerGroupJSON>('learner', 0))!;
    const counts = new Map(cp.state.learners.map(([id, l]) => [id, l.n]));
    expect(counts.size).toBe(LEARNERS);
    for (let u = 0; u < LEARNERS; u++) expect([u, counts.get(`cl-u${u}`)]).toEqual([u, N / LEARNERS]);
    // state only ever lived in Kafka: neither instance wrote a checkpoint file
    for (const dir of [first.dir, second.dir]) expect(fs.existsSync(path.join(dir, 'learner', 'group-0.json'))).toBe(false);
    const r = reader.restored.get('learner/0');
    process.stdout.write(`first instance killed at ${atKill} of ${N} consumed (${restorable} in its last changelog checkpoint); second (empty state dir) finished in ${seconds.toFixed(1)} s; changelog restore by the test reader: ${r?.records} records in ${r?.seconds.toFixed(2)} s; ${counts.size} learners with exact counts\n`);
  });
});
