/**
 * The learner stage's use of models/ranking: history and completed never listed, a new resource in a declared
 * interest reaches the list by the extras (whatever its collaborative score), next steps after a recent resource are
 * offered with a next-after reason, and the list keeps the catalogue facts the API filters on.
 */
import { createLogger } from '../../lib/log';
import { KnowledgeModel } from '../../models/knowledge/model';
import { mulberry32 } from '../../models/random/prng';
import { CandidateGenerator } from '../../pipelines/learner/candidates';
import { LearnerRanker } from '../../pipelines/learner/rank';
import type { Learner } from '../../pipelines/learner/state';
import { ItemTable } from '../../pipelines/model/item-table';
import { EngagedSet } from '../../pipelines/model/engaged';

describe('LearnerRanker', () => {
  it("filter() excludes exactly the rows mask() sets to -Infinity (the IVF path's check), with and without an engaged set", () => {
    const dim = 4;
    const table = new ItemTable(dim);
    for (let i = 0; i < 300; i++) table.set({ itemId: `r${i}`, factors: new Float32Array(dim), bias: 0, count: 1, lastT: 0, active: true });
    const ranker = new LearnerRanker({ topN: 10 });
    const base: Learner = {
      cf: { vector: new Float32Array(dim), bias: 0, count: 1, lastT: 0 },
      interactions: 3,
      quizzes: 0,
      history: ['r1', 'r7', 'r250'],
      interests: [],
      completed: ['r7', 'r42'],
      lastEventAt: 1,
    };
    const engaged = new EngagedSet();
    for (const id of ['r1', 'r7', 'r250', 'r42', 'r199']) engaged.add(id);
    for (const l of [base, { ...base, engaged }]) {
      const row = new Float32Array(table.size);
      ranker.mask(l, table, row);
      const ok = ranker.filter(l, table);
      const masked = Array.from(row, (x, i) => (x === -Infinity ? i : -1)).filter((i) => i >= 0);
      const filtered = Array.from(row, (_x, i) => (ok(i) ? -1 : i)).filter((i) => i >= 0);
      expect(filtered).toEqual(masked);
      expect(masked.length).toBe(l.engaged ? 5 : 4);
    }
  });

  it('ranks collaborative candidates plus extras with models/ranking', () => {
    const rng = mulberry32(11);
    const dim = 8;
    const table = new ItemTable(dim);
    const topics = ['algebra', 'history', 'biology', 'music'];
    for (let i = 0; i < 500; i++) {
      table.set({
        itemId: `r${i}`,
        factors: Float32Array.from({ length: dim }, () => rng() - 0.5),
        bias: 0,
        count: 1 + (i % 13),
        lastT: 0,
        active: true,
        meta: { type: 'video', topics: [topics[i % 4]], skills: [`s${i % 4}`], title: `R ${i}` },
      });
    }
    const user = Float32Array.from({ length: dim }, () => rng() - 0.5);
    // a next step after r3 (completed), and a brand-new algebra resource whose factors the learner dislikes
    table.set({
      itemId: 'r3-part2',
      factors: user.slice(),
      bias: 0,
      count: 2,
      lastT: 0,
      active: true,
      meta: { type: 'course', topics: ['history'], prerequisites: ['r3'] },
    });
    const fresh = table.set({
      itemId: 'new-algebra',
      factors: user.map((x) => -x),
      bias: 0,
      count: 0,
      lastT: Number.NaN,
      active: true,
      meta: { type: 'article', topics: ['algebra'] },
    });
    const l: Learner = {
      cf: { vector: user, bias: 0, count: 5, lastT: 0 },
      interactions: 5,
      quizzes: 0,
      history: ['r1', 'r2', 'r3'],
      interests: ['Algebra'],
      completed: ['r3', 'r9'],
      lastEventAt: 1,
    };
    // learners who did r3 went on to r3-part2: the recommender's transitions carry it
    table.signals.addLink(table.indexOf('r3'), table.indexOf('r3-part2'), 1, 0);

    const ranker = new LearnerRanker({ topN: 30 });
    ranker.noteActivated(fresh);
    const gen = new CandidateGenerator({ dim, logger: createLogger({ level: 'error' }), kernel: 'js' });
    const [top] = gen.generateSync(table, [user], (_j, row) => ranker.mask(l, table, row), ranker.k);
    expect(top.indices.length).toBe(30); // the default candidateFactor 1 × topN
    const items = ranker.rank('u', l, table, new KnowledgeModel(), top, 0);

    expect(items).toHaveLength(30);
    const ids = items.map((i) => i.resourceId);
    for (const gone of ['r1', 'r2', 'r3', 'r9']) expect(ids).not.toContain(gone);
    const n = items.find((i) => i.resourceId === 'new-algebra');
    expect(n?.reasons.map((r) => r.code)).toEqual(expect.arrayContaining(['matches-interest', 'new-resource']));
    const next = items.find((i) => i.resourceId === 'r3-part2');
    expect(next?.reasons[0]).toMatchObject({ code: 'next-after', ref: 'r3', text: 'Next after R 3' });
    expect(next?.reasons[1]).toMatchObject({ code: 'because-you-did', ref: 'r3' });
    const some = items.find((i) => i.resourceId.startsWith('r') && i.resourceId !== 'r3-part2')!;
    expect(some).toMatchObject({ type: 'video', topics: [expect.any(String)], skills: [expect.any(String)] });
    for (const it of items) expect(it.reasons.length).toBeGreaterThan(0);
  });
});

