/**
 * `npm run eval -- --dataset review-statics | review-oulad | review-ednet | review`: FSRS retrievability against the
 * knowledge model's P(success) on re-attempts (models/eval/review.ts), per dataset. Statics: the knowledge model
 * learns the train file, both are scored on the test file's re-attempts; OULAD and EdNet: one stream.
 */
import { readDataset, readStatics, DEFAULT_DATASET_DIRS } from '../../producers/datasets';
import type { KindedEvent } from '../../schemas';
import { evaluateReviews, type ReviewAttempt, type ReviewEvalResult } from '../../models/eval/review';
import type { EvalArgs, EvalReport, EvalRunner, EvalTable } from './types';

function attempts(events: readonly KindedEvent[]): ReviewAttempt[] {
  const out: ReviewAttempt[] = [];
  for (const e of events) {
    if (e.kind !== 'quizAttempt') continue;
    const q = e.event;
    out.push({
      userId: q.userId,
      itemId: q.itemId,
      skills: q.skills,
      correct: q.correct,
      score: q.score,
      timestamp: q.occurredAt,
      responseTimeMs: q.responseTimeMs,
    });
  }
  return out;
}

function table(title: string, r: ReviewEvalResult): EvalTable {
  const gap = Number.isFinite(r.medianGapMs) ? `${(r.medianGapMs / 60_000).toFixed(1)} min` : '-';
  return {
    title:
      `${title}: ${r.reattempts} re-attempts scored of ${r.testAttempts} attempts by ${r.learners} learners` +
      `${r.trainAttempts ? ` (knowledge model learned ${r.trainAttempts} train attempts first)` : ''}; median gap ${gap}, ${(100 * (r.dayOrMoreShare || 0)).toFixed(1)}% a day or more apart`,
    columns: ['predictor', 'AUC', 'log-loss', 'RMSE', 'mean p', 'mean y'],
    rows: r.methods.map((m) => [
      m.name,
      m.auc.toFixed(4),
      m.logLoss.toFixed(4),
      m.rmse.toFixed(4),
      m.meanPrediction.toFixed(3),
      m.meanLabel.toFixed(3),
    ]),
  };
}

type Source = { title: string; run: (args: EvalArgs) => ReviewEvalResult; dir: string };

const SOURCES: Record<'statics' | 'oulad' | 'ednet', Source> = {
  statics: {
    title: 'statics2011-dkvmn',
    dir: DEFAULT_DATASET_DIRS.statics,
    run: (args) => {
      const dir = args.path ?? DEFAULT_DATASET_DIRS.statics;
      const read = (split: 'train' | 'test') => attempts(readStatics(dir, { splits: [split], limit: args.limit }).events);
      return evaluateReviews({ train: read('train'), test: read('test') });
    },
  },
  oulad: {
    title: 'oulad CMA',
    dir: DEFAULT_DATASET_DIRS.oulad,
    run: (args) =>
      evaluateReviews({ test: attempts(readDataset('oulad', args.path ?? DEFAULT_DATASET_DIRS.oulad, { limit: args.limit }).events) }),
  },
  ednet: {
    title: 'ednet sample',
    dir: DEFAULT_DATASET_DIRS.ednet,
    run: (args) =>
      evaluateReviews({ test: attempts(readDataset('ednet', args.path ?? DEFAULT_DATASET_DIRS.ednet, { limit: args.limit }).events) }),
  },
};

function runner(names: (keyof typeof SOURCES)[]): EvalRunner {
  return (args) => {
    const t0 = performance.now();
    const tables: EvalTable[] = [];
    const results: Record<string, unknown>[] = [];
    for (const n of names) {
      const s = SOURCES[n];
      const r = s.run(names.length > 1 ? { ...args, path: undefined } : args);
      tables.push(table(s.title, r));
      results.push({ dataset: n, ...r });
    }
    const report: EvalReport = {
      dataset: args.dataset,
      source: names.map((n) => SOURCES[n].dir).join(', '),
      tables,
      results,
      figures: [],
      totalSeconds: (performance.now() - t0) / 1000,
    };
    return Promise.resolve(report);
  };
}

export const REVIEW_RUNNERS: Record<string, EvalRunner> = {
  review: runner(['statics', 'oulad', 'ednet']),
  'review-statics': runner(['statics']),
  'review-oulad': runner(['oulad']),
  'review-ednet': runner(['ednet']),
};
