/**
 * The serving view is rebuilt after Redis comes back empty (issue 17, item 4): a private Redis (own port and data
 * dir; Kafka and the registry are the shared test stack) under the live pipeline (learner, item and catalogue stages,
 * the ONNX encoder) and a steady event load; kill -9 of Redis, its append-only file moved aside, a fresh start on an
 * empty data dir. The stages notice the missing epoch key and rewrite from their own state: every learner's list
 * (personal, not the popular fallback), knowledge, completed set and declared interests, every catalogue entry and
 * similar-items list; GET /v1/resources/<id>/similar answers 200 from the similar list again; popularity and
 * co-engagement are raised back from state, so the popular fallback is there again.
 *
 * Then a Redis restored from an *older copy* with the same epoch id: a copy of the AOF taken after a clean stop, more
 * learners, quizzes and a resource written, kill -9, the copy put back. The stages' write generation in Redis is
 * behind their own, so they rewrite (cause `behind`), /readyz says `rebuilding serving view` meanwhile and
 * learnstream_serving_rebuild_pending_keys counts down to 0.
 *
 * Both phases end with the end state of an uninterrupted run, compared key by key: every event sent applied exactly
 * once (per-learner counts), every list personal and reflecting its learner's last event, knowledge / completed /
 * interests as the stage's state has them, popularity equal to the positive events sent per resource and co-engagement
 * equal to a reference recount of the events sent (the live counting rule replayed in the test).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Registry } from 'prom-client';
import { startApi, type RunningApi } from '../../api/server';
import { stackDown, stackPaths, stackUp } from '../../infra/stack/index';
import { readPid } from '../../infra/stack/process';
import { OnnxSentenceEncoder } from '../../lib/encoder';
import { createLogger } from '../../lib/log';
import type { KindedEvent } from '../../schemas';
import type { Pipeline } from '../../pipelines/pipeline';
import { freePort, testConfig, waitFor } from '../helpers';
import { encoderDirOrReason } from '../helpers/encoder';
import { createHarness, type PipelineHarness } from '../pipeline-support/harness';
import { interaction, profile, resource } from '../pipeline-support/events';
import { apiClient } from '../unit/api-client';

jest.setTimeout(300_000);

const model = encoderDirOrReason();
if ('reason' in model) console.warn(`redis-rebuild fault test SKIPPED: ${model.reason}`);

const CATALOGUE: [string, string, string][] = [
  ['alg-linear', 'Solving linear equations', 'algebra'],
  ['alg-practice', 'Linear equations practice problems', 'algebra'],
  ['alg-systems', 'Systems of linear equations', 'algebra'],
  ['hist-french', 'The French Revolution', 'history'],
  ['hist-ww1', 'Causes of the First World War', 'history'],
  ['bio-photo', 'Photosynthesis in plants', 'biology'],
  ['bio-cells', 'Cell division and mitosis', 'biology'],
  ['bio-genes', 'Genes and heredity', 'biology'],
];
const LEARNERS = 300;
const ids = CATALOGUE.map(([id]) => id);

let q = 0;
function quiz(userId: string, resourceId: string, correct: boolean): KindedEvent {
  return {
    kind: 'quizAttempt',
    event: {
      eventId: `qz-${Date.now()}-${q++}`,
      userId,
      itemId: `${resourceId}-q1`,
      resourceId,
      skills: [resourceId.split('-')[0]],
      correct,
      score: null,
      attempt: 1,
      responseTimeMs: 5000,
      occurredAt: Date.now(),
    },
  };
}

('dir' in model ? describe : describe.skip)('serving view rebuilt after Redis comes back empty or from an older copy', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ls-redis-rebuild-'));
  let h: PipelineHarness | undefined;
  let api: RunningApi | undefined;
  let encoder: OnnxSentenceEncoder | undefined;
  let config: ReturnType<typeof testConfig> | undefined;
  afterAll(async () => {
    await api?.stop();
    await h?.close().catch(() => undefined);
    await encoder?.close();
    if (config) await stackDown(config, { services: ['redis'] }).catch(() => undefined);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('lists, knowledge, completed, interests, catalogue, similar lists, popularity and co-engagement are back, as an uninterrupted run has them', async () => {
    const redisPort = await freePort();
    config = testConfig('rebuild', {
      dataDir,
      stack: { redisPort },
      redis: { url: `redis://127.0.0.1:${redisPort}`, managed: true },
      kafka: { managed: false, partitions: 2 },
      registry: { managed: false },
      pipeline: { rerankIntervalMs: 50, checkpointIntervalMs: 1000 },
    });
    expect((await stackUp(config)).started).toEqual(['redis']);
    encoder = await OnnxSentenceEncoder.load((model as { dir: string }).dir);
    h = await createHarness(config);
    const pending: number[] = [];
    const causes: string[] = [];
    h.instr.on('serving.rebuildPending', (e) => void (e.stage === 'learner' && pending.push(e.pending)));
    h.instr.on('serving.rebuildStarted', (e) => void causes.push(`${e.stage}:${e.cause}`));
    const pipeline: Pipeline = await h.start(['learner', 'item', 'catalog'], { embed: encoder.embed, servingEpochIntervalMs: 1000 });
    api = await startApi({
      config,
      store: h.store,
      registry: new Registry(),
      port: 0,
      logger: createLogger({ level: 'error' }),
      health: { redis: () => h!.store.ping() },
    });
    const call = apiClient(`http://127.0.0.1:${api.port}`, 'dev-read-key');
    const store = h.store;
    const p = pipeline.learner!;

    // The uninterrupted run's end state, from what was sent: per learner the events in order (one partition each).
    const sent = new Map<string, { kind: 'click' | 'complete' | 'quiz'; id: string }[]>();
    const publish = async (events: KindedEvent[]) => {
      await h!.publisher.publish(events);
      for (const e of events) {
        if (e.kind === 'interaction')
          sent.set(e.event.userId, [
            ...(sent.get(e.event.userId) ?? []),
            { kind: e.event.type === 'complete' ? 'complete' : 'click', id: e.event.resourceId },
          ]);
        if (e.kind === 'quizAttempt')
          sent.set(e.event.userId, [...(sent.get(e.event.userId) ?? []), { kind: 'quiz', id: e.event.resourceId! }]);
      }
    };

    await h.publisher.publish(
      CATALOGUE.map(([id, title, topic]) =>
        resource(id, [topic], { title, description: `${title}: an introduction to ${topic}.`, skills: [topic] }),
      ),
    );
    const users = Array.from({ length: LEARNERS }, (_, i) => `rb-u${i}`);
    const interested = users.filter((_, i) => i % 10 === 0);
    const quizzed = users.filter((_, i) => i % 5 === 1);
    const events: KindedEvent[] = [];
    users.forEach((u, i) => {
      events.push(interaction(u, ids[i % ids.length]), interaction(u, ids[(i + 1) % ids.length], 'complete'));
    });
    for (const u of interested) events.push(profile(u, ['biology']));
    // A quiz on a resource the learner already engaged with: a quiz puts its resource in the history without pairing
    // it (co-engagement counts interactions), which the rewrite's recount from histories cannot tell apart.
    quizzed.forEach((u) => events.push(quiz(u, ids[users.indexOf(u) % ids.length], true)));
    await publish(events);

    /** What a reader finds, per key kind; every count must reach its total. */
    const census = async (who: string[], quizzers: string[], interests: string[], resources: string[]) => {
      const lists = await Promise.all(who.map((u) => store.getRecommendations(u).catch(() => null)));
      const knowledge = await Promise.all(quizzers.map((u) => store.getKnowledge(u).catch(() => null)));
      const profiles = await Promise.all(interests.map((u) => store.getProfileInterests(u).catch(() => null)));
      const completed = await Promise.all(who.map((u) => store.getCompleted(u).catch(() => new Set<string>())));
      const metas = await store.getResources(resources).catch(() => []);
      const similar = await store.getSimilar('alg-linear').catch(() => null);
      const popular = await store.getPopular(20).catch(() => []);
      const c = {
        personal: lists.filter((l) => l && l.source === 'personal').length,
        knowledge: knowledge.filter((k) => k && k.skills.length > 0).length,
        interests: profiles.filter((x) => x && x.length > 0).length,
        completed: completed.filter((x) => x.size > 0).length,
        resources: metas.filter((r) => r).length,
        similar: similar?.length ?? 0,
        popular: popular.length,
      };
      const whole =
        c.personal === who.length &&
        c.knowledge === quizzers.length &&
        c.interests === interests.length &&
        c.completed === who.length &&
        c.resources === resources.length &&
        c.similar > 0 &&
        c.popular >= ids.length;
      return whole ? c : undefined;
    };

    /**
     * The end state compared with an uninterrupted run: counts exact, served keys as the stage's state has them,
     * popularity and co-engagement as the events sent make them.
     */
    const compareEndState = async (label: string) => {
      const all = [...sent.keys()];
      const counts = (u: string) => ({
        interactions: sent.get(u)!.filter((e) => e.kind !== 'quiz').length,
        quizzes: sent.get(u)!.filter((e) => e.kind === 'quiz').length,
      });
      await waitFor(
        () =>
          all.every((u) => {
            const l = p.learner(u);
            return l !== undefined && l.interactions === counts(u).interactions && l.quizzes === counts(u).quizzes;
          }),
        { timeoutMs: 60_000, intervalMs: 200, message: `${label}: every event sent applied` },
      );
      await new Promise((r) => setTimeout(r, 1500)); // anything applied twice would show now
      for (const u of all)
        expect({ u, interactions: p.learner(u)!.interactions, quizzes: p.learner(u)!.quizzes }).toEqual({ u, ...counts(u) });
      await p.flushDerived();
      // Every list reflects its learner's last event (what a re-rank of the final state writes).
      await waitFor(
        async () => {
          const lists = await Promise.all(all.map((u) => store.getRecommendations(u)));
          return lists.every((l, k) => l?.source === 'personal' && l.eventTime === p.learner(all[k])!.lastEventAt);
        },
        { timeoutMs: 60_000, intervalMs: 500, message: `${label}: every list personal and reflecting its learner's last event` },
      );
      let knowledgeDiff = 0;
      for (const u of all) {
        const l = p.learner(u)!;
        const group = p
          .groupIds()
          .map((g) => p.groupState(g)!)
          .find((g) => g.learners.get(u) === l)!;
        expect([u, await store.getCompleted(u)]).toEqual([u, new Set(l.completed)]);
        if (l.interests.length > 0) expect([u, await store.getProfileInterests(u)]).toEqual([u, l.interests]);
        if (l.quizzes > 0) {
          // Mastery reads the group's running item mean, which later learners' answers move: same skills, close values.
          const served = (await store.getKnowledge(u))!.skills;
          const state = group.knowledge.mastery(u);
          expect(served.map((s) => s.skill).sort()).toEqual(state.map((s) => s.skill).sort());
          for (const s of state)
            knowledgeDiff = Math.max(knowledgeDiff, Math.abs(served.find((x) => x.skill === s.skill)!.mastery - s.mastery));
        }
      }
      expect(knowledgeDiff).toBeLessThan(0.05);
      // Popularity: the positive events sent per resource (an uninterrupted run counts each once; 7-day decay over
      // minutes is < 0.01%). The rewrite raises it from the replica, which may lag the last few events.
      const positives = new Map<string, number>();
      for (const evs of sent.values()) for (const e of evs) positives.set(e.id, (positives.get(e.id) ?? 0) + 1);
      const served = new Map((await store.getPopular(100)).map((x) => [x.resourceId, x.score]));
      let popDev = 0;
      for (const [id, n] of positives) popDev = Math.max(popDev, Math.abs((served.get(id) ?? 0) - n) / n);
      // Co-engagement: the live rule replayed (a first engagement pairs with the learner's coEngagementWindow most recent).
      const co = new Map<string, Map<string, number>>();
      for (const evs of sent.values()) {
        const history: string[] = [];
        for (const e of evs) {
          if (e.kind !== 'quiz' && !history.includes(e.id)) {
            for (const other of history.slice(-p.coEngagementWindow)) {
              for (const [a, b] of [
                [e.id, other],
                [other, e.id],
              ]) {
                if (!co.has(a)) co.set(a, new Map());
                co.get(a)!.set(b, (co.get(a)!.get(b) ?? 0) + 1);
              }
            }
          }
          const at = history.indexOf(e.id);
          if (at >= 0) history.splice(at, 1);
          history.push(e.id);
        }
      }
      let coPairs = 0;
      for (const id of [...co.keys()].sort()) {
        const want = [...co.get(id)!].sort(([a], [b]) => (a < b ? -1 : 1));
        const got = (await store.getCoEngaged(id, 200))
          .map((x) => [x.resourceId, x.score] as [string, number])
          .sort(([a], [b]) => (a < b ? -1 : 1));
        expect([id, got]).toEqual([id, want]);
        coPairs += want.length;
      }
      process.stdout.write(
        `${label}: ${all.length} learners, counts exact; lists, completed, interests equal to state; knowledge max diff ${knowledgeDiff.toFixed(4)}; popularity max relative diff ${(popDev * 100).toFixed(2)}% over ${positives.size} resources; co-engagement ${coPairs} partner entries equal to the reference\n`,
      );
      return popDev;
    };

    const before = await waitFor(() => census(users, quizzed, interested, ids), {
      timeoutMs: 120_000,
      intervalMs: 500,
      message: 'serving view complete before the fault',
    });
    process.stdout.write(`before: ${JSON.stringify(before)}\n`);
    expect((await call('GET', '/v1/resources/alg-linear/similar?limit=5')).status).toBe(200);

    // Steady load meanwhile: clicks from the same learners, 20 every 200 ms.
    let loading = true;
    let n = 0;
    const startLoad = () =>
      (async () => {
        while (loading) {
          const batch = Array.from({ length: 20 }, (_, k) => interaction(users[(n + k) % LEARNERS], ids[(n + k) % ids.length]));
          await publish(batch).catch(() => undefined);
          n += batch.length;
          await new Promise((r) => setTimeout(r, 200));
        }
      })();
    let load = startLoad();
    await new Promise((r) => setTimeout(r, 2000));

    const rewritesBefore = pipeline.epochs.reduce((s, e) => s + e.rewrites, 0);
    const killRedis = async () => {
      const pid = readPid(stackPaths(config!).pids, 'redis')!.pid;
      process.kill(pid, 'SIGKILL');
      await waitFor(
        () => {
          try {
            process.kill(pid, 0);
            return false;
          } catch {
            return true;
          }
        },
        { timeoutMs: 10_000, message: 'redis gone' },
      );
    };
    await killRedis();
    const aof = path.join(dataDir, 'redis', 'appendonly');
    if (fs.existsSync(aof)) fs.renameSync(aof, `${aof}.lost`);
    const killedAt = Date.now();
    expect((await stackUp(config)).started).toEqual(['redis']);
    const after = await waitFor(() => census(users, quizzed, interested, ids), {
      timeoutMs: 90_000,
      intervalMs: 500,
      message: 'serving view rebuilt',
    });
    const backMs = Date.now() - killedAt;
    loading = false;
    await load;
    process.stdout.write(
      `after: ${JSON.stringify(after)}; whole again ${(backMs / 1000).toFixed(1)} s after the kill, under ${n} events of load\n`,
    );
    const lr = pipeline.lastLearnerRewrite;
    const cr = pipeline.lastCatalogRewrite;
    process.stdout.write(
      `learner rewrite: ${lr?.learners} learners, ${lr?.popular} popularity entries, ${lr?.pairs} co-engaged pairs in ${lr?.seconds.toFixed(2)} s = ${Math.round(lr?.perSecond ?? 0)} learners/s; catalogue rewrite: ${cr?.records} records, ${cr?.resources} resources, ${cr?.similar} similar lists in ${cr?.seconds.toFixed(2)} s\n`,
    );
    // The rewrite ran (the path under test), not the learners' next events alone.
    expect(pipeline.epochs.reduce((s, e) => s + e.rewrites, 0)).toBeGreaterThan(rewritesBefore);
    expect(lr?.learners).toBe(LEARNERS);
    expect(lr?.popular).toBe(ids.length);
    expect(cr?.resources).toBe(ids.length);
    const sim = await call('GET', '/v1/resources/alg-linear/similar?limit=5');
    expect(sim.status).toBe(200);
    expect(sim.body.source).toBe('similar');
    expect(await compareEndState('after the empty Redis')).toBeLessThan(0.05);

    // --- Restored from an older copy with the same epoch id. A clean stop and start first: nothing lost, no rewrite.
    const rewritesClean = pipeline.epochs.reduce((s, e) => s + e.rewrites, 0);
    await stackDown(config, { services: ['redis'] });
    fs.cpSync(aof, `${aof}.copy`, { recursive: true });
    expect((await stackUp(config)).started).toEqual(['redis']);
    loading = true;
    load = startLoad();
    const late = Array.from({ length: 40 }, (_, i) => `rb-late${i}`);
    const lateQuizzed = late.filter((_, i) => i % 4 === 0);
    const lateEvents: KindedEvent[] = [
      resource('bio-eco', ['biology'], {
        title: 'Ecosystems and food webs',
        description: 'Ecosystems: an introduction to biology.',
        skills: ['biology'],
      }),
    ];
    late.forEach((u, i) => lateEvents.push(interaction(u, ids[i % ids.length]), interaction(u, ids[(i + 3) % ids.length], 'complete')));
    lateQuizzed.forEach((u) => lateEvents.push(quiz(u, ids[late.indexOf(u) % ids.length], false)));
    await publish(lateEvents);
    await waitFor(() => census(late, lateQuizzed, [], [...ids, 'bio-eco']), {
      timeoutMs: 60_000,
      intervalMs: 500,
      message: 'late learners served before the restore',
    });
    // At least one generation mark of every stage after the copy (checks every 1 s here).
    await new Promise((r) => setTimeout(r, 2500));
    expect(pipeline.epochs.reduce((s, e) => s + e.rewrites, 0)).toBe(rewritesClean);
    expect(await store.getRecommendations(late[0])).not.toBeNull();
    await killRedis();
    fs.rmSync(aof, { recursive: true, force: true });
    fs.renameSync(`${aof}.copy`, aof);
    pending.length = 0;
    const reasons = new Set<string>();
    const watching = setInterval(() => {
      for (const r of pipeline.readiness().reasons) reasons.add(r.replace(/\d+ left/, 'N left'));
    }, 20);
    const restoredAt = Date.now();
    expect((await stackUp(config)).started).toEqual(['redis']);
    const restored = await waitFor(() => census([...users, ...late], [...quizzed, ...lateQuizzed], interested, [...ids, 'bio-eco']), {
      timeoutMs: 90_000,
      intervalMs: 500,
      message: 'serving view rebuilt after the older copy',
    });
    const restoredMs = Date.now() - restoredAt;
    clearInterval(watching);
    loading = false;
    await load;
    process.stdout.write(
      `older copy: ${JSON.stringify(restored)}; whole again ${(restoredMs / 1000).toFixed(1)} s after the restore; causes ${causes.join(', ')}; readiness reasons seen: ${[...reasons].join(' | ')}; learner pending ${pending.slice(0, 3).join(', ')} ... ${pending.slice(-2).join(', ')}\n`,
    );
    expect(pipeline.epochs.map((e) => e.lastCause)).toEqual(['behind', 'behind']);
    expect(causes.filter((c) => c.endsWith(':behind')).sort()).toEqual(['catalog:behind', 'learner:behind']);
    expect([...reasons].some((r) => r.startsWith('rebuilding serving view (learner: serving store behind'))).toBe(true);
    expect(Math.max(...pending)).toBeGreaterThan(0);
    expect(pending[pending.length - 1]).toBe(0);
    expect(pipeline.lastLearnerRewrite?.learners).toBe(LEARNERS + late.length);
    await waitFor(() => pipeline.readiness().ready, { timeoutMs: 30_000, message: 'ready after the rebuild' });
    expect(await compareEndState('after the older copy')).toBeLessThan(0.05);
  });
});
