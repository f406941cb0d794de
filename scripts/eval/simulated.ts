/**
 * `npm run eval -- --dataset simulated [--seed S] [--methods path,served,most-popular,random]`: does following our
 * recommendations make anyone learn? Simulated learners (./simulator/kss.ts: hidden mastery over a prerequisite DAG,
 * EduSim-KSS style) each pick one resource per step by a strategy, study it and answer its quiz. Every event (the
 * catalogue, each learner's `start` interaction and quiz attempt) is a schema-valid Avro record, encoded and decoded
 * with the production types, consumed by the production catalogue and learner stages in-process (synchronous item
 * mode, in-memory serving store: what scripts/eval/served.ts drives). The strategies read what the product serves:
 *   path          GET /v1/learners/{id}/path?max=10 to the learner's goal (learnerPath, the route's function): the
 *                 learner works through its steps in order and asks again at the end; when the path says the goal
 *                 is mastered, the served list's first item
 *   served        GET /v1/learners/{id}/recommendations (serveRecommendations): its first item
 *   most-popular  the most popular resource (the serving store's decayed popularity) the learner has not studied
 *   random        a uniformly random resource the learner has not studied
 * Learning gain on the goal = share of the goal's knowledge structure (goal + ancestors) mastered after 20 and 50
 * steps minus the share at the start, hidden state, mean over learners.
 */
import { MemoryServingStore } from '../../serving/memory-store';
import { loadConfig } from '../../lib/config';
import { createLogger } from '../../lib/log';
import { noopEmitter } from '../../lib/metrics/instrumentation';
import { serveRecommendations } from '../../api/recommend/serve';
import { learnerPath } from '../../api/recommend/path';
import { AVRO_TYPES, assertValidEvent, type EventName, type EventTypes } from '../../schemas';
import { toPipelineEvent } from '../../consumers/decode/events';
import type { PipelineEvent } from '../../consumers/event-types';
import { CatalogProcessor } from '../../pipelines/catalog/processor';
import { LearnerProcessor } from '../../pipelines/learner/processor';
import { encodeItemUpdate, type ItemUpdate } from '../../pipelines/messages';
import { learnerStageSettings } from '../../pipelines/pipeline';
import { ValidationError } from '../../lib/errors';
import { DEFAULT_KSS, KssLearner, KssWorld, rng, type KssParams } from './simulator/kss';
import type { EvalArgs, EvalReport, EvalRunner } from './types';

export const SIMULATED_STRATEGIES = ['path', 'served', 'most-popular', 'random'] as const;
type Strategy = (typeof SIMULATED_STRATEGIES)[number];

/** The protocol's sizes (printed with the results). */
export interface SimulationParams {
  /** Learners measured per strategy, each with a goal. */
  learners: number;
  /** Steps per measured learner; gains are read at `checkpoints`. */
  steps: number;
  checkpoints: number[];
  /** Learners who study on their own first (a syllabus order: an item once its prerequisites were studied), so the product has history to learn from. */
  warmupLearners: number;
  warmupSteps: number;
  /** Minutes between two steps of one learner. */
  stepMinutes: number;
  /** Steps of a path the learner is shown (`max`); they follow them in order, then ask again. */
  pathSteps: number;
  /**
   * A wrong quiz answer on a path step makes the learner ask for a new path at once, as a page showing the path does
   * when the answer comes back (the product re-plans from the answer), instead of going on to steps that build on it.
   */
  replanOnWrong: boolean;
}

export const DEFAULT_SIMULATION: SimulationParams = {
  learners: 100,
  steps: 50,
  checkpoints: [20, 50],
  warmupLearners: 60,
  warmupSteps: 25,
  stepMinutes: 10,
  pathSteps: 10,
  replanOnWrong: true,
};

const T0 = Date.UTC(2026, 0, 5);

interface StrategyResult {
  gain20: number;
  gain50: number;
  /** mean goal-structure mastery at the start */
  start: number;
  /** learners whose whole goal structure is mastered at the end */
  reachedGoal: number;
  /** path only: steps where the path said the goal was mastered and the served list's first item was taken */
  fallbackSteps?: number;
  /** Where the first 20 steps went, judged against the hidden state (a diagnosis the product cannot see). */
  steps20: StepTally;
  /** path only: the knowledge model's P(success) on goal-structure items at each path request against hidden mastery */
  calibration?: CalibrationBin[];
  seconds: number;
}

