/**
 * Stall = restart, nothing lost (issue 17), against the real Kafka, registry and Redis with stages as OS processes:
 * the item stage is frozen (SIGSTOP) while the learner stage runs under load, so the learner's item-factors replica
 * stops moving and bounded staleness pauses its consumption. While paused, the learner exports
 * learnstream_pipeline_consumption_paused_seconds{stage="learner"} > 0 and, from 30 s on, its /readyz names the pause
 * and that the item stage is behind. At pipeline.maxPauseMs (40 s here) it counts
 * learnstream_pipeline_stalls_total{stage="learner",reason="paused"}, logs `stage stalled (paused)` and exits 1; the
 * test restarts it as npm start's supervisor would. The item stage is then thawed, and at the end every learner's and
 * every resource's exact event count equals the truth: none missing, none applied twice.
 */
import type { Config } from '../../lib/config';
import { ensureTopics } from '../../lib/kafka/topics';
import { topicName } from '../../schemas/topics';
import type { ItemGroupJSON } from '../../pipelines/item/processor';
import type { LearnerGroupJSON } from '../../pipelines/learner/state';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { deleteKeys, testConfig, testKafka, testRedis, testRegistry, waitFor } from '../helpers';
import { HAVE_MOVIELENS, movielensEvents } from '../pipeline-support/movielens';
import { caughtUp, checkpointed, endOffsets, freePort, readCheckpoints, StageProcess, stageEnv } from '../pipeline-support/procs';
import { TestPublisher } from '../pipeline-support/publish';

const N = Number(process.env.LEARNSTREAM_FAULT_EVENTS ?? 30_000);
const MAX_PAUSE_MS = 40_000;
const describeIf = HAVE_MOVIELENS ? describe : describe.skip;
if (!HAVE_MOVIELENS) process.stdout.write('pipeline-stall: movielens-latest-small not found under ../shared/datasets, skipping\n');

jest.setTimeout(600_000);

const LEAN = { LEARNSTREAM_CHECKPOINT_INTERVAL_MS: '1000', LEARNSTREAM_TOP_N: '10', LEARNSTREAM_RERANK_INTERVAL_MS: '2000' };

/** One sample of a series on a stage's /metrics (the sum when several match), undefined while it is not up. */
async function metric(port: number, prefix: string): Promise<number | undefined> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const lines = text.split('\n').filter((l) => l.startsWith(prefix));
    return lines.length ? lines.reduce((s, l) => s + Number(l.split(' ').pop()), 0) : undefined;
  } catch {
    return undefined;
  }
}

