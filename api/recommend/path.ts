/**
 * GET /v1/learners/:userId/path: the ordered steps from where the learner stands to a goal, over the catalogue's
 * prerequisite graph (models/paths plans; this file does the reads). Reads, all from the serving store:
 *   1. the learner's per-skill knowledge and completed set (one round trip each, in parallel with 2);
 *   2. the goal: a resource id, else a skill (the resources training it), else free text resolved by the encoder;
 *   3. the goal's ancestors, one HMGET per level of the graph, expanding only what the learner has not mastered
 *      (mastered resources and their own ancestors are never needed) plus inactive resources (bypassed); a step the
 *      learner is failing although its prerequisites look mastered brings the weakest one mastered on a single answer
 *      back as a review step (models/paths prerequisiteToReview), expanded like an unmastered one.
 */
import {
  DEFAULT_MASTERY_THRESHOLD,
  planPath,
  prerequisiteToReview,
  plannableGraph,
  standingOf,
  type CatalogueNode,
  type PathStep,
  type Standing,
} from '../../models/paths';
import type { CurriculumNode, CurriculumStore } from '../../serving/curriculum';
import type { ServingReader } from '../../serving/types';
import { HttpProblem } from '../../lib/problems';
import { EncoderUnavailableError, type TextGoalResolver } from './text-goals';

export interface PathQuery {
  userId: string;
  goal: string;
  /** Most steps returned. */
  max: number;
}

export interface PathDeps {
  store: ServingReader;
  curriculum: CurriculumStore;
  /** Free-text goals; undefined = this server resolves none (503 for such a goal). */
  textGoals?: TextGoalResolver;
  /** P(success) at or above which a resource counts as mastered. Default DEFAULT_MASTERY_THRESHOLD (0.8). */
  masteryThreshold?: number;
}

/** "Did you mean": the nearest resources to a free-text goal, and the skills they train. */
export interface GoalMatch {
  kind: 'resource' | 'skill';
  id: string;
  title?: string;
  cosine: number;
}

export interface PathResponse {
  userId: string;
  goal: {
    query: string;
    kind: 'resource' | 'skill' | 'text';
    resourceIds: string[];
    skill?: string;
    matches?: GoalMatch[];
    resolvedBy?: 'encoder' | 'title-ngram';
  };
  masteryThreshold: number;
  status: 'path' | 'goal-mastered';
  reason: string;
  steps: (PathStep & { skills: string[] })[];
  totalSteps: number;
  truncated: boolean;
  /** Resources read to plan (mastered ones included). */
  ancestors: number;
}

/** Matches returned for a free-text goal; the best one is the goal when its cosine reaches TEXT_MIN_COSINE. */
const TEXT_MATCHES = 5;
/**
 * Below this cosine the nearest resource is not taken as the goal (the answer is 404 with the matches, for the
 * client to ask "did you mean"). 0.3: the content-similarity floor of the similar-items lists, same encoder.
 */
export const TEXT_MIN_COSINE = 0.3;

