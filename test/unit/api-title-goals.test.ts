/**
 * Chinese (CJK) free-text path goals: resolved by title bigrams, without the English-only encoder, and the answer says
 * which resolver ran; other text still goes to the encoder.
 */
import { MemoryServingStore } from '../../serving/memory-store';
import { learnerPath } from '../../api/recommend/path';
import { encoderTextGoals } from '../../api/recommend/text-goals';
import { hasCjk, scriptAwareTextGoals, titleNgramTextGoals } from '../../api/recommend/title-goals';

async function curriculum() {
  const store = new MemoryServingStore();
  const nodes = [
    { resourceId: 'factoring', title: '因式分解法', prerequisites: ['multiply'], skills: ['k-factoring'] },
    { resourceId: 'multiply', title: '分數乘法', prerequisites: [], skills: ['k-multiply'] },
    { resourceId: 'power', title: '乘冪法則', prerequisites: [], skills: ['k-power'] },
    { resourceId: 'quadratic', title: 'Solving quadratic equations', prerequisites: ['factoring'], skills: ['k-quadratic'] },
  ];
  for (const n of nodes) await store.putCurriculumNode({ ...n, active: true });
  return store;
}

describe('CJK free-text goals', () => {
  it('detects CJK scripts', () => {
    expect(hasCjk('二次方程式')).toBe(true);
    expect(hasCjk('かな')).toBe(true);
    expect(hasCjk('quadratic equations')).toBe(false);
  });

  it('resolves a Chinese goal by title bigrams with no encoder at all, and plans the path', async () => {
    const store = await curriculum();
    let encoderCalls = 0;
    const encoder = encoderTextGoals({
      curriculum: store,
      loadEmbed: () => (encoderCalls++, Promise.reject(new Error('no model installed'))),
    });
    const textGoals = scriptAwareTextGoals(encoder, titleNgramTextGoals({ curriculum: store }));
    const out = await learnerPath({ store, curriculum: store, textGoals }, { userId: 'u1', goal: '因式分解', max: 10 });
    expect(out.goal).toMatchObject({ kind: 'text', resolvedBy: 'title-ngram', resourceIds: ['factoring'] });
    expect(out.goal.matches![0]).toMatchObject({ kind: 'resource', id: 'factoring' });
    expect(out.steps.map((s) => s.resourceId)).toEqual(['multiply', 'factoring']);
    expect(encoderCalls).toBe(0);
    // English text goes to the encoder, which is unavailable here: 503, not a title match
    await expect(
      learnerPath({ store, curriculum: store, textGoals }, { userId: 'u1', goal: 'quadratic equations', max: 10 }),
    ).rejects.toMatchObject({ kind: 'encoder-unavailable', status: 503 });
    expect(encoderCalls).toBe(1);
  });

  it('a Chinese goal sharing too little with any title is a clear 404 with the matches', async () => {
    const store = await curriculum();
    const textGoals = titleNgramTextGoals({ curriculum: store });
    await expect(
      learnerPath({ store, curriculum: store, textGoals }, { userId: 'u1', goal: '三角函數的圖形', max: 10 }),
    ).rejects.toMatchObject({ kind: 'unknown-goal', status: 404 });
  });
});
