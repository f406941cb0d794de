/**
 * Knowledge-tracing evaluations for the eval CLI: statics (DKVMN train/test split), oulad (computer-marked assessments)
 * and ednet (KT1/KT4 sample). Each predicts P(correct) before learning from every quiz attempt and reports AUC, RMSE
 * and log-loss for the per-item mean, plain Elo and the full knowledge model; the ablations of the full model in
 * {@link KNOWLEDGE_ABLATIONS} run with --methods, and statics also has a train-only `--split validation`.
 */
import { join } from 'node:path';
import { readDataset, readStatics, DEFAULT_DATASET_DIRS, type DatasetName } from '../../producers/datasets';
import { ValidationError } from '../../lib/errors';
import {
  attemptsFromEvents,
  evaluateKnowledge,
  KNOWLEDGE_METHODS,
  type KnowledgeEvalResult,
  type KnowledgeMethod,
} from '../../models/eval/knowledge';
import { lineChartSvg } from '../../models/eval/plot';
import type { KnowledgeModelOptions } from '../../models/knowledge/model';
import type { QuizAttempt } from '../../models/knowledge/types';
import type { EvalArgs, EvalReport, EvalRunner, EvalTable } from './types';

interface Variant {
  title: string;
  input: QuizAttempt[] | { train: QuizAttempt[]; test: QuizAttempt[] };
  positiveAt?: number;
}

/** One ablation of the full knowledge model: the defaults with one part switched off. */
interface Ablation {
  model?: KnowledgeModelOptions;
  trainEpochs?: number;
  /** drop every attempt's skills (no Q-matrix): skill easiness, skill abilities and skill history all vanish */
  withoutSkills?: boolean;
}

/** Ablations of the full model (docs/evaluation.md), by CLI method name; not part of the default run. */
export const KNOWLEDGE_ABLATIONS: Record<string, Ablation> = {
  'full-1-pass': { trainEpochs: 1 },
  'full-no-item-weights': { model: { itemWeightRate: 0 } },
  'full-no-factors': { model: { factors: 0 } },
  'full-no-history': { model: { historyFeatures: false } },
  'full-no-skills': { withoutSkills: true },
  /** without the sequence memory (models/knowledge/model.ts `memory`, 8 dimensions by default) */
  'full-no-memory': { model: { memory: 0 } },
  /** *with* the per-item discrimination (opt-in: 2PL slopes, rate 0.1): an addition, not an ablation */
  'full-discrimination': { model: { discriminationRate: 0.1 } },
  /** *with* per-item memory age weights (opt-in, rate 0.01: each item learns how far back its memory read looks) */
  'full-memory-ages': { model: { memoryAgeRate: 0.01 } },
  /** both opt-in additions: the best Statics figure measured (#20 item 5) */
  'full-discrimination-memory-ages': { model: { discriminationRate: 0.1, memoryAgeRate: 0.01 } },
};

function methodsOf(args: EvalArgs): string[] {
  const names = args.methods ?? [...KNOWLEDGE_METHODS];
  const known = [...KNOWLEDGE_METHODS, ...Object.keys(KNOWLEDGE_ABLATIONS)];
  for (const m of names) {
    if (!known.includes(m)) throw new ValidationError(`unknown knowledge method ${m}; known: ${known.join(', ')}`);
  }
  return names;
}

const isBase = (m: string): m is KnowledgeMethod => (KNOWLEDGE_METHODS as readonly string[]).includes(m);

function withoutSkills(input: Variant['input']): Variant['input'] {
  const strip = (xs: QuizAttempt[]) => xs.map((a) => ({ ...a, skills: [] }));
  return Array.isArray(input) ? strip(input) : { train: strip(input.train), test: strip(input.test) };
}

