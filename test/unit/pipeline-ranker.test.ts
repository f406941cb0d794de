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

describe('LearnerRanker', () => {
  it('ranks collaborative candidates plus extras with models/ranking', () => {
    const rng = mulberry32(11);
    const dim = 8;
    const table = new ItemTable(dim);
    const topics = ['algebra', 'history', 'biology', 'music'];
    for (let i = 0; i < 500; i++) {
      table.set({ itemId: `r${i}`, factors: Float32Array.from({ length: dim }, () => rng() - 0.5), bias: 0, count: 1 + (i % 13), lastT: 0, active: true, meta: { type: 'video', topics: [topics[i % 4]], skills: [`s${i % 4}`], title: `R ${i}` } });
    }
    const user = Float32Array.from({ length: dim }, () => rng() - 0.5);
    // a next step after r3 (completed), and a brand-new algebra resource whose factors the learner dislikes
    table.set({ itemId: 'r3-part2', factors: user.slice(), bias: 0, count: 2, lastT: 0, active: true, meta: { type: 'course', topics: ['history'], prerequisites: ['r3'] } });
    const fresh = table.set({ itemId: 'new-algebra', factors: user.map((x) => -x), bias: 0, count: 0, lastT: Number.NaN, active: true, meta: { type: 'article', topics: ['algebra'] } });
    const l: Learner = { cf: { vector: user, bias: 0, count: 5, lastT: 0 }, interactions: 5, quizzes: 0, history: ['r1', 'r2', 'r3'], interests: ['Algebra'], completed: ['r3', 'r9'], lastEventAt: 1 };

    const ranker = new LearnerRanker({ topN: 30 });
    ranker.noteActivated(fresh);
    const gen = new CandidateGenerator({ dim, logger: createLogger({ level: 'error' }), kernel: 'js' });
    const [top] = gen.generateSync(table, [user], (_j, row) => ranker.mask(l, table, row), ranker.k);
    expect(top.indices.length).toBe(90);
    const items = ranker.rank('u', l, table, new KnowledgeModel(), top, 0);

    expect(items).toHaveLength(30);
    const ids = items.map((i) => i.resourceId);
    for (const gone of ['r1', 'r2', 'r3', 'r9']) expect(ids).not.toContain(gone);
    const n = items.find((i) => i.resourceId === 'new-algebra');
    expect(n?.reasons.map((r) => r.code)).toEqual(expect.arrayContaining(['matches-interest', 'new-resource']));
    const next = items.find((i) => i.resourceId === 'r3-part2');
    expect(next?.reasons[0]).toMatchObject({ code: 'next-after', ref: 'r3', text: 'Next after R 3' });
    const some = items.find((i) => i.resourceId.startsWith('r') && i.resourceId !== 'r3-part2')!;
    expect(some).toMatchObject({ type: 'video', topics: [expect.any(String)], skills: [expect.any(String)] });
    for (const it of items) expect(it.reasons.length).toBeGreaterThan(0);
  });
});
