/**
 * The ServingStore contract, run against every implementation: in-memory in test/unit/serving-memory.test.ts, Redis in
 * test/integration/serving-redis.test.ts (random key prefix). Not a test file itself (no .test.ts suffix).
 */
import { hasCurriculum } from '../../serving/curriculum';
import type { RecommendationList, ServingStore } from '../../serving/types';

const DAY = 24 * 3600 * 1000;
const T = Date.UTC(2026, 5, 1);

export interface ContractHarness {
  /** A fresh, empty store whose clock is `now` and popularity half-life is 7 days. */
  make(now: () => number): Promise<ServingStore>;
}

function list(userId: string, ids: string[], source: RecommendationList['source'] = 'personal'): RecommendationList {
  return {
    userId,
    items: ids.map((resourceId, i) => ({
      resourceId,
      score: 1 - i / 10,
      reasons: [{ code: 'similar-learners', text: 'Learners like you' }],
      type: 'video',
      topics: ['algebra'],
    })),
    modelVersion: 'm1',
    generatedAt: T,
    eventTime: T - 50,
    source,
  };
}

/**
 * `l` as a store returns it: scores are kept to 16 bits between the list's minimum and maximum (list format 4,
 * serving/compact-list.ts), so each reads back within (max - min) / 65535; everything else exactly.
 */
function asStored(l: RecommendationList): RecommendationList {
  const scores = l.items.map((it) => it.score);
  const tolerance = (Math.max(...scores) - Math.min(...scores)) / 65535;
  return {
    ...l,
    items: l.items.map((it) => ({ ...it, score: expect.closeTo(it.score, Math.max(0, -Math.log10(tolerance)) - 0.3) as number })),
  };
}

