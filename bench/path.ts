/**
 * Learning paths: latency of planning to a goal with a 500-node ancestor set (issue #20: p99 ≤ 20 ms, the read API's
 * budget). Synthetic curriculum: 25 levels of 20 resources, each with 1-3 prerequisites in the level below (500
 * ancestors, chains of 25), one goal on top; learners master a seeded random 0-40 % of it.
 *   planner        models/paths plannableGraph + planPath on the loaded ancestor set (pure CPU)
 *   route, memory  api/recommend/path learnerPath() over MemoryServingStore: goal resolution, the per-level ancestor
 *                  reads, knowledge, planning; no network
 *   route, Redis   the same over RedisServingStore on the local stack (one HMGET per level: 25 round trips)
 * `npm run bench -- path [--quick] [--json]`; the Redis row starts the stack when needed.
 */
import { randomBytes } from 'node:crypto';
import { learnerPath } from '../api/recommend/path';
import { loadConfig } from '../lib/config';
import type { CurriculumNode } from '../serving/curriculum';
import { MemoryServingStore } from '../serving/memory-store';
import { RedisServingStore } from '../serving/redis-store';
import { createRedis } from '../lib/redis/client';
import type { ServingStore } from '../serving/types';
import type { CurriculumStore } from '../serving/curriculum';
import { mulberry32 } from '../models/random/prng';
import { planPath, plannableGraph, standingOf, type CatalogueNode, type Standing } from '../models/paths';
import { ensureStack } from './lib/stack';
import { emitReport, newReport, progress, type BenchArgs } from './lib/report';
import { round, summarize } from './lib/stats';
import type { Row } from './lib/table';

const LEVELS = 25;
const WIDTH = 20;
const GOAL = 'goal';
const LEARNERS = 16;

function curriculum(seed: number): CurriculumNode[] {
  const rnd = mulberry32(seed);
  const id = (l: number, i: number) => `r-${l}-${i}`;
  const out: CurriculumNode[] = [];
  for (let l = 0; l < LEVELS; l++) {
    for (let i = 0; i < WIDTH; i++) {
      const k = l === 0 ? 0 : 1 + Math.floor(rnd() * 3);
      const pre = new Set<string>();
      // the same column below keeps every level-l resource an ancestor of the goal through the level above
      if (l > 0) pre.add(id(l - 1, i));
      while (pre.size < k) pre.add(id(l - 1, Math.floor(rnd() * WIDTH)));
      out.push({ resourceId: id(l, i), title: `Resource ${l}.${i}`, prerequisites: [...pre], skills: [`s-${l}-${i}`], active: true });
    }
  }
  out.push({
    resourceId: GOAL,
    title: 'The goal',
    prerequisites: Array.from({ length: WIDTH }, (_, i) => id(LEVELS - 1, i)),
    skills: ['s-goal'],
    active: true,
  });
  return out;
}

async function seed(store: ServingStore & CurriculumStore, nodes: CurriculumNode[]): Promise<void> {
  for (const n of nodes) await store.putCurriculumNode(n);
  const rnd = mulberry32(7);
  for (let u = 0; u < LEARNERS; u++) {
    const share = (u / LEARNERS) * 0.4;
    // mastery concentrated low in the graph, as a real learner's would be
    const skills = nodes
      .filter((n) => n.resourceId !== GOAL && rnd() < share * 2 * (1 - Number(n.resourceId.split('-')[1]) / LEVELS))
      // every fifth mastered on a single answer: behind a failing step, the planner brings it back as a review step
      .map((n, i) => ({ skill: n.skills[0], mastery: 0.85 + rnd() * 0.1, uncertainty: 0.3, attempts: i % 5 === 0 ? 1 : 10 }));
    // and a tenth of the rest practised without mastery (the planner orders those steps last: its second pass)
    const known = new Set(skills.map((k) => k.skill));
    for (const n of nodes)
      if (!known.has(n.skills[0]) && rnd() < 0.1)
        skills.push({ skill: n.skills[0], mastery: 0.3 + rnd() * 0.4, uncertainty: 0.3, attempts: 2 });
    await store.putKnowledge({ userId: `u${u}`, updatedAt: 1, skills });
  }
}

async function timeMs(n: number, fn: (i: number) => unknown): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn(i);
    out.push(performance.now() - t0);
  }
  return out;
}

