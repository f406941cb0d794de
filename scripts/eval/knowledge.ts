/**
 * Knowledge-tracing evaluations for the eval CLI: statics (DKVMN train/test split), oulad (computer-marked assessments)
 * and ednet (KT1/KT4 sample). Each predicts P(correct) before learning from every quiz attempt and reports AUC, RMSE
 * and log-loss for the per-item mean, plain Elo and the full knowledge model.
 */
import { join } from 'node:path';
import { readDataset, readStatics, DEFAULT_DATASET_DIRS, type DatasetName } from '../../lib/datasets';
import { ValidationError } from '../../lib/errors';
import {
  attemptsFromEvents,
  evaluateKnowledge,
  KNOWLEDGE_METHODS,
  type KnowledgeEvalResult,
  type KnowledgeMethod,
} from '../../models/eval/knowledge';
import { lineChartSvg } from '../../models/eval/plot';
import type { QuizAttempt } from '../../models/knowledge/types';
import type { EvalArgs, EvalReport, EvalRunner, EvalTable } from './types';

interface Variant {
  title: string;
  input: QuizAttempt[] | { train: QuizAttempt[]; test: QuizAttempt[] };
  positiveAt?: number;
}

function methodsOf(args: EvalArgs): KnowledgeMethod[] {
  const names = args.methods ?? [...KNOWLEDGE_METHODS];
  for (const m of names) {
    if (!(KNOWLEDGE_METHODS as readonly string[]).includes(m)) {
      throw new ValidationError(`unknown knowledge method ${m}; known: ${KNOWLEDGE_METHODS.join(', ')}`);
    }
  }
  return names as KnowledgeMethod[];
}

function table(title: string, r: KnowledgeEvalResult): EvalTable {
  return {
    title: `${title}: ${r.trainAttempts ? `learn ${r.trainAttempts} train attempts, then ` : ''}prequential on ${r.testAttempts} attempts by ${r.testLearners} learners`,
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

async function run(args: EvalArgs, source: string, variants: Variant[]): Promise<EvalReport> {
  const t0 = performance.now();
  const methods = methodsOf(args);
  const tables: EvalTable[] = [];
  const results: Record<string, unknown>[] = [];
  const figures: EvalReport['figures'] = [];
  for (const v of variants) {
    const r = evaluateKnowledge(v.input, { methods, positiveAt: v.positiveAt });
    await Promise.resolve();
    tables.push(table(v.title, r));
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

/** Statics2011 (DKVMN): learn on STATICS_train.csv, evaluate prequentially on STATICS_test.csv. */
export const evalStatics: EvalRunner = (args) => {
  const dir = args.path ?? DEFAULT_DATASET_DIRS.statics;
  const read = (split: 'train' | 'test'): QuizAttempt[] => attemptsFromEvents(readStatics(dir, { splits: [split], limit: args.limit }).events);
  return run(args, dir, [{ title: 'statics2011-dkvmn', input: { train: read('train'), test: read('test') } }]);
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
    { title: 'oulad CMA, soft label score/100, AUC at score >= 0.8', input: attemptsFromEvents(events, { label: 'score' }), positiveAt: 0.8 },
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
