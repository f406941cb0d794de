/** The learner simulator's model (scripts/eval/simulator/kss.ts): a seeded DAG, the KSS learning rule, noisy quizzes. */
import { DEFAULT_KSS, KssLearner, KssWorld, rng } from '../../scripts/eval/simulator/kss';

describe('KSS simulator', () => {
  const world = new KssWorld(DEFAULT_KSS);

  it('builds the same acyclic prerequisite graph from the same seed, with goals that have deep ancestor sets', () => {
    const again = new KssWorld(DEFAULT_KSS);
    expect(again.items).toEqual(world.items);
    const level = new Map(world.items.map((x) => [x.id, x.level]));
    for (const x of world.items) for (const q of x.prerequisites) expect(level.get(q)!).toBeLessThan(x.level);
    expect(world.goals().length).toBeGreaterThan(5);
    for (const g of world.goals()) expect(world.ancestorsOf(g.id).size).toBeGreaterThanOrEqual(DEFAULT_KSS.minGoalAncestors);
    expect(new KssWorld({ ...DEFAULT_KSS, seed: 21 }).items).not.toEqual(world.items);
  });

  it('learns a ready item far more often than one whose prerequisites are missing', () => {
    const item = world.items.find((x) => x.level === 3 && x.prerequisites.length > 0)!;
    let ready = 0;
    let unready = 0;
    const trials = 2000;
    for (let i = 0; i < trials; i++) {
      const a = new KssLearner('a', item.id, world, rng(i));
      for (const q of world.ancestorsOf(item.id)) a.mastered.add(q);
      if (a.study(item.id)) ready++;
      const b = new KssLearner('b', item.id, world, rng(10_000 + i));
      for (const q of item.prerequisites) b.mastered.delete(q);
      if (b.study(item.id)) unready++;
    }
    const expected = DEFAULT_KSS.readyLearn * (1 - DEFAULT_KSS.difficultyWeight * item.difficulty);
    expect(ready / trials).toBeGreaterThan(expected - 0.04);
    expect(ready / trials).toBeLessThan(expected + 0.04);
    expect(unready).toBe(0); // no prerequisite mastered: f = 0
  });

  it('answers with slip and guess noise, and measures mastery of the goal structure', () => {
    const goal = world.goals()[0].id;
    const l = new KssLearner('x', goal, world, rng(5));
    const m0 = l.goalMastery();
    for (const q of world.ancestorsOf(goal)) l.mastered.add(q);
    l.mastered.add(goal);
    expect(l.goalMastery()).toBe(1);
    expect(m0).toBeLessThan(1);
    let right = 0;
    for (let i = 0; i < 2000; i++) if (l.answer(goal)) right++;
    expect(right / 2000).toBeGreaterThan(1 - DEFAULT_KSS.slip - 0.03);
    expect(right / 2000).toBeLessThan(1 - DEFAULT_KSS.slip + 0.03);
  });
});
