/**
 * Learning paths over a prerequisite graph: the ordered steps from where a learner stands to a goal. Pure (no I/O):
 * the caller passes the goal's ancestor closure as a node map and the learner's standing per node.
 *
 * The path is a depth-first post-order of the goal's ancestors, pruned at what the learner has mastered: a mastered
 * resource is skipped and its own prerequisites are not needed (mastering X proves what X builds on). Post-order makes
 * every step's prerequisites either mastered or earlier in the path, and keeps one chain together before the next
 * (a learner finishes "fractions" before starting "decimals" rather than interleaving both). Steps the learner has
 * practised without mastering are then moved after the new steps that do not need them (retryLast). A cycle among the
 * unmastered ancestors makes the order impossible; the planner then returns the cycle instead of a path.
 */

/** One resource of the prerequisite graph. */
export interface PathNode {
  id: string;
  title?: string;
  /** Resource ids to master first. Unknown ids (not in the node map) are reported, not planned. */
  prerequisites: readonly string[];
}

/** The learner's standing on one resource. */
export interface Standing {
  /** Knowledge-model P(success) on the resource, 0..1; null when the model has no estimate. */
  pSuccess: number | null;
  /** Mastered (P(success) at or above the threshold) or completed: not a step, its prerequisites not needed. */
  mastered: boolean;
  completed?: boolean;
  /**
   * Not mastered although the learner has practised it (answered its skills): a step they tried and did not master.
   * The planner orders such steps after the steps that are new to the learner (see planPath).
   */
  practised?: boolean;
  /** Fewest answers over the resource's skills (when known). */
  answers?: number;
  /** Looked mastered, but `review` (a step building on it) keeps failing: a step again, to review. */
  review?: string;
}

export interface PathStep {
  resourceId: string;
  title?: string;
  pSuccess: number | null;
  /** Later steps (and goals) this step is a direct prerequisite of, in path order. */
  unlocks: string[];
  /** This step's prerequisites, each mastered or earlier in the path (unknown ones listed in `missing`). */
  prerequisites: string[];
  /** Prerequisites that are not in the catalogue: the path cannot vouch for them. */
  missing: string[];
  /** 'review': a prerequisite that looked mastered, offered again because a step building on it keeps failing. */
  reason: { code: 'goal' | 'prerequisite' | 'review'; text: string; ref?: string };
}

export type PlanResult =
  | {
      kind: 'path';
      steps: PathStep[];
      /** Steps before `max` cut the list. */
      totalSteps: number;
      /** Ancestors visited (mastered ones included), the work the planner did. */
      ancestors: number;
      /** Goals the learner already masters (skipped). */
      masteredGoals: string[];
    }
  | { kind: 'cycle'; cycle: string[] }
  | { kind: 'unknown-goal'; goals: string[] };

export interface PlanInput {
  /** Goal resource ids, in the order they should be reached. */
  goals: readonly string[];
  nodes: ReadonlyMap<string, PathNode>;
  standing: (id: string) => Standing;
  /** Most steps returned (the prefix of the full path, itself a valid path). Default all. */
  max?: number;
}

const enum Mark {
  Open = 1,
  Done = 2,
}

/**
 * The path to `goals`. Iterative DFS (a curriculum's chains can be deep) with three colours: a prerequisite met while
 * it is still open is a back edge, i.e. a cycle, returned as the ids along it (first id repeated at the end).
 */
export function planPath(input: PlanInput): PlanResult {
  const { nodes, standing } = input;
  const unknown = input.goals.filter((g) => !nodes.has(g));
  if (unknown.length > 0) return { kind: 'unknown-goal', goals: unknown };

  const mark = new Map<string, Mark>();
  const order: string[] = [];
  const masteredGoals: string[] = [];
  const standingOf = new Map<string, Standing>();
  const stand = (id: string): Standing => {
    let s = standingOf.get(id);
    if (!s) standingOf.set(id, (s = standing(id)));
    return s;
  };
  // stack of [id, index of the next prerequisite to visit]; `path` mirrors the open ids for cycle reports
  const stack: [string, number][] = [];
  for (const goal of input.goals) {
    if (mark.has(goal)) continue;
    if (stand(goal).mastered) {
      masteredGoals.push(goal);
      mark.set(goal, Mark.Done);
      continue;
    }
    stack.push([goal, 0]);
    mark.set(goal, Mark.Open);
    while (stack.length > 0) {
      const top = stack[stack.length - 1];
      const pre = nodes.get(top[0])!.prerequisites;
      if (top[1] >= pre.length) {
        stack.pop();
        mark.set(top[0], Mark.Done);
        order.push(top[0]);
        continue;
      }
      const p = pre[top[1]++];
      if (!nodes.has(p)) continue; // missing: reported on the step
      const m = mark.get(p);
      if (m === Mark.Done) continue;
      if (m === Mark.Open) {
        const from = stack.findIndex(([id]) => id === p);
        return { kind: 'cycle', cycle: [...stack.slice(from).map(([id]) => id), p] };
      }
      if (stand(p).mastered) {
        mark.set(p, Mark.Done);
        continue;
      }
      mark.set(p, Mark.Open);
      stack.push([p, 0]);
    }
  }

  const goals = new Set(input.goals);
  const inPath = new Set(order);
  if (order.some((id) => stand(id).practised)) retryLast(order, nodes, (id) => stand(id).practised === true);
  const unlocks = new Map<string, string[]>();
  for (const id of order) {
    for (const p of nodes.get(id)!.prerequisites) {
      if (!inPath.has(p)) continue;
      const u = unlocks.get(p);
      if (u) u.push(id);
      else unlocks.set(p, [id]);
    }
  }
  const max = input.max ?? order.length;
  const steps = order.slice(0, max).map((id): PathStep => {
    const n = nodes.get(id)!;
    const u = unlocks.get(id) ?? [];
    const firstGoal = goals.has(id) ? undefined : (u.find((x) => goals.has(x)) ?? u[0]);
    const review = stand(id).review;
    return {
      resourceId: id,
      ...(n.title !== undefined ? { title: n.title } : {}),
      pSuccess: stand(id).pSuccess,
      unlocks: [...new Set(u)],
      prerequisites: n.prerequisites.filter((p) => nodes.has(p)),
      missing: n.prerequisites.filter((p) => !nodes.has(p)),
      reason: goals.has(id)
        ? { code: 'goal', text: 'The goal: every prerequisite is mastered or earlier in the path' }
        : review !== undefined
          ? { code: 'review', text: `Review: ${nodes.get(review)?.title ?? review} builds on it and is not going well`, ref: review }
          : { code: 'prerequisite', text: `Needed before ${nodes.get(firstGoal!)?.title ?? firstGoal}`, ref: firstGoal },
    };
  });
  return { kind: 'path', steps, totalSteps: order.length, ancestors: mark.size, masteredGoals };
}

