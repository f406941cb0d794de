/**
 * Crash equivalence (issue 5, acceptance 1) against the real Kafka, registry and Redis, with stages as separate OS
 * processes killed with SIGKILL while they run:
 *  - deterministic configuration (one partition per topic, fixed seed, all stages in one process, synchronous item
 *    updates): after three kill -9 / restart cycles the final model state equals that of an uninterrupted run over
 *    the same 50,000 movielens events to 1e-6, and the exact per-learner / per-resource counts equal the true ones;
 *  - distributed configuration (4 partitions, npm start's layout: two learner-stage processes in one consumer group
 *    and the item stage in its own, killed at three random points: one learner instance alone (its partitions move
 *    to the other while it is away and back when it returns), the other with the item stage, then all three): the
 *    exact counts equal the true counts — none missing, none applied twice.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Config } from '../../lib/config';
import { ensureTopics } from '../../lib/kafka/topics';
import { topicName } from '../../schemas/topics';
import type { ItemGroupJSON } from '../../pipelines/item/processor';
import type { LearnerGroupJSON } from '../../pipelines/learner/state';
import { b64ToF32 } from '../../consumers/state/codec';
import { eventWeight } from '../../models/collab';
import { keyOf, logAdd2 } from '../../models/recommender/decayed';
import { Recommender } from '../../models/recommender/recommender';
import { createCollabModel, interactionKind } from '../../pipelines/model/collab';
import { deleteKeys, testConfig, testKafka, testRedis, testRegistry, waitFor } from '../helpers';
import { HAVE_MOVIELENS, movielensEvents } from '../pipeline-support/movielens';
import { caughtUp, checkpointed, endOffsets, freePort, readCheckpoints, StageProcess, stageEnv } from '../pipeline-support/procs';
import { TestPublisher } from '../pipeline-support/publish';

const N = Number(process.env.LEARNSTREAM_FAULT_EVENTS ?? 50_000);
const describeIf = HAVE_MOVIELENS ? describe : describe.skip;
if (!HAVE_MOVIELENS) process.stdout.write('pipeline-crash: movielens-latest-small not found under ../shared/datasets, skipping\n');

jest.setTimeout(600_000);

/**
 * Lean settings so 50,000 events fit the suite's time budget on two cores: frequent checkpoints (so kills land between
 * them and replay is exercised), short lists and a longer re-rank interval (ranking is not what is tested here).
 */
const LEAN = { LEARNSTREAM_CHECKPOINT_INTERVAL_MS: '1000', LEARNSTREAM_TOP_N: '10', LEARNSTREAM_RERANK_INTERVAL_MS: '2000' };

