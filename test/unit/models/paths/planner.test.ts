import { chainDepths, pathViolation, planPath, type PathNode, type Standing } from '../../../../models/paths/planner';
import { plannableGraph } from '../../../../models/paths/graph';
import { prerequisiteToReview, standingOf } from '../../../../models/paths/standing';

const graph = (edges: Record<string, string[]>): Map<string, PathNode> =>
  new Map(Object.entries(edges).map(([id, prerequisites]) => [id, { id, title: id.toUpperCase(), prerequisites }]));
const none = (): Standing => ({ pSuccess: null, mastered: false });
const masteredOf =
  (ids: string[], p: Record<string, number> = {}) =>
  (id: string): Standing => ({ pSuccess: p[id] ?? null, mastered: ids.includes(id) });

describe('planPath', () => {
  // counting -> addition -> multiplication -> fractions <- division <- (multiplication, subtraction <- addition)
  const g = graph({
    counting: [],
    addition: ['counting'],
    subtraction: ['addition'],
    multiplication: ['addition'],
    division: ['multiplication', 'subtraction'],
    fractions: ['division', 'multiplication'],
  });

  it('orders every ancestor before what needs it, the goal last', () => {
    const r = planPath({ goals: ['fractions'], nodes: g, standing: none });
    if (r.kind !== 'path') throw new Error(r.kind);
    expect(r.steps.map((s) => s.resourceId)).toEqual(['counting', 'addition', 'multiplication', 'subtraction', 'division', 'fractions']);
    expect(pathViolation(r.steps, g, none)).toBeNull();
    expect(r.steps[5].reason.code).toBe('goal');
    // addition unlocks both of its successors on the path; multiplication unlocks division and the goal itself
    expect(r.steps[1].unlocks).toEqual(['multiplication', 'subtraction']);
    expect(r.steps[2].unlocks).toEqual(['division', 'fractions']);
    expect(r.steps[2].reason).toEqual({ code: 'prerequisite', text: 'Needed before FRACTIONS', ref: 'fractions' });
  });

  it('skips mastered resources and does not need their prerequisites', () => {
    const st = masteredOf(['multiplication'], { multiplication: 0.93, division: 0.4 });
    const r = planPath({ goals: ['fractions'], nodes: g, standing: st });
    if (r.kind !== 'path') throw new Error(r.kind);
    // subtraction still needs addition (not mastered), counting comes with it; multiplication is skipped
    expect(r.steps.map((s) => s.resourceId)).toEqual(['counting', 'addition', 'subtraction', 'division', 'fractions']);
    expect(r.steps.find((s) => s.resourceId === 'division')!.pSuccess).toBe(0.4);
    expect(pathViolation(r.steps, g, st)).toBeNull();
  });

  it('answers an empty path for a mastered goal, and the cycle for a cyclic graph', () => {
    const r = planPath({ goals: ['fractions'], nodes: g, standing: masteredOf(['fractions']) });
    expect(r).toMatchObject({ kind: 'path', steps: [], masteredGoals: ['fractions'] });
    const c = planPath({ goals: ['d'], nodes: graph({ a: ['c'], b: ['a'], c: ['b'], d: ['a'] }), standing: none });
    expect(c).toEqual({ kind: 'cycle', cycle: ['a', 'c', 'b', 'a'] });
    // a cycle behind a mastered resource does not matter: the learner never needs to go there
    expect(planPath({ goals: ['d'], nodes: graph({ a: ['c'], b: ['a'], c: ['b'], d: ['a'] }), standing: masteredOf(['a']) })).toMatchObject(
      { kind: 'path', steps: [{ resourceId: 'd' }] },
    );
  });

  it('reports unknown goals and missing prerequisites; max keeps a valid prefix', () => {
    expect(planPath({ goals: ['nope'], nodes: g, standing: none })).toEqual({ kind: 'unknown-goal', goals: ['nope'] });
    const r = planPath({ goals: ['x'], nodes: graph({ x: ['ghost', 'counting'], counting: [] }), standing: none });
    if (r.kind !== 'path') throw new Error(r.kind);
    expect(r.steps.map((s) => [s.resourceId, s.missing])).toEqual([
      ['counting', []],
      ['x', ['ghost']],
    ]);
    const cut = planPath({ goals: ['fractions'], nodes: g, standing: none, max: 3 });
    expect(cut).toMatchObject({ kind: 'path', totalSteps: 6 });
    if (cut.kind === 'path') expect(cut.steps.map((s) => s.resourceId)).toEqual(['counting', 'addition', 'multiplication']);
  });

  it('plans several goals (a skill goal) without repeating shared ancestors', () => {
    const r = planPath({ goals: ['division', 'multiplication'], nodes: g, standing: none });
    if (r.kind !== 'path') throw new Error(r.kind);
    expect(r.steps.map((s) => s.resourceId)).toEqual(['counting', 'addition', 'multiplication', 'subtraction', 'division']);
    expect(r.steps.filter((s) => s.reason.code === 'goal').map((s) => s.resourceId)).toEqual(['multiplication', 'division']);
  });

  it('orders a step the learner practised without mastering after the new steps that do not need it', () => {
    // multiplication was answered wrong (P 0.4): subtraction, new to the learner, comes first; division still after both
    const st = (id: string): Standing => (id === 'multiplication' ? { pSuccess: 0.4, mastered: false, practised: true } : none());
    const r = planPath({ goals: ['fractions'], nodes: g, standing: st });
    if (r.kind !== 'path') throw new Error(r.kind);
    expect(r.steps.map((s) => s.resourceId)).toEqual(['counting', 'addition', 'subtraction', 'multiplication', 'division', 'fractions']);
    expect(pathViolation(r.steps, g, st)).toBeNull();
    expect(r.steps.find((s) => s.resourceId === 'addition')!.unlocks).toEqual(['subtraction', 'multiplication']);
    // nothing new left beside it: the practised step keeps its place
    const only = planPath({
      goals: ['division'],
      nodes: graph({ a: [], b: ['a'], division: ['b'] }),
      standing: (id) => (id === 'a' ? { pSuccess: 0.3, mastered: false, practised: true } : none()),
    });
    if (only.kind !== 'path') throw new Error(only.kind);
    expect(only.steps.map((s) => s.resourceId)).toEqual(['a', 'b', 'division']);
  });

  it('chainDepths: longest chain ending at each node', () => {
    const d = chainDepths(g);
    expect(Object.fromEntries(d)).toEqual({ counting: 1, addition: 2, subtraction: 3, multiplication: 3, division: 4, fractions: 5 });
  });
});

