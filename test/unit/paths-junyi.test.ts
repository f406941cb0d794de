/**
 * The path planner on a real curriculum: the Junyi Academy exercise table (835 exercises, ~990 prerequisite edges),
 * read by the Junyi loader. Every live exercise as the goal, for a learner who knows nothing and for learners with
 * seeded random mastery: every path has the property the API promises (each step's prerequisites mastered or earlier,
 * no mastered step, the goal last), and the longest ancestor chain is reported. The 2015 table has one real cycle
 * (simplifying_radicals -> radical_multiplication_and_division -> adding_and_subtracting_radicals ->
 * simplifying_radicals): a goal behind it gets that cycle back instead of a path until the learner masters one of the
 * three, which is asserted too.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { chainDepths, pathViolation, planPath, standingOf, plannableGraph, type CatalogueNode, type Standing } from '../../models/paths';
import { mulberry32 } from '../../models/random/prng';
import { JUNYI_FILE, readJunyiExercises } from '../../producers/curricula/junyi';

const DIR = path.resolve(__dirname, '../../../shared/datasets/junyi-2015-exercise-table');
const present = fs.existsSync(path.join(DIR, JUNYI_FILE));
if (!present)
  console.warn(
    `Junyi path tests SKIPPED: ${path.join(DIR, JUNYI_FILE)} not found (the dataset is used in place, never copied into the repo)`,
  );

(present ? describe : describe.skip)('learning paths on the Junyi exercise graph', () => {
  const resources = present ? readJunyiExercises(DIR) : [];
  const catalogue = new Map<string, CatalogueNode>(
    resources.map((r) => [r.resourceId, { id: r.resourceId, title: r.title, prerequisites: r.prerequisites ?? [], active: r.active }]),
  );
  const nodes = plannableGraph(catalogue);
  const skillsOf = new Map(resources.map((r) => [r.resourceId, r.skills ?? []]));
  const goals = [...nodes.keys()];

  it('reads the table as the README describes it', () => {
    expect(resources).toHaveLength(835); // 837 rows, two retired exercises listed twice
    expect(goals).toHaveLength(776); // live exercises
    expect(resources.find((r) => r.resourceId === 'inverses_of_functions')).toMatchObject({
      title: '反函數',
      prerequisites: ['domain_of_a_function', 'range_of_a_function'],
      topics: ['algebra-functions', 'algebra'],
      active: true,
    });
    // every prerequisite names an exercise of the table
    for (const r of resources) for (const p of r.prerequisites ?? []) expect(catalogue.has(p)).toBe(true);
  });

  /** A reported cycle is one: each id is a prerequisite of the one before, none of them mastered. */
  const expectRealCycle = (cycle: string[], standing: (id: string) => Standing) => {
    expect(cycle[0]).toBe(cycle[cycle.length - 1]);
    for (let i = 0; i + 1 < cycle.length; i++) expect(nodes.get(cycle[i])!.prerequisites).toContain(cycle[i + 1]);
    for (const id of cycle) expect(standing(id).mastered).toBe(false);
  };
  const RADICALS = ['simplifying_radicals', 'radical_multiplication_and_division', 'adding_and_subtracting_radicals'];

  it('every live exercise as goal, learner knowing nothing: a valid path ending at the goal, or the one cycle; longest chain reported', () => {
    const none = (): Standing => ({ pSuccess: null, mastered: false });
    const acyclic = new Map(nodes);
    // without the one cycle's closing edge the rest of the graph is acyclic, so chain depths are finite
    acyclic.set(RADICALS[0], {
      ...nodes.get(RADICALS[0])!,
      prerequisites: nodes.get(RADICALS[0])!.prerequisites.filter((p) => !RADICALS.includes(p)),
    });
    const depth = chainDepths(acyclic);
    let longest = { goal: '', steps: 0 };
    const blocked: string[] = [];
    for (const goal of goals) {
      const r = planPath({ goals: [goal], nodes, standing: none });
      if (r.kind === 'cycle') {
        expectRealCycle(r.cycle, none);
        expect(new Set(r.cycle)).toEqual(new Set(RADICALS));
        blocked.push(goal);
        continue;
      }
      if (r.kind !== 'path') throw new Error(`${goal}: ${JSON.stringify(r)}`);
      expect(pathViolation(r.steps, nodes, none)).toBeNull();
      expect(r.steps[r.steps.length - 1].resourceId).toBe(goal);
      // the path is the whole ancestor set here, so at least as long as the longest chain to the goal
      expect(r.steps.length).toBeGreaterThanOrEqual(depth.get(goal)!);
      if (r.steps.length > longest.steps) longest = { goal, steps: r.steps.length };
    }
    const deepest = [...depth].reduce((a, b) => (b[1] > a[1] ? b : a));
    expect(Number.isFinite(deepest[1])).toBe(true);
    // blocked = exactly the goals with a radicals exercise among their ancestors (an independent breadth-first walk)
    const reachesCycle = (goal: string) => {
      const seen = new Set([goal]);
      for (const id of seen) for (const p of nodes.get(id)?.prerequisites ?? []) seen.add(p);
      return RADICALS.some((x) => seen.has(x));
    };
    expect(new Set(blocked)).toEqual(new Set(goals.filter(reachesCycle)));
    console.log(
      `Junyi: ${goals.length} live goals; ${goals.length - blocked.length} valid paths, ${blocked.length} behind the radicals cycle; longest ancestor chain ${deepest[1]} exercises (ending at ${deepest[0]}); largest path ${longest.steps} steps (to ${longest.goal})`,
    );
  });

  it('learners with seeded random mastery: mastered exercises skipped, every path still valid', () => {
    const rnd = mulberry32(20);
    for (let learner = 0; learner < 5; learner++) {
      const mastery = new Map(resources.map((r) => [r.resourceId, rnd()]));
      const completed = new Set(resources.filter(() => rnd() < 0.05).map((r) => r.resourceId));
      const standing = (id: string) => standingOf(skillsOf.get(id) ?? [], mastery, completed.has(id));
      for (const goal of goals) {
        const r = planPath({ goals: [goal], nodes, standing });
        if (r.kind === 'cycle') {
          expectRealCycle(r.cycle, standing);
          continue;
        }
        if (r.kind !== 'path') throw new Error(r.kind);
        expect(pathViolation(r.steps, nodes, standing)).toBeNull();
        if (standing(goal).mastered) expect(r.steps).toEqual([]);
        else expect(r.steps[r.steps.length - 1].resourceId).toBe(goal);
        for (const s of r.steps) expect(s.pSuccess).toBeCloseTo(mastery.get(s.resourceId)!);
      }
    }
  });

  it('mastering one exercise of the cycle unblocks the goals behind it', () => {
    const standing = (id: string): Standing => ({ pSuccess: id === RADICALS[1] ? 0.9 : null, mastered: id === RADICALS[1] });
    for (const goal of goals) {
      const r = planPath({ goals: [goal], nodes, standing });
      if (r.kind !== 'path') throw new Error(`${goal}: ${r.kind}`);
      expect(pathViolation(r.steps, nodes, standing)).toBeNull();
    }
  });
});