/** The first `checkpoints[0]` steps of every learner, classified with the hidden state before the step. */
export interface StepTally {
  steps: number;
  /** on the goal's knowledge structure (goal or ancestor) */
  onGoal: number;
  /** the item was already mastered (hidden) */
  mastered: number;
  /** ... of which mastered before the learner's first step (level-0 prior knowledge) */
  priorKnown: number;
  /** not mastered, every prerequisite mastered (hidden) */
  ready: number;
  readyLearned: number;
  /** not mastered, some prerequisite not mastered: the step cannot teach (or only with P unreadyLearn × share) */
  unready: number;
  unreadyLearned: number;
  /** steps on an item the learner had studied before */
  repeats: number;
}

export interface CalibrationBin {
  /** lower edge of the P(success) bin */
  from: number;
  n: number;
  /** share of those items mastered in the hidden state */
  mastered: number;
  /** mean P(success) in the bin */
  meanP: number;
}

const tally = (): StepTally => ({
  steps: 0,
  onGoal: 0,
  mastered: 0,
  priorKnown: 0,
  ready: 0,
  readyLearned: 0,
  unready: 0,
  unreadyLearned: 0,
  repeats: 0,
});

/** Runs the production stages for one strategy over the same simulated world and cohort. */
async function runStrategy(world: KssWorld, strategy: Strategy, s: SimulationParams): Promise<StrategyResult> {
  const t0 = performance.now();
  const settings = learnerStageSettings(loadConfig({ env: {} }));
  let clock = T0;
  const now = () => clock;
  const store = new MemoryServingStore({ now });
  const logger = createLogger({ level: 'error' });
  let current: PipelineEvent | null = null;
  const topics = { interactions: 'i', quizAttempts: 'q', profiles: 'p', erasures: 'e', itemUpdates: 'u' };
  const learner = new LearnerProcessor({
    decode: () => Promise.resolve(current),
    model: settings.model,
    store,
    emit: noopEmitter,
    logger,
    topics,
    tombstone: () => Promise.resolve(),
    topN: settings.topN,
    historyLength: settings.historyLength,
    rerankIntervalMs: settings.rerankIntervalMs,
    modelVersion: 'simulated',
    kernel: 'js',
    now,
    manualReranks: true,
    ranking: settings.ranking,
    reviews: settings.reviews,
    tuning: settings.tuning,
  });
  learner.restore(0, null);
  const updates: ItemUpdate[] = [];
  const catalog = new CatalogProcessor({
    decode: () => Promise.resolve(current),
    model: settings.model,
    store,
    sink: { send: (u) => void updates.push(u), flush: () => Promise.resolve(), backlog: 0 },
    emit: noopEmitter,
    logger,
    coEngagementTickMs: 0,
  });
  catalog.restore(0, null);
  let offset = 0;
  const record = (topic: string, key: string | null, value: Buffer) => ({
    topic,
    partition: 0,
    offset: String(offset++),
    key: key === null ? null : Buffer.from(key),
    value,
    timestamp: clock,
    headers: {},
  });
  /** Validates, encodes and decodes the event with the production Avro types, then hands it to a stage. */
  const publish = async <N extends EventName>(name: N, ev: EventTypes[N], topic: string, key: string) => {
    const valid = assertValidEvent(name, ev, { now: clock });
    const type = AVRO_TYPES[name];
    const bytes = type.toBuffer(valid);
    current = toPipelineEvent(name, type.fromBuffer(bytes) as EventTypes[N]);
    if (topic === 'catalog') {
      await catalog.apply(0, record('r', key, bytes));
      for (const u of updates.splice(0)) await learner.apply(0, record('u', u.itemId, encodeItemUpdate(u)));
    } else await learner.apply(0, record(topic, key, bytes));
  };

  for (const item of world.items) {
    await publish(
      'Resource',
      {
        resourceId: item.id,
        title: `Simulated item ${item.id} (level ${item.level})`,
        description: `Level ${item.level} of the simulated curriculum.`,
        type: 'exercise',
        topics: [`level-${item.level}`],
        skills: [`skill-${item.id}`],
        difficulty: item.difficulty,
        durationMin: null,
        language: 'en',
        prerequisites: item.prerequisites,
        instructor: null,
        publishedAt: null,
        active: true,
      },
      'catalog',
      item.id,
    );
  }
  await learner.reranker.runDue();

  let n = 0;
  /** One study step: the learner starts the resource, studies it (hidden learning), answers its quiz. */
  const step = async (l: KssLearner, resourceId: string) => {
    l.study(resourceId);
    const correct = l.answer(resourceId);
    await publish(
      'LearningInteraction',
      {
        eventId: `sim-${n++}`,
        userId: l.id,
        resourceId,
        type: 'start',
        value: null,
        dwellMs: 0,
        occurredAt: clock,
        context: { platform: 'simulator', device: null, session: null },
        review: false,
        recommId: null,
      },
      'i',
      l.id,
    );
    await publish(
      'QuizAttempt',
      {
        eventId: `sim-${n++}`,
        userId: l.id,
        itemId: `quiz-${resourceId}`,
        resourceId,
        skills: [`skill-${resourceId}`],
        correct,
        score: null,
        attempt: 1,
        responseTimeMs: 0,
        occurredAt: clock,
      },
      'q',
      l.id,
    );
    await learner.reranker.runDue();
    return correct;
  };

  // warm-up: the same self-directed learners in every strategy's world (seeded), interleaved step by step
  const goals = world.goals();
  const warm = Array.from(
    { length: s.warmupLearners },
    (_, i) => new KssLearner(`warm-${i}`, goals[0].id, world, rng(world.p.seed * 7919 + i)),
  );
  const studied = new Map<string, Set<string>>();
  for (let t = 0; t < s.warmupSteps; t++) {
    clock += s.stepMinutes * 60_000;
    for (const l of warm) {
      const done = studied.get(l.id) ?? new Set<string>();
      studied.set(l.id, done);
      const open = world.items.filter((x) => !done.has(x.id) && x.prerequisites.every((q) => done.has(q)));
      if (open.length === 0) continue;
      const pick = open[Math.floor(l.draw() * open.length)].id;
      done.add(pick);
      await step(l, pick);
    }
  }
  await learner.flushDerived();

  const cohort = Array.from({ length: s.learners }, (_, i) => {
    const r = rng(world.p.seed * 104729 + i);
    return new KssLearner(`sim-${i}`, goals[Math.floor(r() * goals.length)].id, world, r);
  });
  const start = cohort.map((l) => l.goalMastery());
  const known0 = new Map(cohort.map((l) => [l.id, new Set(l.mastered)]));
  const structure = new Map(cohort.map((l) => [l.id, new Set([l.goal, ...world.ancestorsOf(l.goal)])]));
  const steps20 = tally();
  const bins = Array.from({ length: 10 }, (_, i) => ({ from: i / 10, n: 0, mastered: 0, meanP: 0 }));
  const at = new Map<number, number[]>();
  let fallbackSteps = 0;
  const planned = new Map<string, string[]>();
  for (let t = 1; t <= s.steps; t++) {
    clock += s.stepMinutes * 60_000;
    await learner.flushDerived();
    for (const l of cohort) {
      const done = studied.get(l.id) ?? new Set<string>();
      studied.set(l.id, done);
      let pick: string | undefined;
      if (strategy === 'path') {
        // the learner works through the path as shown, and asks for a new one when they reach its end
        let queue = planned.get(l.id) ?? [];
        if (queue.length === 0) {
          queue = (await learnerPath({ store, curriculum: store }, { userId: l.id, goal: l.goal, max: s.pathSteps })).steps.map(
            (x) => x.resourceId,
          );
          if (t <= s.checkpoints[0])
            for (const k of (await store.getKnowledge(l.id))?.skills ?? []) {
              const id = k.skill.replace(/^skill-/, '');
              if (!structure.get(l.id)!.has(id)) continue;
              const b = bins[Math.min(9, Math.floor(k.mastery * 10))];
              b.n++;
              b.meanP += k.mastery;
              if (l.mastered.has(id)) b.mastered++;
            }
        }
        pick = queue.shift();
        planned.set(l.id, queue);
        if (!pick) fallbackSteps++;
      }
      if (strategy === 'served' || (strategy === 'path' && !pick)) {
        pick = (await serveRecommendations(store, { userId: l.id, limit: 10, explain: false })).items[0]?.resourceId;
      } else if (strategy === 'most-popular') {
        const popular = await store.getPopular(world.items.length, undefined, clock);
        pick = popular.find((x) => !done.has(x.resourceId))?.resourceId;
      }
      if (strategy === 'random' || !pick) {
        const open = world.items.filter((x) => !done.has(x.id));
        const from = open.length > 0 ? open : world.items;
        pick = from[Math.floor(l.draw() * from.length)].id;
      }
      const before = { mastered: l.mastered.has(pick), repeat: done.has(pick) };
      const ready = world.item(pick)!.prerequisites.every((q) => l.mastered.has(q));
      done.add(pick);
      const correct = await step(l, pick);
      if (t <= s.checkpoints[0]) {
        const c = steps20;
        c.steps++;
        if (structure.get(l.id)!.has(pick)) c.onGoal++;
        if (before.repeat) c.repeats++;
        if (before.mastered) {
          c.mastered++;
          if (known0.get(l.id)!.has(pick)) c.priorKnown++;
        } else if (ready) {
          c.ready++;
          if (l.mastered.has(pick)) c.readyLearned++;
        } else {
          c.unready++;
          if (l.mastered.has(pick)) c.unreadyLearned++;
        }
      }
      if (strategy === 'path' && !correct && s.replanOnWrong) planned.delete(l.id);
    }
    if (s.checkpoints.includes(t))
      at.set(
        t,
        cohort.map((l) => l.goalMastery()),
      );
  }
  await learner.stop();
  catalog.stop();
  const gain = (t: number) => mean((at.get(t) ?? []).map((m, i) => m - start[i]));
  return {
    gain20: gain(20),
    gain50: gain(50),
    start: mean(start),
    reachedGoal: cohort.filter((l) => l.goalMastery() === 1).length,
    ...(strategy === 'path' ? { fallbackSteps } : {}),
    steps20,
    ...(strategy === 'path'
      ? { calibration: bins.filter((b) => b.n > 0).map((b) => ({ ...b, mastered: b.mastered / b.n, meanP: b.meanP / b.n })) }
      : {}),
    seconds: (performance.now() - t0) / 1000,
  };
}