describe('standingOf', () => {
  const m = new Map([
    ['a', 0.9],
    ['b', 0.85],
    ['c', 0.3],
  ]);
  it('multiplies skill masteries; unknown skill or none = null; completed = mastered', () => {
    expect(standingOf(['a'], m, false)).toEqual({ pSuccess: 0.9, mastered: true });
    expect(standingOf(['a', 'b'], m, false).pSuccess).toBeCloseTo(0.765);
    expect(standingOf(['a', 'b'], m, false).mastered).toBe(false);
    expect(standingOf(['a', 'zzz'], m, false)).toEqual({ pSuccess: null, mastered: false });
    expect(standingOf([], m, true)).toEqual({ pSuccess: null, mastered: true, completed: true });
    expect(standingOf(['c'], m, false, 0.25).mastered).toBe(true);
  });
  it('with answer counts: practised = every skill answered and not mastered', () => {
    const n = new Map([
      ['a', 3],
      ['c', 1],
    ]);
    expect(standingOf(['c'], m, false, 0.8, n)).toEqual({ pSuccess: 0.3, mastered: false, practised: true, answers: 1 });
    expect(standingOf(['a'], m, false, 0.8, n)).toEqual({ pSuccess: 0.9, mastered: true, answers: 3 });
    expect(standingOf(['b'], m, false, 0.8, n)).toEqual({ pSuccess: 0.85, mastered: true, answers: 0 });
    expect(standingOf(['b', 'c'], m, false, 0.8, n).practised).toBeUndefined(); // b never answered
  });
});

describe('prerequisiteToReview', () => {
  const failing: Standing = { pSuccess: 0.3, mastered: false, practised: true, answers: 2 };
  const thin = (pSuccess: number): Standing => ({ pSuccess, mastered: true, answers: 1 });
  it('names the weakest prerequisite mastered on one answer behind a failing step', () => {
    const pre = [
      { id: 'a', standing: thin(0.9) },
      { id: 'b', standing: thin(0.82) },
      { id: 'c', standing: { pSuccess: 0.7, mastered: true, answers: 6 } },
    ];
    expect(prerequisiteToReview(failing, pre)).toBe('b');
  });
  it('none when a prerequisite is unmastered, evidence is ample or completed, or the step is not failing', () => {
    expect(
      prerequisiteToReview(failing, [
        { id: 'a', standing: thin(0.9) },
        { id: 'b', standing: { pSuccess: 0.5, mastered: false } },
      ]),
    ).toBeNull();
    expect(prerequisiteToReview(failing, [{ id: 'a', standing: { pSuccess: 0.85, mastered: true, answers: 2 } }])).toBeNull();
    expect(
      prerequisiteToReview(failing, [{ id: 'a', standing: { pSuccess: null, mastered: true, completed: true, answers: 0 } }]),
    ).toBeNull();
    expect(prerequisiteToReview({ ...failing, pSuccess: 0.7 }, [{ id: 'a', standing: thin(0.9) }])).toBeNull();
    expect(prerequisiteToReview({ pSuccess: 0.3, mastered: false }, [{ id: 'a', standing: thin(0.9) }])).toBeNull();
  });
  it('the planner puts a review step (not mastered, `review` set) before the failing step, with its reason', () => {
    const g = graph({ a: [], b: ['a'], c: ['b'] });
    const st = (id: string): Standing =>
      id === 'a' ? { pSuccess: 0.85, mastered: false, review: 'b' } : id === 'b' ? failing : { pSuccess: null, mastered: false };
    const r = planPath({ goals: ['c'], nodes: g, standing: st });
    if (r.kind !== 'path') throw new Error(r.kind);
    expect(r.steps.map((s) => s.resourceId)).toEqual(['a', 'b', 'c']);
    expect(r.steps[0].reason).toEqual({ code: 'review', text: 'Review: B builds on it and is not going well', ref: 'b' });
    expect(pathViolation(r.steps, g, st)).toBeNull();
  });
});

describe('plannableGraph', () => {
  it('bypasses inactive resources (their prerequisites stay required) and drops self-loops', () => {
    const g = plannableGraph(
      new Map([
        ['a', { id: 'a', prerequisites: [] }],
        ['old', { id: 'old', prerequisites: ['a', 'older'], active: false }],
        ['older', { id: 'older', prerequisites: ['a'], active: false }],
        ['b', { id: 'b', prerequisites: ['old', 'b', 'ghost'] }],
      ]),
    );
    expect([...g.keys()]).toEqual(['a', 'b']);
    expect(g.get('b')!.prerequisites).toEqual(['a', 'ghost']);
  });
});