/**
 * Reorders `order` (a topological order of the path) in place so that the steps the learner has practised without
 * mastering come after every step that does not depend on them: Kahn's algorithm taking, among the steps whose
 * prerequisites on the path are placed, a new one before a practised one and otherwise the earliest in `order`. With no
 * practised step this is `order` itself; chains stay together otherwise too.
 *
 * Why: a step the learner failed is, by the knowledge model, unlikely to succeed right away, and when its prerequisites
 * only look mastered (a lucky right answer), retrying it at once keeps failing; the steps new to the learner are where
 * the next step most likely teaches something. The retry still comes, later, after more evidence (and spaced).
 */
function retryLast(order: string[], nodes: ReadonlyMap<string, PathNode>, practised: (id: string) => boolean): void {
  // integer positions in `order` throughout: this pass runs on every plan with a practised step (500-step paths)
  const n = order.length;
  const index = new Map(order.map((id, i) => [id, i]));
  const waiting = new Int32Array(n);
  const dependents: number[][] = Array.from({ length: n }, () => []);
  const key = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    key[i] = (practised(order[i]) ? n : 0) + i;
    for (const p of new Set(nodes.get(order[i])!.prerequisites)) {
      const j = index.get(p);
      if (j === undefined) continue; // mastered or missing: not a step
      waiting[i]++;
      dependents[j].push(i);
    }
  }
  const ready: number[] = [];
  for (let i = 0; i < n; i++) if (waiting[i] === 0) ready.push(i);
  const out: string[] = [];
  while (ready.length > 0) {
    let best = 0;
    for (let r = 1; r < ready.length; r++) if (key[ready[r]] < key[ready[best]]) best = r;
    const i = ready[best];
    ready[best] = ready[ready.length - 1];
    ready.pop();
    out.push(order[i]);
    for (const d of dependents[i]) if (--waiting[d] === 0) ready.push(d);
  }
  for (let k = 0; k < n; k++) order[k] = out[k];
}

/**
 * The property every returned path has, checked independently of the planner (tests, and a guard for callers that
 * build paths by hand): each step's known prerequisites are mastered or an earlier step, no step is mastered (except
 * a `review` step, which the planner brought back on purpose), no step repeats. Returns the first violation, or null.
 */
export function pathViolation(
  steps: readonly (Pick<PathStep, 'resourceId'> & { reason?: { code: string } })[],
  nodes: ReadonlyMap<string, PathNode>,
  standing: (id: string) => Standing,
): string | null {
  const earlier = new Set<string>();
  for (const s of steps) {
    if (earlier.has(s.resourceId)) return `${s.resourceId} appears twice`;
    if (standing(s.resourceId).mastered && s.reason?.code !== 'review') return `${s.resourceId} is mastered yet a step`;
    for (const p of nodes.get(s.resourceId)?.prerequisites ?? []) {
      if (nodes.has(p) && !earlier.has(p) && !standing(p).mastered) return `${s.resourceId} needs ${p}, neither mastered nor earlier`;
    }
    earlier.add(s.resourceId);
  }
  return null;
}

/**
 * The longest prerequisite chain ending at each node (its depth: 1 for a node without known prerequisites), over an
 * acyclic graph; Infinity marks nodes on or behind a cycle. For curriculum reports.
 */
export function chainDepths(nodes: ReadonlyMap<string, PathNode>): Map<string, number> {
  const depth = new Map<string, number>();
  const open = new Set<string>();
  for (const start of nodes.keys()) {
    if (depth.has(start)) continue;
    const stack: [string, number][] = [[start, 0]];
    open.add(start);
    while (stack.length > 0) {
      const top = stack[stack.length - 1];
      const pre = nodes.get(top[0])!.prerequisites;
      if (top[1] >= pre.length) {
        stack.pop();
        open.delete(top[0]);
        let d = 1;
        for (const p of pre) if (nodes.has(p)) d = Math.max(d, (depth.get(p) ?? Infinity) + 1);
        depth.set(top[0], d);
        continue;
      }
      const p = pre[top[1]++];
      if (!nodes.has(p) || depth.has(p)) continue;
      if (open.has(p)) {
        depth.set(p, Infinity);
        continue;
      }
      open.add(p);
      stack.push([p, 0]);
    }
  }
  return depth;
}