describe('reasons are true', () => {
  const dim = 4;
  const rng = mulberry32(5);
  const build = () => {
    const table = new ItemTable(dim);
    for (let i = 0; i < 300; i++) {
      table.set({
        itemId: `r${i}`,
        factors: Float32Array.from({ length: dim }, () => rng() - 0.5),
        bias: 0,
        count: 3,
        lastT: 0,
        active: true,
        meta: { skills: [`s${i % 6}`], title: `R ${i}` },
      });
    }
    // random transitions and popularity, so that many candidates carry a transition part
    for (let e = 0; e < 3000; e++) table.signals.addLink(Math.floor(rng() * 300), Math.floor(rng() * 300), rng(), e);
    for (let e = 0; e < 1000; e++) table.signals.addPopularity(Math.floor(rng() * 300), 1, e);
    return table;
  };

  it('"learners who did X went on to this" names only resources in the learner\'s own history', () => {
    const table = build();
    const ranker = new LearnerRanker({ topN: 20 });
    const gen = new CandidateGenerator({ dim, logger: createLogger({ level: 'error' }), kernel: 'js' });
    let because = 0;
    for (let u = 0; u < 50; u++) {
      const history = Array.from({ length: 1 + (u % 12) }, () => `r${Math.floor(rng() * 300)}`);
      const l: Learner = {
        cf: { vector: Float32Array.from({ length: dim }, () => rng() - 0.5), bias: 0, count: 5, lastT: 0 },
        interactions: history.length,
        quizzes: 0,
        history: [...new Set(history)],
        interests: [],
        completed: [],
        lastEventAt: 1,
      };
      const [top] = gen.generateSync(table, [l.cf.vector], (_j, row) => ranker.mask(l, table, row), ranker.k);
      for (const it of ranker.rank(`u${u}`, l, table, undefined, top, 0)) {
        for (const r of it.reasons) {
          if (r.code !== 'because-you-did') continue;
          because++;
          expect(l.history).toContain(r.ref);
        }
      }
    }
    expect(because).toBeGreaterThan(100); // the property was exercised, not vacuous
  });

  it('"right level for <skill>" only names a skill the learner has quiz attempts in', () => {
    const table = build();
    const knowledge = new KnowledgeModel();
    // the learner practised s0 and s1 only; another learner practised everything (population evidence on s2..s5)
    for (let k = 0; k < 40; k++) {
      knowledge.update({ userId: 'other', itemId: `q${k}`, skills: [`s${k % 6}`], correct: k % 3 === 0 ? 0 : 1, timestamp: k });
      if (k % 6 < 2) knowledge.update({ userId: 'u', itemId: `q${k}`, skills: [`s${k % 6}`], correct: k % 4 === 0 ? 0 : 1, timestamp: k });
    }
    const ranker = new LearnerRanker({ topN: 60, rank: { reasonLevelDistance: 0.5 } });
    const gen = new CandidateGenerator({ dim, logger: createLogger({ level: 'error' }), kernel: 'js' });
    const l: Learner = {
      cf: { vector: Float32Array.from({ length: dim }, () => rng() - 0.5), bias: 0, count: 5, lastT: 0 },
      interactions: 3,
      quizzes: 14,
      history: ['r1', 'r2', 'r3'],
      interests: [],
      completed: [],
      lastEventAt: 1,
    };
    const [top] = gen.generateSync(table, [l.cf.vector], (_j, row) => ranker.mask(l, table, row), ranker.k);
    const levels = ranker.rank('u', l, table, knowledge, top, 0).flatMap((it) => it.reasons.filter((r) => r.code === 'right-level'));
    expect(levels.length).toBeGreaterThan(0);
    for (const r of levels) expect(['s0', 's1']).toContain(r.ref);
  });
});