export async function run(args: BenchArgs): Promise<void> {
  const report = newReport('path', args);
  const reps = args.quick ? 200 : 2000;
  const nodes = curriculum(20);
  const rows: Row[] = [];
  const row = (what: string, ms: number[], ancestors: number, steps: string) => {
    const s = summarize(ms);
    rows.push({
      what,
      ancestors,
      steps,
      p50_ms: round(s.p50),
      p95_ms: round(s.p95),
      p99_ms: round(s.p99),
      max_ms: round(s.max),
      reps: s.n,
    });
    return s;
  };

  progress(`planner: ${nodes.length - 1} ancestors, ${reps} plans`);
  const catalogue = new Map(
    nodes.map((n): [string, CatalogueNode] => [
      n.resourceId,
      { id: n.resourceId, title: n.title, prerequisites: n.prerequisites, active: true },
    ]),
  );
  const none = new Map<string, number>();
  await timeMs(200, () => planPath({ goals: [GOAL], nodes: plannableGraph(catalogue), standing: (id) => standingOf([id], none, false) })); // JIT warm-up
  const full = planPath({ goals: [GOAL], nodes: plannableGraph(catalogue), standing: (id) => standingOf([id], none, false), max: 500 });
  const planner = row(
    'planner (pure)',
    await timeMs(reps, () =>
      planPath({ goals: [GOAL], nodes: plannableGraph(catalogue), standing: (id) => standingOf([id], none, false), max: 500 }),
    ),
    full.kind === 'path' ? full.ancestors : 0,
    full.kind === 'path' ? String(full.totalSteps) : full.kind,
  );
  // every third resource practised and not mastered: the re-ordering pass runs over the whole 500-step path
  const practised = (id: string): Standing =>
    Number(id.split('-')[2] ?? 0) % 3 === 0 ? { pSuccess: 0.5, mastered: false, practised: true } : standingOf([id], none, false);
  const mixed = planPath({ goals: [GOAL], nodes: plannableGraph(catalogue), standing: practised, max: 500 });
  row(
    'planner (pure), 1/3 of steps practised',
    await timeMs(reps, () => planPath({ goals: [GOAL], nodes: plannableGraph(catalogue), standing: practised, max: 500 })),
    mixed.kind === 'path' ? mixed.ancestors : 0,
    mixed.kind === 'path' ? String(mixed.totalSteps) : mixed.kind,
  );

  let reviewSteps = 0;
  const routeRow = async (what: string, store: ServingStore & CurriculumStore) => {
    await seed(store, nodes);
    const deps = { store, curriculum: store };
    await timeMs(100, (i) => learnerPath(deps, { userId: `u${i % LEARNERS}`, goal: GOAL, max: 500 }));
    const sizes: number[] = [];
    const ms = await timeMs(reps, async (i) =>
      sizes.push((await learnerPath(deps, { userId: `u${i % LEARNERS}`, goal: GOAL, max: 500 })).totalSteps),
    );
    const fresh = await learnerPath(deps, { userId: 'u0', goal: GOAL, max: 500 });
    reviewSteps = 0;
    for (let u = 0; u < LEARNERS; u++)
      reviewSteps += (await learnerPath(deps, { userId: `u${u}`, goal: GOAL, max: 500 })).steps.filter(
        (x) => x.reason.code === 'review',
      ).length;
    return row(what, ms, fresh.ancestors, `${Math.min(...sizes)}..${Math.max(...sizes)}`);
  };
  progress('route over the in-memory store');
  await routeRow('route, memory store', new MemoryServingStore());

  const config = loadConfig();
  const stack = await ensureStack(config);
  const redis = createRedis(config);
  const prefix = `lsbench:${randomBytes(4).toString('hex')}:`;
  let redisRow;
  try {
    progress('route over Redis');
    redisRow = await routeRow('route, Redis store', new RedisServingStore({ redis, keyPrefix: prefix }));
  } finally {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
    await stack.stop();
  }

  report.sections.push({
    title: `Path to a goal with a ${nodes.length - 1}-node ancestor set (${LEVELS} levels × ${WIDTH}), ms per plan`,
    rows,
    notes: [
      `route rows: ${LEARNERS} learners in turn, mastering 0-40 % of the graph (a fifth of it on a single answer) and having practised a tenth of the rest without mastering it (steps = the range of path lengths; ${reviewSteps} review steps over the ${LEARNERS} paths); the Redis row is ${LEVELS} HMGETs plus knowledge and completed reads.`,
    ],
  });
  report.targets.push({
    target: 'path route p99 ≤ 20 ms for a 500-node ancestor set (Redis)',
    measured: `${round(redisRow.p99)} ms`,
    pass: redisRow.p99 <= 20,
  });
  report.targets.push({ target: 'planner p99 (pure) ≤ 20 ms', measured: `${round(planner.p99)} ms`, pass: planner.p99 <= 20 });
  emitReport(report, args);
}