/** The base methods in one pass, each ablation as its own full-model run; rows in the order asked for. */
function evaluate(v: Variant, methods: string[]): KnowledgeEvalResult {
  const base = methods.filter(isBase);
  const merged: KnowledgeEvalResult = evaluateKnowledge(v.input, { methods: base, positiveAt: v.positiveAt });
  const byName = new Map(merged.methods.map((m) => [m.method as string, m]));
  for (const name of methods.filter((m) => !isBase(m))) {
    const a = KNOWLEDGE_ABLATIONS[name];
    const r = evaluateKnowledge(a.withoutSkills ? withoutSkills(v.input) : v.input, {
      methods: ['full'],
      model: a.model,
      trainEpochs: a.trainEpochs,
      positiveAt: v.positiveAt,
    });
    merged.trainAttempts = r.trainAttempts;
    merged.testAttempts = r.testAttempts;
    merged.testLearners = r.testLearners;
    byName.set(name, { ...r.methods[0], name });
  }
  merged.methods = methods.map((m) => byName.get(m)!);
  return merged;
}

/** Share of scored attempts that count as positive for the AUC (at or above `positiveAt`, default 0.5). */
function positiveShare(v: Variant): number {
  const test = Array.isArray(v.input) ? v.input : v.input.test;
  const at = v.positiveAt ?? 0.5;
  return test.length === 0 ? 0 : test.filter((a) => a.correct >= at).length / test.length;
}

function table(title: string, r: KnowledgeEvalResult, positives: number): EvalTable {
  return {
    title:
      `${title}: ${r.trainAttempts ? `learn ${r.trainAttempts} train attempts, then ` : ''}prequential on ${r.testAttempts} attempts by ${r.testLearners} learners` +
      ` (${(100 * positives).toFixed(1)}% positive for the AUC)`,
    columns: ['method', 'AUC', 'RMSE', 'log-loss', 'mean p', 'mean y', 'attempts/s'],
    rows: r.methods.map((m) => [
      m.name,
      m.auc.toFixed(4),
      m.rmse.toFixed(4),
      m.logLoss.toFixed(4),
      m.meanPrediction.toFixed(3),
      m.meanLabel.toFixed(3),
      Math.round(m.attemptsPerSecond),
    ]),
  };
}

/** The figure's data as numbers: AUC per window of the scored stream, one column per method. */
function curveTable(title: string, r: KnowledgeEvalResult, plotted: boolean): EvalTable {
  const windows = r.methods[0]?.curve ?? [];
  return {
    title: `${title}: AUC per window of ${windows.length}${plotted ? ' (the figure)' : ''}`,
    columns: ['attempts', ...r.methods.map((m) => m.name)],
    rows: windows.map((c, i) => [c.attempts, ...r.methods.map((m) => m.curve[i]?.auc.toFixed(4) ?? '')]),
  };
}

async function run(args: EvalArgs, source: string, variants: Variant[]): Promise<EvalReport> {
  const t0 = performance.now();
  const methods = methodsOf(args);
  const tables: EvalTable[] = [];
  const results: Record<string, unknown>[] = [];
  const figures: EvalReport['figures'] = [];
  for (const v of variants) {
    const r = evaluate(v, methods);
    await Promise.resolve();
    tables.push(table(v.title, r, positiveShare(v)), curveTable(v.title, r, args.plot !== 'none' && figures.length === 0));
    results.push({
      variant: v.title,
      trainAttempts: r.trainAttempts,
      testAttempts: r.testAttempts,
      testLearners: r.testLearners,
      methods: r.methods,
      fullModelWeights: r.fullModel?.featureWeights(),
    });
    if (args.plot !== 'none' && figures.length === 0) {
      figures.push({
        path: args.plot ?? join(__dirname, '..', '..', 'docs', 'img', `eval-${args.dataset}.svg`),
        svg: lineChartSvg({
          title: `Prequential AUC per window of the test stream (${args.dataset})`,
          xLabel: 'attempts in time order (thousands)',
          yLabel: 'AUC in window',
          series: r.methods.map((m) => ({ name: m.name, points: m.curve.map((c) => [c.attempts / 1000, c.auc]) })),
        }),
      });
    }
  }
  return { dataset: args.dataset, source, tables, results, figures, totalSeconds: (performance.now() - t0) / 1000 };
}

