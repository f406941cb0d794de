/**
 * @jest-environment ./test/helpers/ort-environment.js
 *
 * The serving view is rebuilt after Redis comes back empty (issue 17, item 4): a private Redis (own port and data
 * dir; Kafka and the registry are the shared test stack) under the live pipeline (learner, item and catalogue stages,
 * the ONNX encoder) and a steady event load; kill -9 of Redis, its append-only file moved aside, a fresh start on an
 * empty data dir. The stages notice the missing epoch key and rewrite from their own state: every learner's list
 * (personal, not the popular fallback), knowledge, completed set and declared interests, every catalogue entry and
 * similar-items list; GET /v1/resources/<id>/similar answers 200 from the similar list again.
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
  return { kind: 'quizAttempt', event: { eventId: `qz-${Date.now()}-${q++}`, userId, itemId: `${resourceId}-q1`, resourceId, skills: [resourceId.split('-')[0]], correct, score: null, attempt: 1, responseTimeMs: 5000, occurredAt: Date.now() } };
}

(('dir' in model) ? describe : describe.skip)('serving view rebuilt after Redis comes back empty (kill -9, AOF moved aside)', () => {
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

  it('lists, knowledge, completed, interests, catalogue and similar lists are back; /similar is 200 again', async () => {
    const redisPort = await freePort();
    config = testConfig('rebuild', {
      dataDir, stack: { redisPort }, redis: { url: `redis://127.0.0.1:${redisPort}`, managed: true }, kafka: { managed: false, partitions: 2 }, registry: { managed: false },
      pipeline: { rerankIntervalMs: 50, checkpointIntervalMs: 1000 },
    });
    expect((await stackUp(config)).started).toEqual(['redis']);
    encoder = await OnnxSentenceEncoder.load((model as { dir: string }).dir);
    h = await createHarness(config);
    const pipeline: Pipeline = await h.start(['learner', 'item', 'catalog'], { embed: encoder.embed });
    api = await startApi({ config, store: h.store, registry: new Registry(), port: 0, logger: createLogger({ level: 'error' }), health: { redis: () => h!.store.ping() } });
    const call = apiClient(`http://127.0.0.1:${api.port}`, 'dev-read-key');
    const store = h.store;

    await h.publisher.publish(CATALOGUE.map(([id, title, topic]) => resource(id, [topic], { title, description: `${title}: an introduction to ${topic}.`, skills: [topic] })));
    const users = Array.from({ length: LEARNERS }, (_, i) => `rb-u${i}`);
    const interested = users.filter((_, i) => i % 10 === 0);
    const quizzed = users.filter((_, i) => i % 5 === 1);
    const events: KindedEvent[] = [];
    users.forEach((u, i) => {
      events.push(interaction(u, ids[i % ids.length]), interaction(u, ids[(i + 1) % ids.length], 'complete'));
    });
    for (const u of interested) events.push(profile(u, ['biology']));
    for (const u of quizzed) events.push(quiz(u, 'alg-linear', true));
    await h.publisher.publish(events);

    /** What a reader finds, per key kind; every count must reach its total. */
    const census = async () => {
      const lists = await Promise.all(users.map((u) => store.getRecommendations(u).catch(() => null)));
      const knowledge = await Promise.all(quizzed.map((u) => store.getKnowledge(u).catch(() => null)));
      const interests = await Promise.all(interested.map((u) => store.getProfileInterests(u).catch(() => null)));
      const completed = await Promise.all(users.map((u) => store.getCompleted(u).catch(() => new Set<string>())));
      const resources = await store.getResources(ids).catch(() => []);
      const similar = await store.getSimilar('alg-linear').catch(() => null);
      return {
        personal: lists.filter((l) => l && l.source === 'personal').length,
        knowledge: knowledge.filter((k) => k && k.skills.length > 0).length,
        interests: interests.filter((x) => x && x.length > 0).length,
        completed: completed.filter((c) => c.size > 0).length,
        resources: resources.filter((r) => r).length,
        similar: similar?.length ?? 0,
      };
    };
    const whole = (c: Awaited<ReturnType<typeof census>>) => c.personal === LEARNERS && c.knowledge === quizzed.length && c.interests === interested.length && c.completed === LEARNERS && c.resources === ids.length && c.similar > 0;
    const before = await waitFor(async () => { const c = await census(); return whole(c) ? c : undefined; }, { timeoutMs: 120_000, intervalMs: 500, message: 'serving view complete before the fault' });
    process.stdout.write(`before: ${JSON.stringify(before)}\n`);
    expect((await call('GET', '/v1/resources/alg-linear/similar?limit=5')).status).toBe(200);

    // Steady load meanwhile: clicks from the same learners, 20 every 200 ms.
    let loading = true;
    let sent = 0;
    const load = (async () => {
      while (loading) {
        const batch = Array.from({ length: 20 }, (_, k) => interaction(users[(sent + k) % LEARNERS], ids[(sent + k) % ids.length]));
        await h.publisher.publish(batch).catch(() => undefined);
        sent += batch.length;
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
    await new Promise((r) => setTimeout(r, 2000));

    const rewritesBefore = pipeline.epochs.reduce((s, e) => s + e.rewrites, 0);
    const pid = readPid(stackPaths(config).pids, 'redis')!.pid;
    process.kill(pid, 'SIGKILL');
    await waitFor(() => { try { process.kill(pid, 0); return false; } catch { return true; } }, { timeoutMs: 10_000, message: 'redis gone' });
    const aof = path.join(dataDir, 'redis', 'appendonly');
    if (fs.existsSync(aof)) fs.renameSync(aof, `${aof}.lost`);
    const killedAt = Date.now();
    expect((await stackUp(config)).started).toEqual(['redis']);
    const after = await waitFor(async () => { const c = await census(); return whole(c) ? c : undefined; }, { timeoutMs: 90_000, intervalMs: 500, message: 'serving view rebuilt' });
    const backMs = Date.now() - killedAt;
    loading = false;
    await load;
    process.stdout.write(`after: ${JSON.stringify(after)}; whole again ${(backMs / 1000).toFixed(1)} s after the kill, under ${sent} events of load\n`);
    const lr = pipeline.lastLearnerRewrite;
    const cr = pipeline.lastCatalogRewrite;
    process.stdout.write(`learner rewrite: ${lr?.learners} learners in ${lr?.seconds.toFixed(2)} s = ${Math.round(lr?.perSecond ?? 0)} learners/s; catalogue rewrite: ${cr?.records} records, ${cr?.resources} resources, ${cr?.similar} similar lists in ${cr?.seconds.toFixed(2)} s\n`);
    // The rewrite ran (the path under test), not the learners' next events alone.
    expect(pipeline.epochs.reduce((s, e) => s + e.rewrites, 0)).toBeGreaterThan(rewritesBefore);
    expect(lr?.learners).toBe(LEARNERS);
    expect(cr?.resources).toBe(ids.length);
    const sim = await call('GET', '/v1/resources/alg-linear/similar?limit=5');
    expect(sim.status).toBe(200);
    expect(sim.body.source).toBe('similar');
  });
});