describe('never offered again', () => {
  it('a resource engaged with before the history bound is still never listed (EngagedSet), from any candidate source', () => {
    const dim = 4;
    const rng = mulberry32(21);
    const table = new ItemTable(dim);
    for (let i = 0; i < 100; i++)
      table.set({
        itemId: `r${i}`,
        factors: Float32Array.from({ length: dim }, () => rng() - 0.5),
        bias: 0,
        count: 5,
        lastT: 0,
        active: true,
      });
    // r0..r19 were engaged long ago: out of the (short) history, still in the engaged set; transitions and popularity favour them
    const engaged = new EngagedSet();
    for (let i = 0; i < 20; i++) engaged.add(`r${i}`);
    for (let i = 0; i < 20; i++) {
      table.signals.addLink(table.indexOf('r99'), i, 10, 0);
      table.signals.addPopularity(i, 50, 0);
    }
    const l: Learner = {
      cf: { vector: Float32Array.from({ length: dim }, () => rng() - 0.5), bias: 0, count: 5, lastT: 0 },
      interactions: 21,
      quizzes: 0,
      history: ['r99'],
      interests: [],
      completed: [],
      lastEventAt: 1,
      engaged,
    };
    engaged.add('r99');
    const ranker = new LearnerRanker({ topN: 30 });
    const gen = new CandidateGenerator({ dim, logger: createLogger({ level: 'error' }), kernel: 'js' });
    const [top] = gen.generateSync(table, [l.cf.vector], (_j, row) => ranker.mask(l, table, row), ranker.k);
    for (const i of top.indices) expect(engaged.has(table.ids[i])).toBe(false);
    const ids = ranker.rank('u', l, table, undefined, top, 0).map((i) => i.resourceId);
    expect(ids).toHaveLength(30);
    for (let i = 0; i < 20; i++) expect(ids).not.toContain(`r${i}`);
  });

  it('EngagedSet: members found, others not, through a checkpoint round trip', () => {
    const s = new EngagedSet();
    for (let i = 0; i < 5000; i++) s.add(`resource-${i}`);
    const back = EngagedSet.fromB64(s.toB64());
    expect(back.size).toBe(5000);
    for (let i = 0; i < 5000; i++) expect(back.has(`resource-${i}`)).toBe(true);
    let wrong = 0;
    for (let i = 5000; i < 55000; i++) if (back.has(`resource-${i}`)) wrong++;
    expect(wrong).toBe(0);
  });
});