async function publishAll(config: Config, events: Parameters<TestPublisher['publish']>[0]): Promise<void> {
  const kafka = testKafka(config, 'crash-publisher');
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, config);
  await admin.disconnect();
  const pub = new TestPublisher(config, kafka, testRegistry(config));
  const t0 = Date.now();
  await pub.publish(events);
  await pub.close();
  process.stdout.write(`published ${events.length} events in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
}

/**
 * Kill -9 whenever the stage's progress passes each of three random points, restarting the killed processes each
 * time: `victims(k)` are those killed at the k-th point (default all of `procs`).
 */
async function crashAtThreePoints(
  procs: StageProcess[],
  progress: () => Promise<number>,
  total: number,
  victims: (k: number) => StageProcess[] = () => procs,
): Promise<number[]> {
  const points = [0, 1, 2].map(() => Math.floor(total * (0.1 + Math.random() * 0.75))).sort((a, b) => a - b);
  for (const [k, pt] of points.entries()) {
    await waitFor(async () => (await progress()) >= pt, { timeoutMs: 240_000, intervalMs: 50, message: `progress ${pt}` });
    // A random moment between two checkpoints, so the kill lands mid-batch with unsaved work to be replayed.
    await new Promise((r) => setTimeout(r, Math.random() * 900));
    const killed = victims(k);
    for (const p of killed) await p.kill9();
    for (const p of killed) p.start();
  }
  return points;
}

function learnerStates(stateDir: string): Map<string, LearnerGroupJSON['learners'][number][1]> {
  const out = new Map<string, LearnerGroupJSON['learners'][number][1]>();
  for (const cp of readCheckpoints<LearnerGroupJSON>(stateDir, 'learner').values()) for (const [id, l] of cp.state.learners) out.set(id, l);
  return out;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = a.length === b.length ? 0 : Infinity;
  for (let i = 0; i < Math.min(a.length, b.length); i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Transition-row totals and popularity keys by resource, from the events as the learner stage learns them. */
function expectedSignals(events: ReturnType<typeof movielensEvents>['events']): Map<string, [number, number]> {
  const rec = new Recommender();
  const model = createCollabModel({ dim: 2, seed: 1 });
  const hl = { t: 365 * 86400, p: 30 * 86400 };
  const recent = new Map<string, string[]>();
  const out = new Map<string, [number, number]>();
  const at = (id: string) => {
    let v = out.get(id);
    if (!v) out.set(id, (v = [-Infinity, -Infinity]));
    return v;
  };
  for (const e of events) {
    if (e.kind !== 'interaction') continue;
    const ev = e.event;
    const h = recent.get(ev.userId) ?? [];
    const { kind, useValue } = interactionKind(ev.type);
    const positive = eventWeight({ kind, value: useValue === 'value' ? (ev.value ?? undefined) : undefined }, model.options.weights) > 0;
    const win = h.slice(-rec.window);
    const ids = [...win, ev.resourceId];
    const self = win.lastIndexOf(ev.resourceId);
    const t = ev.occurredAt / 1000;
    for (const l of rec.links(
      win.map((_, k) => k),
      self >= 0 ? self : win.length,
    ))
      at(ids[l.from])[0] = logAdd2(at(ids[l.from])[0], keyOf(l.w, t, hl.t));
    if (positive) at(ev.resourceId)[1] = logAdd2(at(ev.resourceId)[1], keyOf(1, t, hl.p));
    const j = h.lastIndexOf(ev.resourceId);
    if (j >= 0) h.splice(j, 1);
    h.push(ev.resourceId);
    if (h.length > 200) h.shift();
    recent.set(ev.userId, h);
  }
  for (const [id, v] of out) if (v[0] === -Infinity && v[1] === -Infinity) out.delete(id);
  return out;
}

describeIf('pipeline crash equivalence (real stack, kill -9)', () => {
  const truth = HAVE_MOVIELENS
    ? movielensEvents(N)
    : { events: [], perLearner: new Map<string, number>(), perResource: new Map<string, number>() };
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ls-faults-'));
  const procs: StageProcess[] = [];
  const configs: Config[] = [];
  afterAll(async () => {
    for (const p of procs) if (p.running) await p.kill9();
    for (const c of configs) {
      const redis = testRedis(c);
      await deleteKeys(redis, c.redis.keyPrefix);
      redis.disconnect();
    }
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('deterministic configuration: state after three kill -9 equals an uninterrupted run to 1e-6, counts exact', async () => {
    const config = testConfig('crash-sync', { kafka: { partitions: 1 } });
    configs.push(config);
    await publishAll(config, truth.events);
    const interactions = topicName('interactions', config.kafka.topicPrefix);
    const run = (name: string) => {
      const dir = path.join(work, name);
      const port = freePort();
      const env = stageEnv(config, {
        ...LEAN,
        LEARNSTREAM_METRICS_PORT: String(port),
        LEARNSTREAM_REDIS_KEY_PREFIX: `${config.redis.keyPrefix}${name}:`,
      });
      const p = new StageProcess(
        name,
        [
          '--stage',
          'all',
          '--sync',
          '--no-encoder',
          '--group-prefix',
          `${config.kafka.topicPrefix}${name}-`,
          '--state',
          'files',
          '--state-dir',
          dir,
        ],
        env,
        work,
      );
      procs.push(p);
      return { p, dir, port };
    };
    const ref = run('reference');
    const crash = run('crashed');
    const ends = await endOffsets(config, 'interactions');
    ref.p.start();
    crash.p.start();
    const t0 = Date.now();
    const points = await crashAtThreePoints([crash.p], () => Promise.resolve(checkpointed(crash.dir, 'learner', interactions)), N);
    await waitFor(() => caughtUp(ref.dir, 'learner', interactions, ends) && caughtUp(crash.dir, 'learner', interactions, ends), {
      timeoutMs: 300_000,
      intervalMs: 200,
      message: 'both runs consumed every event',
    });
    expect(await ref.p.stop()).toBe(0);
    expect(await crash.p.stop()).toBe(0);
    process.stdout.write(
      `deterministic: kills at checkpointed positions ${points.join(', ')}; ${crash.p.starts} starts; ${((Date.now() - t0) / 1000).toFixed(1)} s\n`,
    );

    const a = readCheckpoints<LearnerGroupJSON>(ref.dir, 'learner').get(0)!.state;
    const b = readCheckpoints<LearnerGroupJSON>(crash.dir, 'learner').get(0)!.state;
    // Learners: same set, vectors/biases within 1e-6, identical exact counts equal to the truth.
    const la = new Map(a.learners);
    const lb = new Map(b.learners);
    expect(lb.size).toBe(la.size);
    expect(la.size).toBe(truth.perLearner.size);
    let worst = 0;
    for (const [id, x] of la) {
      const y = lb.get(id)!;
      expect(y).toBeDefined();
      worst = Math.max(worst, maxAbsDiff(b64ToF32(x.f), b64ToF32(y.f)), Math.abs(x.b - y.b));
      expect(y.n).toBe(truth.perLearner.get(id));
      expect(x.n).toBe(truth.perLearner.get(id));
      expect(y.c).toBe(x.c);
    }
    // Items: same rows, same factors within 1e-6, counts equal to the truth.
    const ia = new Map(a.items!.rows.map((r) => [r.id, r]));
    const ib = new Map(b.items!.rows.map((r) => [r.id, r]));
    expect(ib.size).toBe(ia.size);
    for (const [id, count] of truth.perResource) {
      expect(ia.get(id)?.n).toBe(count);
      expect(ib.get(id)?.n).toBe(count);
    }
    for (const [id, x] of ia) {
      const y = ib.get(id)!;
      worst = Math.max(worst, maxAbsDiff(b64ToF32(x.f), b64ToF32(y.f)), Math.abs(x.b - y.b));
    }
    // The recommender's global signals (transitions, popularity) are state too: same targets, same decayed keys.
    let signalWorst = 0;
    let rows = 0;
    for (const [id, x] of ia) {
      const y = ib.get(id)!;
      expect([id, y.s === undefined]).toEqual([id, x.s === undefined]);
      if (!x.s || !y.s) continue;
      rows++;
      const kx = new Map(x.s[0].map((t, k) => [t, x.s![1][k]]));
      const ky = new Map(y.s[0].map((t, k) => [t, y.s![1][k]]));
      expect([id, [...ky.keys()].sort()]).toEqual([id, [...kx.keys()].sort()]);
      for (const [t, k] of kx) signalWorst = Math.max(signalWorst, Math.abs(k - ky.get(t)!));
      signalWorst = Math.max(signalWorst, Math.abs((x.s[2] ?? 0) - (y.s[2] ?? 0)), Math.abs((x.s[3] ?? 0) - (y.s[3] ?? 0)));
    }
    expect(rows).toBeGreaterThan(100);
    process.stdout.write(
      `deterministic: max |difference| between crashed and uninterrupted state = ${worst}; recommender signals of ${rows} rows: ${signalWorst}\n`,
    );
    expect(signalWorst).toBeLessThanOrEqual(1e-9);
    expect(worst).toBeLessThanOrEqual(1e-6);
    expect(b.knowledge).toEqual(a.knowledge);
  });

  it('distributed configuration (4 partitions, two learner processes and an item process killed at three random points): exact counts', async () => {
    const config = testConfig('crash-dist', { kafka: { partitions: 4 } });
    configs.push(config);
    await publishAll(config, truth.events);
    const interactions = topicName('interactions', config.kafka.topicPrefix);
    const itemUpdates = topicName('itemUpdates', config.kafka.topicPrefix);
    const dir = path.join(work, 'dist');
    // npm start's layout (lib/config/layout.ts): learner instance i on the base metrics port + 1 + i, one state dir
    const base = freePort(3);
    const mk = (name: string, args: string[]) => {
      const env = stageEnv(config, { ...LEAN, LEARNSTREAM_METRICS_PORT: String(base) });
      const p = new StageProcess(`dist-${name}`, [...args, '--no-encoder', '--state', 'files', '--state-dir', dir], env, work);
      p.supervise = true; // a stall exits to be restarted (pipeline.maxPauseMs): the state must come out exact all the same
      procs.push(p);
      return p;
    };
    const instances = [0, 1].map((i) => mk(`learner-${i}`, ['--stage', 'learner', '--instance', String(i)]));
    const item = mk('item', ['--stage', 'item']);
    const ends = await endOffsets(config, 'interactions');
    for (const l of instances) l.start();
    item.start();
    const t0 = Date.now();
    // the consumer group spreads the partitions: each instance reports the lag of partitions it holds
    const held = async (l: StageProcess) => {
      const text = await fetch(`http://127.0.0.1:${l.metricsPort}/metrics`).then(
        (r) => r.text(),
        () => '',
      );
      return text
        .split('\n')
        .filter((line) => line.startsWith('learnstream_kafka_consumer_lag_messages{') && line.includes('learnstream-learner"')).length;
    };
    await waitFor(async () => ((await held(instances[0])) > 0 && (await held(instances[1])) > 0) || undefined, {
      timeoutMs: 120_000,
      intervalMs: 500,
      message: 'both learner instances hold partitions',
    });
    const victims = (k: number) => [[instances[0]], [instances[1], item], [...instances, item]][k];
    const points = await crashAtThreePoints(
      [...instances, item],
      () => Promise.resolve(checkpointed(dir, 'learner', interactions)),
      N,
      victims,
    );
    await waitFor(() => caughtUp(dir, 'learner', interactions, ends), {
      timeoutMs: 300_000,
      intervalMs: 200,
      message: 'instances consumed every event',
    }).catch((err: unknown) => {
      // What a stall looks like, for the log: checkpointed offset against the end per partition, and what each
      // process said about partition groups last.
      const cps = readCheckpoints<unknown>(dir, 'learner');
      const rows = [...ends].map(([p, end]) => `p${p}: checkpoint ${cps.get(p)?.offsets[`${interactions}:${p}`] ?? 'none'} of ${end}`);
      process.stdout.write(`distributed stall: ${rows.join('; ')}\n`);
      for (const l of [...instances, item]) {
        const lines = fs.existsSync(l.logFile) ? fs.readFileSync(l.logFile, 'utf8').split('\n') : [];
        const said = lines.filter((line) => /partition group|superseded|revoke|error|fatal|paused/i.test(line)).slice(-12);
        process.stdout.write(`--- ${l.logFile} (last of ${lines.length} lines)\n${said.join('\n')}\n`);
      }
      throw err;
    });
    for (const l of instances) expect(await l.stop()).toBe(0);
    const itemEnds = await endOffsets(config, 'itemUpdates');
    await waitFor(() => caughtUp(dir, 'item', itemUpdates, itemEnds), {
      timeoutMs: 300_000,
      intervalMs: 200,
      message: 'item stage consumed every update',
    });
    expect(await item.stop()).toBe(0);
    process.stdout.write(`distributed: kills at checkpointed positions ${points.join(', ')}; ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
    // Readiness pauses, stalls and the restarts they caused, for the log (docs/operations.md, "Stalls").
    for (const l of [...instances, item]) {
      const said = l
        .log()
        .split('\n')
        .filter((line) => /stage stalled|consumption paused|fatal/.test(line));
      const exits = l.ownExits.length ? `; exited on its own ${l.ownExits.length}x (codes ${l.ownExits.join(', ')}), restarted` : '';
      process.stdout.write(
        `distributed: ${l.name}: ${said.length} pause/stall lines${exits}${said.length ? `\n  ${said.slice(-4).join('\n  ')}` : ''}\n`,
      );
    }

    const learners = learnerStates(dir);
    expect(learners.size).toBe(truth.perLearner.size);
    for (const [id, count] of truth.perLearner) expect([id, learners.get(id)?.n]).toEqual([id, count]);
    const items = new Map<string, number>();
    for (const cp of readCheckpoints<ItemGroupJSON>(dir, 'item').values()) for (const r of cp.state.items.rows) items.set(r.id, r.n);
    for (const [id, count] of truth.perResource) expect([id, items.get(id)]).toEqual([id, count]);
    const total = [...items.values()].reduce((s, n) => s + n, 0);
    expect(total).toBe(N);
    // The recommender's global signals, applied exactly once at their owners: every transition row's total and every
    // popularity count equal a replay of the same events (order-free sums of decayed weights, so equal to 1e-9).
    const truthSignals = expectedSignals(truth.events);
    const rowsSeen = new Map<string, [number | null, number | null]>();
    for (const cp of readCheckpoints<ItemGroupJSON>(dir, 'item').values())
      for (const r of cp.state.items.rows) if (r.s) rowsSeen.set(r.id, [r.s[2], r.s[3]]);
    expect(rowsSeen.size).toBe(truthSignals.size);
    let signalWorst = 0;
    for (const [id, [sum, pop]] of truthSignals) {
      const got = rowsSeen.get(id);
      expect([id, got !== undefined]).toEqual([id, true]);
      signalWorst = Math.max(
        signalWorst,
        Math.abs((got![0] ?? -1e9) - (Number.isFinite(sum) ? sum : -1e9)),
        Math.abs((got![1] ?? -1e9) - (Number.isFinite(pop) ? pop : -1e9)),
      );
    }
    process.stdout.write(`distributed: recommender signals of ${rowsSeen.size} rows vs a replay: max |difference| ${signalWorst}\n`);
    expect(signalWorst).toBeLessThanOrEqual(1e-9);
  });
});