describeIf('pipeline stall: a paused stage exits, is restarted, and loses nothing (real stack)', () => {
  const truth = HAVE_MOVIELENS ? movielensEvents(N) : { events: [], perLearner: new Map<string, number>(), perResource: new Map() };
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ls-stall-'));
  const procs: StageProcess[] = [];
  let config: Config | undefined;
  afterAll(async () => {
    for (const p of procs) {
      if (p.pid !== undefined && p.running) process.kill(p.pid, 'SIGCONT');
      if (p.running) await p.kill9();
    }
    if (config) {
      const redis = testRedis(config);
      await deleteKeys(redis, config.redis.keyPrefix);
      redis.disconnect();
    }
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('item stage frozen: learner paused (gauge, /readyz), stalls at maxPauseMs, exits 1, restarted; exact counts', async () => {
    const cfg = (config = testConfig('stall', { kafka: { partitions: 4 } }));
    const kafka = testKafka(cfg, 'stall-publisher');
    const admin = kafka.admin();
    await admin.connect();
    await ensureTopics(admin, cfg);
    await admin.disconnect();
    const pub = new TestPublisher(cfg, kafka, testRegistry(cfg));
    await pub.publish(truth.events);
    await pub.close();
    const interactions = topicName('interactions', cfg.kafka.topicPrefix);
    const itemUpdates = topicName('itemUpdates', cfg.kafka.topicPrefix);
    const dir = path.join(work, 'state');
    const mk = (name: string, args: string[]) => {
      const env = stageEnv(cfg, { ...LEAN, LEARNSTREAM_METRICS_PORT: String(freePort()), LEARNSTREAM_MAX_PAUSE_MS: String(MAX_PAUSE_MS) });
      const p = new StageProcess(`stall-${name}`, [...args, '--no-encoder', '--state', 'files', '--state-dir', dir], env, work);
      p.supervise = true; // npm start's supervisor: restart 1 s after an exit nobody asked for
      procs.push(p);
      return p;
    };
    const learner = mk('learner', ['--stage', 'learner']);
    const item = mk('item', ['--stage', 'item']);
    const ends = await endOffsets(cfg, 'interactions');
    learner.start();
    item.start();
    const t0 = Date.now();
    await waitFor(() => checkpointed(dir, 'learner', interactions) >= N * 0.15 || undefined, {
      timeoutMs: 240_000,
      intervalMs: 100,
      message: 'learner at 15 %',
    });
    process.kill(item.pid!, 'SIGSTOP');
    const frozenAt = Date.now();
    const port = learner.metricsPort!;
    let pausedSeen = 0;
    let readyzLine: string | undefined;
    let stallsSeen = 0;
    await waitFor(
      async () => {
        pausedSeen = Math.max(pausedSeen, (await metric(port, 'learnstream_pipeline_consumption_paused_seconds{stage="learner"}')) ?? 0);
        stallsSeen = Math.max(stallsSeen, (await metric(port, 'learnstream_pipeline_stalls_total{stage="learner",reason="paused"}')) ?? 0);
        if (!readyzLine) {
          const body = await fetch(`http://127.0.0.1:${port}/readyz`).then(
            (r) => r.json() as Promise<{ reasons?: string[] }>,
            () => ({ reasons: [] as string[] }),
          );
          readyzLine = body.reasons?.find((r) => r.includes('consumption paused'));
        }
        return learner.ownExits.length > 0 || undefined;
      },
      { timeoutMs: MAX_PAUSE_MS + 120_000, intervalMs: 500, message: 'the learner stalls and exits' },
    );
    const exitedAfter = (Date.now() - frozenAt) / 1000;
    process.kill(item.pid!, 'SIGCONT');
    await waitFor(() => caughtUp(dir, 'learner', interactions, ends) || undefined, {
      timeoutMs: 300_000,
      intervalMs: 200,
      message: 'learner consumed every event',
    });
    expect(await learner.stop()).toBe(0);
    const itemEnds = await endOffsets(cfg, 'itemUpdates');
    await waitFor(() => caughtUp(dir, 'item', itemUpdates, itemEnds) || undefined, {
      timeoutMs: 300_000,
      intervalMs: 200,
      message: 'item stage consumed every update',
    });
    expect(await item.stop()).toBe(0);
    const stalled = learner
      .log()
      .split('\n')
      .filter((l) => l.includes('stage stalled'));
    process.stdout.write(
      `stall: learner exited ${exitedAfter.toFixed(1)} s after the item stage froze (codes ${learner.ownExits.join(', ')}; ${learner.starts} starts, item ${item.starts}); ` +
        `paused gauge up to ${pausedSeen} s, stalls counter seen ${stallsSeen}; /readyz: ${readyzLine ?? 'none'}; ${((Date.now() - t0) / 1000).toFixed(1)} s\n  ${stalled.slice(0, 2).join('\n  ')}\n`,
    );
    expect(learner.ownExits[0]).toBe(1);
    expect(stalled[0]).toMatch(/stage stalled \(paused\)/);
    expect(stalled[0]).toMatch(/item stage: \d+ gradients of item-updates partition \d+ not yet in the item-factors replica/);
    expect(pausedSeen).toBeGreaterThan(0);
    expect(readyzLine).toMatch(/^learner consumption paused for \d+ s \(partition group \d\), waiting for item stage: /);
    expect(stallsSeen).toBe(1);

    const learners = new Map<string, number>();
    for (const cp of readCheckpoints<LearnerGroupJSON>(dir, 'learner').values())
      for (const [id, l] of cp.state.learners) learners.set(id, l.n);
    expect(learners.size).toBe(truth.perLearner.size);
    for (const [id, count] of truth.perLearner) expect([id, learners.get(id)]).toEqual([id, count]);
    const items = new Map<string, number>();
    for (const cp of readCheckpoints<ItemGroupJSON>(dir, 'item').values()) for (const r of cp.state.items.rows) items.set(r.id, r.n);
    for (const [id, count] of truth.perResource) expect([id, items.get(id)]).toEqual([id, count]);
    expect([...items.values()].reduce((s, n) => s + n, 0)).toBe(N);
  });
});