function mean(xs: number[]): number {
  return xs.length === 0 ? NaN : xs.reduce((a, b) => a + b, 0) / xs.length;
}

export const evalSimulated: EvalRunner = async (args: EvalArgs): Promise<EvalReport> => {
  const t0 = performance.now();
  const params: KssParams = { ...DEFAULT_KSS, ...(args.seed !== undefined ? { seed: args.seed } : {}) };
  const sim: SimulationParams = { ...DEFAULT_SIMULATION, ...(args.limit !== undefined ? { learners: args.limit } : {}) };
  const names = (args.methods ?? [...SIMULATED_STRATEGIES]) as Strategy[];
  for (const m of names)
    if (!(SIMULATED_STRATEGIES as readonly string[]).includes(m))
      throw new ValidationError(`unknown simulated strategy ${m}; known: ${SIMULATED_STRATEGIES.join(', ')}`);
  const world = new KssWorld(params);
  const results: Record<string, StrategyResult> = {};
  for (const m of names) results[m] = await runStrategy(world, m, sim);
  const pop = results['most-popular'];
  const ratio = results.path && pop ? results.path.gain20 / pop.gain20 : NaN;
  const goals = world.goals();
  return {
    dataset: 'simulated',
    source: `KSS-style simulator, ${params.items} items in ${params.layers} levels, ${goals.length} possible goals (>= ${params.minGoalAncestors} ancestors); seed ${params.seed}`,
    tables: [
      {
        title: 'simulator parameters (rerun: npm run eval -- --dataset simulated --seed <seed>)',
        columns: ['parameter', 'value'],
        rows: [...Object.entries(params), ...Object.entries(sim)].map(([k, v]: [string, number | number[]]) => [
          k,
          Array.isArray(v) ? v.join(',') : v,
        ]),
      },
      {
        title: `mean learning gain on the goal (share of goal + ancestors mastered, hidden state) per learner; path / most-popular at 20 steps = ${ratio.toFixed(2)}x (target >= 1.5x)`,
        columns: ['strategy', 'gain20', 'gain50', 'start', 'goal reached (of learners)', 'seconds'],
        rows: names.map((m) => [
          m,
          results[m].gain20.toFixed(4),
          results[m].gain50.toFixed(4),
          results[m].start.toFixed(3),
          `${results[m].reachedGoal} of ${sim.learners}`,
          results[m].seconds.toFixed(1),
        ]),
      },
      {
        title: `where the first ${sim.checkpoints[0]} steps of every learner went (hidden state before the step; a diagnosis, not seen by the product)`,
        columns: ['strategy', 'on goal', 'mastered (prior)', 'ready: learned / studied', 'unready: learned / studied', 'repeats'],
        rows: names.map((m) => {
          const c = results[m].steps20;
          return [
            m,
            c.onGoal,
            `${c.mastered} (${c.priorKnown})`,
            `${c.readyLearned} / ${c.ready}`,
            `${c.unreadyLearned} / ${c.unready}`,
            c.repeats,
          ];
        }),
      },
      ...(results.path?.calibration
        ? [
            {
              title: `path: the knowledge model's P(success) on goal-structure items at each path request (first ${sim.checkpoints[0]} steps) against hidden mastery`,
              columns: ['P(success) bin', 'items', 'mean P', 'share mastered (hidden)'],
              rows: results.path.calibration.map((b) => [
                `${b.from.toFixed(1)}-${(b.from + 0.1).toFixed(1)}`,
                b.n,
                b.meanP.toFixed(3),
                b.mastered.toFixed(3),
              ]),
            },
          ]
        : []),
    ],
    results: { params, simulation: sim, ...results, pathOverMostPopular20: ratio },
    figures: [],
    totalSeconds: (performance.now() - t0) / 1000,
  };
};