export async function learnerPath(deps: PathDeps, q: PathQuery): Promise<PathResponse> {
  const threshold = deps.masteryThreshold ?? DEFAULT_MASTERY_THRESHOLD;
  const [knowledge, completed, goal] = await Promise.all([
    deps.store.getKnowledge(q.userId),
    deps.store.getCompleted(q.userId),
    resolveGoal(deps, q.goal),
  ]);
  const mastery = new Map((knowledge?.skills ?? []).map((s) => [s.skill, s.mastery]));
  const attempts = new Map((knowledge?.skills ?? []).map((s) => [s.skill, s.attempts]));
  const nodes = new Map<string, CurriculumNode>();
  const standing = new Map<string, Standing>();
  const standOf = (n: CurriculumNode): Standing => {
    let s = standing.get(n.resourceId);
    if (!s) standing.set(n.resourceId, (s = standingOf(n.skills, mastery, completed.has(n.resourceId), threshold, attempts)));
    return s;
  };
  const base = { userId: q.userId, goal: goal.info, masteryThreshold: threshold };

  if (goal.info.kind === 'skill' && (mastery.get(goal.info.skill!) ?? 0) >= threshold) {
    return {
      ...base,
      status: 'goal-mastered',
      reason: `Skill ${goal.info.skill} is already mastered (P(success) ${mastery.get(goal.info.skill!)!.toFixed(2)} ≥ ${threshold})`,
      steps: [],
      totalSteps: 0,
      truncated: false,
      ancestors: 0,
    };
  }

  // breadth-first over the unmastered ancestors, one HMGET per level
  let frontier = goal.nodes;
  let failing: CurriculumNode[] = [];
  while (frontier.length > 0 || failing.length > 0) {
    const next = new Set<string>();
    for (const n of frontier) nodes.set(n.resourceId, n);
    // the failing steps of the level before have all their prerequisites read now: one of them may be reviewed
    const inFrontier = failing.length > 0 ? new Set(frontier.map((n) => n.resourceId)) : null;
    for (const x of failing) {
      const pre = x.prerequisites.map((id) => nodes.get(id)).filter((n): n is CurriculumNode => n !== undefined && n.active);
      const id = prerequisiteToReview(
        standOf(x),
        pre.map((n) => ({ id: n.resourceId, standing: standOf(n) })),
      );
      if (id === null) continue;
      const n = nodes.get(id)!;
      standing.set(id, { ...standOf(n), mastered: false, review: x.resourceId });
      if (!inFrontier!.has(id)) for (const p of n.prerequisites) if (!nodes.has(p)) next.add(p);
    }
    failing = [];
    for (const n of frontier) {
      const s = standOf(n);
      if (n.active && s.mastered) continue;
      if (n.active && s.practised) failing.push(n);
      for (const p of n.prerequisites) if (!nodes.has(p)) next.add(p);
    }
    const ids = [...next];
    frontier = ids.length > 0 ? (await deps.curriculum.getCurriculumNodes(ids)).filter((n): n is CurriculumNode => n !== null) : [];
  }

  const graph = plannableGraph(
    new Map(
      [...nodes].map(([id, n]): [string, CatalogueNode] => [id, { id, title: n.title, prerequisites: n.prerequisites, active: n.active }]),
    ),
  );
  const goals = goal.info.resourceIds.filter((id) => graph.has(id));
  if (goals.length === 0)
    throw new HttpProblem(
      'unknown-goal',
      `goal '${q.goal}' resolves only to resources that are no longer offered (inactive): ${goal.info.resourceIds.join(', ')}`,
    );
  const plan = planPath({ goals, nodes: graph, standing: (id) => standOf(nodes.get(id)!), max: q.max });
  if (plan.kind === 'cycle') {
    throw new HttpProblem(
      'prerequisite-cycle',
      `the prerequisites of '${q.goal}' form a cycle the learner has not broken (mastered any of): ${plan.cycle.join(' → ')}`,
      { extensions: { cycle: plan.cycle, goal: goal.info } },
    );
  }
  if (plan.kind === 'unknown-goal') throw new HttpProblem('unknown-goal', `unknown goal ${plan.goals.join(', ')}`);
  const steps = plan.steps.map((s) => ({ ...s, skills: nodes.get(s.resourceId)?.skills ?? [] }));
  if (plan.totalSteps === 0) {
    return {
      ...base,
      status: 'goal-mastered',
      reason: `The goal is already mastered or completed: ${plan.masteredGoals.join(', ')}`,
      steps: [],
      totalSteps: 0,
      truncated: false,
      ancestors: plan.ancestors,
    };
  }
  return {
    ...base,
    status: 'path',
    reason: `${plan.totalSteps} step${plan.totalSteps === 1 ? '' : 's'} to the goal; ${plan.ancestors - plan.totalSteps} of the ancestors read are mastered or completed and skipped`,
    steps,
    totalSteps: plan.totalSteps,
    truncated: plan.totalSteps > steps.length,
    ancestors: plan.ancestors,
  };
}

async function resolveGoal(deps: PathDeps, query: string): Promise<{ info: PathResponse['goal']; nodes: CurriculumNode[] }> {
  const [asResource] = await deps.curriculum.getCurriculumNodes([query]);
  if (asResource) return { info: { query, kind: 'resource', resourceIds: [query] }, nodes: [asResource] };
  const trained = await deps.curriculum.getSkillResources(query);
  if (trained.length > 0) {
    const nodes = (await deps.curriculum.getCurriculumNodes(trained)).filter((n): n is CurriculumNode => n !== null);
    return { info: { query, kind: 'skill', skill: query, resourceIds: nodes.filter((n) => n.active).map((n) => n.resourceId) }, nodes };
  }
  if (!deps.textGoals)
    throw new HttpProblem(
      'encoder-unavailable',
      `goal '${query}' is neither a resource id nor a skill, and this server resolves no free-text goals (no content encoder configured)`,
    );
  let near;
  try {
    near = await deps.textGoals.nearest(query, 4 * TEXT_MATCHES);
  } catch (err) {
    if (err instanceof EncoderUnavailableError)
      throw new HttpProblem('encoder-unavailable', `goal '${query}' is neither a resource id nor a skill; ${err.message}`, {
        headers: { 'retry-after': '30' },
      });
    throw err;
  }
  const found = await deps.curriculum.getCurriculumNodes(near.map((m) => m.resourceId));
  const live = near
    .map((m, i) => ({ m, n: found[i] }))
    .filter((x): x is { m: (typeof near)[number]; n: CurriculumNode } => x.n !== null && x.n.active);
  const matches: GoalMatch[] = live
    .slice(0, TEXT_MATCHES)
    .map(({ m, n }) => ({ kind: 'resource', id: n.resourceId, title: n.title, cosine: round(m.cosine) }));
  const skills = new Map<string, number>();
  for (const { m, n } of live) for (const s of n.skills) if (!skills.has(s)) skills.set(s, m.cosine); // best resource's cosine
  matches.push(...[...skills].slice(0, TEXT_MATCHES).map(([id, c]): GoalMatch => ({ kind: 'skill', id, cosine: round(c) })));
  const best = live[0];
  if (!best || best.m.cosine < TEXT_MIN_COSINE) {
    throw new HttpProblem(
      'unknown-goal',
      `no resource matches '${query}' closely enough (best ${near[0]?.method === 'title-ngram' ? 'title bigram score' : 'cosine'} ${best ? best.m.cosine.toFixed(2) : 'none'} < ${TEXT_MIN_COSINE}); see matches`,
      { extensions: { matches } },
    );
  }
  return {
    info: { query, kind: 'text', resourceIds: [best.n.resourceId], matches, resolvedBy: best.m.method ?? 'encoder' },
    nodes: [best.n],
  };
}

const round = (x: number) => Math.round(x * 1e4) / 1e4;