/**
 * Statics2011 (DKVMN): learn on STATICS_train.csv, evaluate prequentially on STATICS_test.csv. `--split validation`
 * never reads the test file: every 5th train sequence (the 5th, 10th, ...: 0-based 4, 9, ...; 45 of 229) becomes a
 * test learner, the other 184 are the train file. That is the split the knowledge model's drift and variance settings
 * were chosen on (it reproduces the plain-Elo 0.8070 quoted for it; residue 0 gives 0.8094).
 */
/** Learners, questions and skills of the split, printed with the figures so the protocol's counts can be checked. */
function staticsCounts(train: QuizAttempt[], test: QuizAttempt[]): string {
  const learners = (xs: QuizAttempt[]) => new Set(xs.map((a) => a.userId)).size;
  const questionsOfSkill = new Map<string, Set<string>>();
  const questions = new Set<string>();
  for (const a of [...train, ...test]) {
    questions.add(a.itemId);
    for (const sk of a.skills) {
      let q = questionsOfSkill.get(sk);
      if (!q) questionsOfSkill.set(sk, (q = new Set()));
      q.add(a.itemId);
    }
  }
  const largest = Math.max(0, ...[...questionsOfSkill.values()].map((q) => q.size));
  return `train ${learners(train)} learners, test ${learners(test)} learners; ${questions.size} questions answered, ${questionsOfSkill.size} skills, the largest skill covers ${largest} questions`;
}

export const evalStatics: EvalRunner = (args) => {
  const dir = args.path ?? DEFAULT_DATASET_DIRS.statics;
  const read = (split: 'train' | 'test'): QuizAttempt[] =>
    attemptsFromEvents(readStatics(dir, { splits: [split], limit: args.limit }).events);
  const split = args.split ?? 'test';
  if (split === 'test') {
    const [train, test] = [read('train'), read('test')];
    return run(args, `${dir} (${staticsCounts(train, test)})`, [{ title: 'statics2011-dkvmn', input: { train, test } }]);
  }
  if (split !== 'validation') throw new ValidationError(`--split must be test or validation, not ${split}`);
  const heldOut = (a: QuizAttempt): boolean => Number(/-(\d+)$/.exec(a.userId)?.[1]) % 5 === 4;
  const train = read('train');
  return run(args, `${dir} (train file only)`, [
    {
      title: 'statics2011-dkvmn validation (every 5th train sequence held out)',
      input: { train: train.filter((a) => !heldOut(a)), test: train.filter(heldOut) },
    },
  ]);
};

/**
 * OULAD computer-marked assessments as one stream in time order, twice: with the pass mark as the label (score >= 40,
 * 97.5 % positive) and with score/100 as a soft label, AUC at score >= 0.8 (64 % positive, close to the median).
 */
export const evalOulad: EvalRunner = (args) => {
  const dir = args.path ?? DEFAULT_DATASET_DIRS.oulad;
  const events = readDataset('oulad', dir, { limit: args.limit }).events;
  return run(args, dir, [
    { title: 'oulad CMA, label = pass (score >= 40)', input: attemptsFromEvents(events) },
    {
      title: 'oulad CMA, soft label score/100, AUC at score >= 0.8',
      input: attemptsFromEvents(events, { label: 'score' }),
      positiveAt: 0.8,
    },
  ]);
};

/** EdNet sample (KT4, KT1 for users without KT4): a 10-learner smoke test of a real mixed stream, not a benchmark. */
export const evalEdnet: EvalRunner = (args) => {
  const dir = args.path ?? DEFAULT_DATASET_DIRS.ednet;
  const events = readDataset('ednet' satisfies DatasetName, dir, { limit: args.limit }).events;
  return run(args, dir, [{ title: 'ednet sample', input: attemptsFromEvents(events) }]);
};

/** CLI names -> runner; spread into RUNNERS in ./runners.ts. */
export const KNOWLEDGE_RUNNERS: Record<string, EvalRunner> = {
  statics: evalStatics,
  'statics2011-dkvmn': evalStatics,
  oulad: evalOulad,
  ednet: evalEdnet,
};