export function servingStoreContract(name: string, harness: ContractHarness): void {
  describe(`ServingStore contract: ${name}`, () => {
    let now = T;
    let store: ServingStore;
    beforeEach(async () => {
      now = T;
      store = await harness.make(() => now);
    });
    afterEach(async () => {
      await store.close();
    });

    it('round-trips a list and replaces it as a whole', async () => {
      expect(await store.getRecommendations('u1')).toBeNull();
      await store.putRecommendations(list('u1', ['a', 'b', 'c']));
      expect(await store.getRecommendations('u1')).toEqual(asStored(list('u1', ['a', 'b', 'c'])));
      await store.putRecommendations(list('u1', ['d'], 'cold-start:interests'));
      const got = await store.getRecommendations('u1');
      expect(got?.items.map((i) => i.resourceId)).toEqual(['d']);
      expect(got?.source).toBe('cold-start:interests');
    });

    it('keeps the last of several writes of a list sent without waiting, whether they bring new reasons or not', async () => {
      await store.putRecommendations(list('u1', ['a']));
      const fresh = list('u1', ['n1', 'n2']);
      fresh.items[0].reasons = [{ code: 'next-after', text: 'Next after N0', ref: 'n0' }];
      const writes = [
        store.putRecommendations(fresh),
        store.putRecommendations(list('u1', ['a'])),
        store.putRecommendations(list('u1', ['b', 'a'])),
      ];
      await Promise.all(writes);
      expect((await store.getRecommendations('u1'))?.items.map((i) => i.resourceId)).toEqual(['b', 'a']);
      await store.putRecommendations(fresh);
      expect(await store.getRecommendations('u1')).toEqual(asStored(fresh));
    });

    it('writes a batch of lists as putRecommendations of each would, after earlier writes, with new and known entries', async () => {
      if (!store.putRecommendationLists) return; // optional: callers write one list at a time
      await store.putRecommendations(list('u1', ['a']));
      const fresh = list('u2', ['n1', 'a']);
      fresh.items[0].reasons = [{ code: 'next-after', text: 'Next after N0', ref: 'n0' }];
      const tagged = list('u3', ['a', 'n1']);
      tagged.ref = { experiment: 'e1', variant: 'b' };
      const known = list('u4', ['b', 'a']);
      const first = store.putRecommendations(list('u1', ['b']));
      await Promise.all([first, store.putRecommendationLists([list('u1', ['n2', 'b']), fresh, tagged, known])]);
      expect((await store.getRecommendations('u1'))?.items.map((i) => i.resourceId)).toEqual(['n2', 'b']);
      expect(await store.getRecommendations('u2')).toEqual(asStored(fresh));
      expect(await store.getRecommendations('u3')).toEqual(asStored(tagged));
      expect(await store.getRecommendations('u4')).toEqual(asStored(known));
      // every entry known now: the next batch is written at once
      await store.putRecommendationLists([list('u4', ['n1', 'n2'])]);
      expect((await store.getRecommendations('u4'))?.items.map((i) => i.resourceId)).toEqual(['n1', 'n2']);
      await store.putRecommendationLists([]);
    });

    it('keeps non-finite scores exactly and ties as ties', async () => {
      const l = list('u1', ['a', 'b', 'c', 'd']);
      [Infinity, 0.5, 0.5, NaN].forEach((s, i) => (l.items[i].score = s));
      await store.putRecommendations(l);
      expect((await store.getRecommendations('u1'))?.items.map((i) => i.score)).toEqual([Infinity, 0.5, 0.5, NaN]);
      [0.7, 0.5, 0.5, 0.1].forEach((s, i) => (l.items[i].score = s));
      await store.putRecommendations(l);
      const v = (await store.getRecommendationView('u1'))!;
      expect(v.score(1)).toBe(v.score(2));
      expect([v.score(0), v.score(3)]).toEqual([0.7, 0.1]);
    });

    it('returns copies: mutating a returned list does not change the store', async () => {
      await store.putRecommendations(list('u1', ['a']));
      const got = (await store.getRecommendations('u1'))!;
      got.items.push({ resourceId: 'zzz', score: 0, reasons: [] });
      expect((await store.getRecommendations('u1'))!.items).toHaveLength(1);
    });

    it('serves the same list as a lazily decoded view, a copy per read', async () => {
      expect(await store.getRecommendationView('u1')).toBeNull();
      const l = list('u1', ['a', 'b', 'c']);
      delete l.eventTime;
      l.items[1].reasons = [];
      l.items[2] = {
        resourceId: 'c',
        score: 0.25,
        reasons: [
          { code: 'next-after', text: 'Next after "A"\nthen B', ref: 'a' },
          { code: 'popular', text: 'Popular right now' },
        ],
      };
      await store.putRecommendations(l);
      const v = (await store.getRecommendationView('u1'))!;
      expect(v).toMatchObject({ userId: 'u1', modelVersion: 'm1', generatedAt: T, source: 'personal', ids: ['a', 'b', 'c'] });
      // The ends exactly, a score between them within (max - min) / 65535.
      expect([0, 1, 2].map((i) => v.score(i))).toEqual([1, expect.closeTo(0.9, 4), 0.25]);
      expect(v.eventTime).toBeUndefined();
      expect(v.ids.map((_, i) => v.item(i))).toEqual(asStored(l).items);
      v.item(0).reasons.push({ code: 'popular', text: 'x' });
      expect((await store.getRecommendationView('u1'))!.item(0)).toEqual(l.items[0]);
      expect(await store.getRecommendations('u1')).toEqual(asStored(l));
      await store.eraseLearner('u1');
      expect(await store.getRecommendationView('u1')).toBeNull();
    });

    it('stores resources, returns them in the asked order with null for unknown ids, deletes them', async () => {
      const meta = {
        resourceId: 'r1',
        title: 'Fractions',
        type: 'video',
        topics: ['math'],
        skills: ['fractions'],
        difficulty: 0.2,
        active: true,
      };
      await store.putResource(meta);
      await store.putResource({ ...meta, resourceId: 'r2', title: 'Decimals' });
      expect(await store.getResources(['r2', 'nope', 'r1'])).toEqual([{ ...meta, resourceId: 'r2', title: 'Decimals' }, null, meta]);
      expect(await store.getResources([])).toEqual([]);
      await store.putSimilar('r1', [
        { resourceId: 'r2', score: 0.9, reasons: [{ code: 'content-similar', text: 'Similar content', ref: 'r1' }] },
      ]);
      await store.incrementPopularity('r1', 1, ['math']);
      await store.deleteResource('r1');
      expect(await store.getResources(['r1'])).toEqual([null]);
      expect(await store.getSimilar('r1')).toBeNull();
      expect((await store.getPopular(10)).map((p) => p.resourceId)).not.toContain('r1');
      expect((await store.getPopular(10, 'math')).map((p) => p.resourceId)).not.toContain('r1');
    });

    it('stores similar items and knowledge', async () => {
      expect(await store.getSimilar('r1')).toBeNull();
      const sim = [{ resourceId: 'r2', score: 0.9, reasons: [{ code: 'content-similar' as const, text: 'Similar content', ref: 'r1' }] }];
      await store.putSimilar('r1', sim);
      expect(await store.getSimilar('r1')).toEqual(sim);
      expect(await store.getKnowledge('u1')).toBeNull();
      const k = { userId: 'u1', skills: [{ skill: 'fractions', mastery: 0.62, uncertainty: 0.4, attempts: 7 }], updatedAt: T };
      await store.putKnowledge(k);
      expect(await store.getKnowledge('u1')).toEqual(k);
    });

    it('accumulates completed resources as a set', async () => {
      expect(await store.getCompleted('u1')).toEqual(new Set());
      await store.addCompleted('u1', ['a', 'b']);
      await store.addCompleted('u1', ['b', 'c']);
      await store.addCompleted('u1', []);
      expect(await store.getCompleted('u1')).toEqual(new Set(['a', 'b', 'c']));
    });

    it('adds the completions of several learners in one call, as one call each would', async () => {
      await store.addCompleted('u1', ['a']);
      await store.addCompletedMany(new Map());
      await store.addCompletedMany(
        new Map([
          ['u1', ['b', 'a']],
          ['u2', ['c']],
          ['u3', []],
        ]),
      );
      expect(await store.getCompleted('u1')).toEqual(new Set(['a', 'b']));
      expect(await store.getCompleted('u2')).toEqual(new Set(['c']));
      expect(await store.getCompleted('u3')).toEqual(new Set());
    });

    it('ranks popularity overall and per topic, with decayed scores', async () => {
      await store.incrementPopularity('a', 1, ['math']);
      await store.incrementPopularity('b', 1, ['math', 'physics']);
      await store.incrementPopularity('b', 1, ['math', 'physics']);
      await store.incrementPopularity('c', 5, ['art']);
      expect((await store.getPopular(10)).map((p) => p.resourceId)).toEqual(['c', 'b', 'a']);
      expect((await store.getPopular(2)).map((p) => p.resourceId)).toEqual(['c', 'b']);
      const math = await store.getPopular(10, 'math');
      expect(math.map((p) => p.resourceId)).toEqual(['b', 'a']);
      expect(math[0].score).toBeCloseTo(2, 6);
      expect(await store.getPopular(10, 'nothing')).toEqual([]);
      // One half-life later every score has halved.
      now = T + 7 * DAY;
      expect((await store.getPopular(1, 'math'))[0].score).toBeCloseTo(1, 6);
    });

    it('applies a batch of popularity increments as the same calls one by one would', async () => {
      await store.incrementPopularityMany([]);
      expect(await store.getPopular(10)).toEqual([]);
      await store.incrementPopularityMany([
        { resourceId: 'a', by: 1, topics: ['math'] },
        { resourceId: 'b', by: 2, topics: ['math', 'physics', 'math'] },
        { resourceId: 'c', by: 5, topics: ['art'] },
        { resourceId: 'old', by: 8, topics: ['art'], at: T - 28 * DAY },
        { resourceId: 'a', by: 2, topics: ['math'] },
      ]);
      const all = await store.getPopular(10);
      expect(all.map((p) => p.resourceId)).toEqual(['c', 'a', 'b', 'old']);
      expect(all.map((p) => p.score)).toEqual([5, 3, 2, 0.5].map((x) => expect.closeTo(x, 6) as number));
      expect((await store.getPopular(10, 'math')).map((p) => [p.resourceId, Math.round(p.score * 1e6) / 1e6])).toEqual([
        ['a', 3],
        ['b', 2],
      ]);
      expect((await store.getPopular(10, 'physics')).map((p) => p.resourceId)).toEqual(['b']);
      expect((await store.getPopular(10, 'art')).map((p) => p.resourceId)).toEqual(['c', 'old']);
    });

    it('lets recent events outrank more numerous old ones (time decay, event time honoured)', async () => {
      for (let i = 0; i < 3; i++) await store.incrementPopularity('old', 1, [], T - 28 * DAY);
      await store.incrementPopularity('new', 1, [], T);
      const top = await store.getPopular(2);
      expect(top.map((p) => p.resourceId)).toEqual(['new', 'old']);
      expect(top[1].score).toBeCloseTo(3 / 16, 6);
    });

    it('counts co-engagement both ways, strongest partners first, and hands out each changed resource once', async () => {
      await store.incrementCoEngagement([
        { a: 'x', b: 'y', by: 1 },
        { a: 'x', b: 'z', by: 1 },
      ]);
      await store.incrementCoEngagement([{ a: 'z', b: 'x', by: 2 }]);
      expect(await store.getCoEngaged('x', 10)).toEqual([
        { resourceId: 'z', score: 3 },
        { resourceId: 'y', score: 1 },
      ]);
      expect(await store.getCoEngaged('y', 10)).toEqual([{ resourceId: 'x', score: 1 }]);
      expect(await store.getCoEngaged('x', 1)).toEqual([{ resourceId: 'z', score: 3 }]);
      expect(await store.getCoEngaged('nobody', 5)).toEqual([]);
      const changed = [...(await store.takeCoEngagementChanges(2)), ...(await store.takeCoEngagementChanges(10))];
      expect(changed.sort()).toEqual(['x', 'y', 'z']);
      expect(await store.takeCoEngagementChanges(10)).toEqual([]);
      await store.deleteResource('x');
      expect(await store.getCoEngaged('x', 10)).toEqual([]);
    });

    it('raises popularity and co-engagement to at least a rewritten count, never lowers or adds (serving-view rewrite)', async () => {
      await store.incrementPopularityMany([
        { resourceId: 'live', by: 2, topics: ['math'] },
        { resourceId: 'a', by: 1, topics: ['math'] },
      ]);
      await store.raisePopularityMany([
        { resourceId: 'a', by: 4, topics: ['math'] },
        { resourceId: 'live', by: 1, topics: ['math'] },
        { resourceId: 'b', by: 3, topics: [] },
      ]);
      expect((await store.getPopular(10)).map((p) => [p.resourceId, Math.round(p.score * 1e6) / 1e6])).toEqual([
        ['a', 4],
        ['b', 3],
        ['live', 2],
      ]);
      expect((await store.getPopular(10, 'math')).map((p) => p.resourceId)).toEqual(['a', 'live']);
      // A second rewrite of the same values (another instance) changes nothing; live traffic still adds on top.
      await store.raisePopularityMany([{ resourceId: 'a', by: 4, topics: ['math'] }]);
      await store.incrementPopularity('a', 1, ['math']);
      expect((await store.getPopular(1))[0].score).toBeCloseTo(5, 6);
      await store.incrementCoEngagement([{ a: 'x', b: 'y', by: 2 }]);
      await store.takeCoEngagementChanges(10);
      await store.raiseCoEngagement([
        { a: 'y', b: 'x', by: 1 },
        { a: 'x', b: 'z', by: 3 },
      ]);
      expect(await store.getCoEngaged('x', 10)).toEqual([
        { resourceId: 'z', score: 3 },
        { resourceId: 'y', score: 2 },
      ]);
      expect(await store.getCoEngaged('z', 10)).toEqual([{ resourceId: 'x', score: 3 }]);
      expect((await store.takeCoEngagementChanges(10)).sort()).toEqual(['x', 'y', 'z']);
    });

    it('stores profile interests', async () => {
      expect(await store.getProfileInterests('u1')).toBeNull();
      await store.putProfileInterests('u1', ['algebra', 'geometry']);
      expect(await store.getProfileInterests('u1')).toEqual(['algebra', 'geometry']);
    });

    it('erases everything about a learner and nothing about others', async () => {
      for (const u of ['u1', 'u2']) {
        await store.putRecommendations(list(u, ['a']));
        await store.putKnowledge({ userId: u, skills: [], updatedAt: T });
        await store.addCompleted(u, ['a']);
        await store.putProfileInterests(u, ['x']);
      }
      await store.eraseLearner('u1');
      expect(await store.getRecommendations('u1')).toBeNull();
      expect(await store.getKnowledge('u1')).toBeNull();
      expect(await store.getCompleted('u1')).toEqual(new Set());
      expect(await store.getProfileInterests('u1')).toBeNull();
      expect(await store.getRecommendations('u2')).not.toBeNull();
      expect(await store.getCompleted('u2')).toEqual(new Set(['a']));
    });

    it('answers ping', async () => {
      expect(await store.ping()).toBe(true);
    });

    it('keeps the curriculum: nodes, the skill index as skills change, content vectors with a version', async () => {
      if (!hasCurriculum(store)) throw new Error('every ServingStore implementation keeps the curriculum');
      const node = (resourceId: string, skills: string[], prerequisites: string[] = []) => ({
        resourceId,
        title: resourceId.toUpperCase(),
        prerequisites,
        skills,
        active: true,
      });
      await store.putCurriculumNode(node('b', ['s1', 's2'], ['a']));
      await store.putCurriculumNode(node('a', ['s1']));
      expect(await store.getCurriculumNodes(['b', 'nope', 'a'])).toEqual([node('b', ['s1', 's2'], ['a']), null, node('a', ['s1'])]);
      expect(await store.getSkillResources('s1')).toEqual(['a', 'b']);
      await store.putCurriculumNode({ ...node('b', ['s2'], ['a']), active: false });
      expect(await store.getSkillResources('s1')).toEqual(['a']);
      expect((await store.getCurriculumNodes(['b']))[0]?.active).toBe(false);

      const v0 = await store.getContentVectors();
      expect(v0?.vectors.size).toBe(0);
      await store.putContentVector('a', Float32Array.from([0.5, -0.25, 1]));
      const v1 = (await store.getContentVectors(v0!.version))!;
      expect([...v1.vectors.get('a')!]).toEqual([0.5, -0.25, 1]);
      expect(await store.getContentVectors(v1.version)).toBeNull(); // unchanged: nothing to reload
      await store.deleteCurriculumNode('a');
      expect(await store.getCurriculumNodes(['a'])).toEqual([null]);
      expect(await store.getSkillResources('s1')).toEqual([]);
      expect((await store.getContentVectors(v1.version))!.vectors.size).toBe(0);
    });
  });
}
