/**
 * GET /v1/learners/:id/path against the in-memory store (the curriculum written through the store interface, as the
 * catalogue stage writes it). Every response is validated against the OpenAPI document by the client. Free text with
 * the real encoder is in test/integration/api-path-junyi.test.ts; here the encoder's absence is tested for real (a
 * model directory that does not exist), and text matching with a fixed table of cosines.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { Registry } from 'prom-client';
import { startApi, type RunningApi } from '../../api/server';
import type { TextGoalResolver } from '../../api/recommend/text-goals';
import { loadConfig } from '../../lib/config';
import { createLogger } from '../../lib/log';
import { MemoryServingStore } from '../../serving/memory-store';
import { pathViolation, standingOf } from '../../models/paths';
import { apiClient } from './api-client';

const node = (resourceId: string, prerequisites: string[], skills = [resourceId], active = true) => ({
  resourceId,
  title: `Title of ${resourceId}`,
  prerequisites,
  skills,
  active,
});

describe('GET /v1/learners/:id/path', () => {
  jest.setTimeout(30_000);
  const apis: RunningApi[] = [];
  const store = new MemoryServingStore();
  const start = async (textGoals?: TextGoalResolver, encoderDir?: string) => {
    const config = loadConfig({
      env: {},
      overrides: {
        api: { apiKeys: [{ key: 'test-read-key', scopes: ['read'], name: 'reader' }] },
        ...(encoderDir ? { model: { encoderDir } } : {}),
      },
    });
    const api = await startApi({
      config,
      store,
      registry: new Registry(),
      port: 0,
      logger: createLogger({ level: 'error' }),
      health: { store: () => store.ping() },
      ...(textGoals ? { textGoals } : {}),
    });
    apis.push(api);
    return apiClient(`http://127.0.0.1:${api.port}`, 'test-read-key');
  };
  let call: Awaited<ReturnType<typeof start>>;

  beforeAll(async () => {
    // counting -> addition -> {subtraction, multiplication} -> division; 'old' retired between addition and fractions
    for (const n of [
      node('counting', []),
      node('addition', ['counting']),
      node('subtraction', ['addition']),
      node('multiplication', ['addition'], ['multiplication', 'times-tables']),
      node('division', ['multiplication', 'subtraction']),
      node('old', ['addition'], ['old'], false),
      node('fractions', ['old', 'division']),
      node('loop-a', ['loop-b']),
      node('loop-b', ['loop-a']),
      node('after-loop', ['loop-a']),
    ])
      await store.putCurriculumNode(n);
    await store.putKnowledge({
      userId: 'u1',
      updatedAt: 1,
      skills: [
        { skill: 'counting', mastery: 0.95, uncertainty: 0.2, attempts: 30 },
        { skill: 'addition', mastery: 0.6, uncertainty: 0.3, attempts: 10 },
        { skill: 'loop-b', mastery: 0.9, uncertainty: 0.3, attempts: 10 },
      ],
    });
    await store.addCompleted('u1', ['subtraction']);
    call = await start(undefined, path.join(os.tmpdir(), 'no-such-encoder-dir'));
  });
  afterAll(async () => {
    for (const a of apis) await a.stop();
  });

  it('plans from where the learner stands: mastered and completed resources skipped, each step with P(success), unlocks and a reason', async () => {
    const r = await call('GET', '/v1/learners/u1/path?goal=division');
    expect(r.status).toBe(200);
    expect(r.body.status).toBe('path');
    expect(r.body.goal).toEqual({ query: 'division', kind: 'resource', resourceIds: ['division'] });
    expect(r.body.masteryThreshold).toBe(0.8);
    // counting mastered (0.95 ≥ 0.8), subtraction completed: neither is a step; addition at 0.6 is
    expect(r.body.steps.map((s: { resourceId: string }) => s.resourceId)).toEqual(['addition', 'multiplication', 'division']);
    expect(r.body.steps[0]).toMatchObject({
      pSuccess: 0.6,
      unlocks: ['multiplication'],
      reason: { code: 'prerequisite', ref: 'multiplication' },
    });
    expect(r.body.steps[1]).toMatchObject({ pSuccess: null, unlocks: ['division'], skills: ['multiplication', 'times-tables'] });
    expect(r.body.steps[2].reason.code).toBe('goal');
    expect(r.headers.get('cache-control')).toBe('private, no-store');
  });

  it('a step the learner answered without mastering comes after the new steps that do not need it', async () => {
    await store.putKnowledge({
      userId: 'u2',
      updatedAt: 1,
      skills: [
        { skill: 'counting', mastery: 0.95, uncertainty: 0.2, attempts: 30 },
        { skill: 'addition', mastery: 0.9, uncertainty: 0.2, attempts: 12 },
        { skill: 'multiplication', mastery: 0.5, uncertainty: 0.4, attempts: 2 },
        { skill: 'times-tables', mastery: 0.7, uncertainty: 0.4, attempts: 2 },
      ],
    });
    // chain order would retry multiplication first (failed twice); subtraction, new to u2, goes before it
    const r = await call('GET', '/v1/learners/u2/path?goal=division');
    expect(r.body.steps.map((s: { resourceId: string; pSuccess: number | null }) => [s.resourceId, s.pSuccess])).toEqual([
      ['subtraction', null],
      ['multiplication', 0.35],
      ['division', null],
    ]);
  });

  it('a step failing behind a prerequisite mastered on one answer brings that prerequisite back as a review step', async () => {
    const know = (userId: string, additionAnswers: number) =>
      store.putKnowledge({
        userId,
        updatedAt: 1,
        skills: [
          { skill: 'counting', mastery: 0.95, uncertainty: 0.2, attempts: 30 },
          { skill: 'addition', mastery: 0.85, uncertainty: 0.5, attempts: additionAnswers },
          { skill: 'multiplication', mastery: 0.3, uncertainty: 0.4, attempts: 2 },
          { skill: 'times-tables', mastery: 0.4, uncertainty: 0.4, attempts: 2 },
        ],
      });
    // multiplication fails (P 0.12) although addition looks mastered (0.85), on a single answer: a lucky guess is the
    // likelier story than a failure to learn, so addition is a step again, before what needs it
    await know('u3', 1);
    const r = await call('GET', '/v1/learners/u3/path?goal=division');
    expect(r.status).toBe(200);
    expect(r.body.steps.map((s: { resourceId: string }) => s.resourceId)).toEqual([
      'addition',
      'subtraction',
      'multiplication',
      'division',
    ]);
    expect(r.body.steps[0]).toMatchObject({ pSuccess: 0.85, reason: { code: 'review', ref: 'multiplication' } });
    // valid against the stored knowledge as it stands: the review step is the one mastered resource on the path
    const mastery = new Map([
      ['counting', 0.95],
      ['addition', 0.85],
      ['multiplication', 0.3],
      ['times-tables', 0.4],
    ]);
    const nodes = new Map(
      [node('counting', []), node('addition', ['counting']), node('subtraction', ['addition'])]
        .concat([
          node('multiplication', ['addition'], ['multiplication', 'times-tables']),
          node('division', ['multiplication', 'subtraction']),
        ])
        .map((n) => [n.resourceId, { id: n.resourceId, prerequisites: n.prerequisites, skills: n.skills }]),
    );
    const raw = (id: string) => standingOf(nodes.get(id)?.skills ?? [], mastery, false);
    expect(pathViolation(r.body.steps, nodes, raw)).toBeNull();
    expect(pathViolation([{ resourceId: 'addition' }], nodes, raw)).toBe('addition is mastered yet a step');
    // on five answers addition's mastery is not in doubt: multiplication is retried without it
    await know('u4', 5);
    const r4 = await call('GET', '/v1/learners/u4/path?goal=division');
    expect(r4.body.steps.map((s: { resourceId: string }) => s.resourceId)).toEqual(['subtraction', 'multiplication', 'division']);
  });

  it('bypasses a retired prerequisite, keeps what it built on; max cuts a valid prefix', async () => {
    const r = await call('GET', '/v1/learners/nobody/path?goal=fractions&max=2');
    expect(r.body.steps.map((s: { resourceId: string }) => s.resourceId)).toEqual(['counting', 'addition']);
    expect(r.body).toMatchObject({ totalSteps: 6, truncated: true });
    const all = await call('GET', '/v1/learners/nobody/path?goal=fractions');
    expect(all.body.steps.map((s: { resourceId: string }) => s.resourceId)).toEqual([
      'counting',
      'addition',
      'multiplication',
      'subtraction',
      'division',
      'fractions',
    ]);
    expect(all.body.steps[5].prerequisites).toEqual(['addition', 'division']);
  });

  it('a skill goal plans to the resources that train it; a mastered goal answers an empty path saying why', async () => {
    const skill = await call('GET', '/v1/learners/nobody/path?goal=times-tables');
    expect(skill.body.goal).toEqual({ query: 'times-tables', kind: 'skill', skill: 'times-tables', resourceIds: ['multiplication'] });
    expect(skill.body.steps.map((s: { resourceId: string }) => s.resourceId)).toEqual(['counting', 'addition', 'multiplication']);
    const done = await call('GET', '/v1/learners/u1/path?goal=counting');
    expect(done.body).toMatchObject({ status: 'goal-mastered', steps: [], totalSteps: 0 });
    expect(done.body.reason).toMatch(/already mastered/);
    const doneSkill = await call('GET', '/v1/learners/u1/path?goal=counting');
    expect(doneSkill.status).toBe(200);
  });

  it('cycles: 409 with the cycle, unless the learner mastered a resource on it', async () => {
    const r = await call('GET', '/v1/learners/nobody/path?goal=after-loop');
    expect(r.status).toBe(409);
    expect(r.body.type).toBe('https://learnstream.dev/problems/prerequisite-cycle');
    expect(r.body.cycle).toEqual(['loop-a', 'loop-b', 'loop-a']);
    expect(r.body.detail).toMatch(/loop-a → loop-b → loop-a/);
    const u1 = await call('GET', '/v1/learners/u1/path?goal=after-loop'); // u1 masters loop-b
    expect(u1.body.steps.map((s: { resourceId: string }) => s.resourceId)).toEqual(['loop-a', 'after-loop']);
  });

  it('unknown goal text without an encoder: 503 encoder-unavailable saying so; a retired goal: 404; no goal: 400', async () => {
    const r = await call('GET', `/v1/learners/u1/path?goal=${encodeURIComponent('long division with remainders')}`);
    expect(r.status).toBe(503);
    expect(r.body.type).toBe('https://learnstream.dev/problems/encoder-unavailable');
    expect(r.body.detail).toMatch(/neither a resource id nor a skill.*content encoder.*no-such-encoder-dir/);
    const old = await call('GET', '/v1/learners/u1/path?goal=old');
    expect(old.status).toBe(404);
    expect(old.body.type).toBe('https://learnstream.dev/problems/unknown-goal');
    expect((await call('GET', '/v1/learners/u1/path')).status).toBe(400);
    expect((await call('GET', '/v1/learners/u1/path?goal=division&max=0')).status).toBe(400);
  });

  it('free text resolves to the nearest resource and lists matches; too far: 404 with the matches', async () => {
    const table: Record<string, { resourceId: string; cosine: number }[]> = {
      'sharing equally': [
        { resourceId: 'division', cosine: 0.71 },
        { resourceId: 'old', cosine: 0.7 },
        { resourceId: 'fractions', cosine: 0.52 },
      ],
      'french history': [{ resourceId: 'counting', cosine: 0.12 }],
    };
    const text = await start({ nearest: (t, k) => Promise.resolve((table[t] ?? []).slice(0, k)) });
    const r = await text('GET', `/v1/learners/u1/path?goal=${encodeURIComponent('sharing equally')}`);
    expect(r.body.goal.kind).toBe('text');
    expect(r.body.goal.resourceIds).toEqual(['division']);
    // the retired resource is never offered as a match
    expect(r.body.goal.matches).toEqual([
      { kind: 'resource', id: 'division', title: 'Title of division', cosine: 0.71 },
      { kind: 'resource', id: 'fractions', title: 'Title of fractions', cosine: 0.52 },
      { kind: 'skill', id: 'division', cosine: 0.71 },
      { kind: 'skill', id: 'fractions', cosine: 0.52 },
    ]);
    expect(r.body.steps.at(-1).resourceId).toBe('division');
    const far = await text('GET', `/v1/learners/u1/path?goal=${encodeURIComponent('french history')}`);
    expect(far.status).toBe(404);
    expect(far.body.matches).toEqual([
      { kind: 'resource', id: 'counting', title: 'Title of counting', cosine: 0.12 },
      { kind: 'skill', id: 'counting', cosine: 0.12 },
    ]);
  });
});
