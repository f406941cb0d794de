/**
 * Prequential evaluation of knowledge tracing (issue 4): for every quiz attempt in order, predict P(correct) first,
 * then learn from the answer. With a train/test split (the DKVMN Statics2011 layout) every model first learns from the
 * train attempts, then is scored prequentially on the test attempts (test learners are new, items are known).
 * Pure: data comes in as arrays; the caller reads files and prints.
 */
import { ItemMeanModel, PlainEloModel } from '../knowledge/baselines';
import { BinaryMetrics, type BinaryScores } from '../knowledge/metrics';
import { KnowledgeModel, type KnowledgeModelOptions } from '../knowledge/model';
import type { KnowledgePredictor, QuizAttempt } from '../knowledge/types';
import type { KindedEvent } from '../../schemas';

export type KnowledgeMethod = 'item-mean' | 'elo' | 'full';
export const KNOWLEDGE_METHODS: readonly KnowledgeMethod[] = ['item-mean', 'elo', 'full'];

export interface KnowledgeEvalOptions {
  /** Methods to run, in table order. Default all three. */
  methods?: readonly KnowledgeMethod[];
  /** Passes of the full model over the train attempts, with the train learners forgotten between passes. Default 8. */
  trainEpochs?: number;
  /** Options of the full model; defaults are the tuned ones (docs/evaluation.md). */
  model?: KnowledgeModelOptions;
  /** Soft labels >= this count as correct for AUC. Default 0.5. */
  positiveAt?: number;
  /** Windows along the test stream for the metric curve (plots). Default 20. */
  curveWindows?: number;
  /** Monotonic clock in ms for the throughput figure; default performance.now. */
  now?: () => number;
}

export interface KnowledgeCurvePoint {
  /** Attempts scored up to the end of this window. */
  attempts: number;
  auc: number;
  rmse: number;
  logLoss: number;
}

export interface KnowledgeMethodResult extends BinaryScores {
  method: KnowledgeMethod;
  name: string;
  /** Test attempts predicted and learned per second (train pass excluded). */
  attemptsPerSecond: number;
  /** Metrics per window of the test stream, for "quality along the stream" plots. */
  curve: KnowledgeCurvePoint[];
}

export interface KnowledgeEvalResult {
  trainAttempts: number;
  testAttempts: number;
  testLearners: number;
  methods: KnowledgeMethodResult[];
  /** The trained full model (when run), e.g. to print its feature weights or save its state. */
  fullModel?: KnowledgeModel;
}

/**
 * Runs the prequential knowledge evaluation. `input` is either one stream in time order (every attempt is scored,
 * then learned) or `{ train, test }` (train is learned without scoring, then test is scored prequentially).
 */
export function evaluateKnowledge(
  input: readonly QuizAttempt[] | { train?: readonly QuizAttempt[]; test: readonly QuizAttempt[] },
  opts: KnowledgeEvalOptions = {},
): KnowledgeEvalResult {
  const { train, test } = isSplit(input) ? { train: input.train ?? [], test: input.test } : { train: [], test: input };
  const now = opts.now ?? (() => performance.now());
  const windows = Math.max(1, opts.curveWindows ?? 20);
  const result: KnowledgeEvalResult = {
    trainAttempts: train.length,
    testAttempts: test.length,
    testLearners: new Set(test.map((a) => a.userId)).size,
    methods: [],
  };
  for (const method of opts.methods ?? KNOWLEDGE_METHODS) {
    const model = createPredictor(method, opts.model);
    const epochs = method === 'full' ? Math.max(1, opts.trainEpochs ?? 8) : 1;
    for (let e = 0; e < epochs; e++) {
      if (e > 0 && model instanceof KnowledgeModel) for (const u of new Set(train.map((a) => a.userId))) model.forgetLearner(u);
      for (const a of train) model.update(a);
    }
    const metrics = new BinaryMetrics(opts.positiveAt ?? 0.5);
    const t0 = now();
    for (const a of test) {
      metrics.add(model.predict(a), a.correct);
      model.update(a);
    }
    const elapsed = now() - t0;
    const curve: KnowledgeCurvePoint[] = [];
    for (let w = 1; w <= windows; w++) {
      const from = Math.floor(((w - 1) * test.length) / windows);
      const to = Math.floor((w * test.length) / windows);
      if (to <= from) continue;
      const s = metrics.scores(from, to);
      curve.push({ attempts: to, auc: s.auc, rmse: s.rmse, logLoss: s.logLoss });
    }
    result.methods.push({
      method,
      name: model.name,
      ...metrics.scores(),
      attemptsPerSecond: elapsed > 0 ? (test.length * 1000) / elapsed : Infinity,
      curve,
    });
    if (model instanceof KnowledgeModel) result.fullModel = model;
  }
  return result;
}

export function createPredictor(method: KnowledgeMethod, model?: KnowledgeModelOptions): KnowledgePredictor {
  switch (method) {
    case 'item-mean':
      return new ItemMeanModel();
    case 'elo':
      return new PlainEloModel();
    case 'full':
      return new KnowledgeModel(model);
  }
}

/** Terminal table: one row per method. */
export function formatKnowledgeTable(result: KnowledgeEvalResult, title = 'knowledge tracing'): string {
  const head = ['method', 'AUC', 'RMSE', 'log-loss', 'mean p', 'mean y', 'attempts/s'];
  const rows = result.methods.map((m) => [
    m.name,
    m.auc.toFixed(4),
    m.rmse.toFixed(4),
    m.logLoss.toFixed(4),
    m.meanPrediction.toFixed(3),
    m.meanLabel.toFixed(3),
    Number.isFinite(m.attemptsPerSecond) ? Math.round(m.attemptsPerSecond).toString() : '-',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  const split = result.trainAttempts ? `train ${result.trainAttempts} attempts, then ` : '';
  return [
    `${title}: ${split}prequential on ${result.testAttempts} attempts by ${result.testLearners} learners`,
    line(head),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
  ].join('\n');
}

export interface AttemptMappingOptions {
  /**
   * Which field becomes the label: 'correct' (0/1, the default) or 'score' (0..1 soft label, falling back to correct
   * when an event has no score). AUC always thresholds at `positiveAt`.
   */
  label?: 'correct' | 'score';
}

/** The quiz attempts of a (time-ordered) event stream, as the knowledge models' input. Interactions are ignored. */
export function attemptsFromEvents(events: readonly KindedEvent[], opts: AttemptMappingOptions = {}): QuizAttempt[] {
  const out: QuizAttempt[] = [];
  for (const e of events) {
    if (e.kind !== 'quizAttempt') continue;
    const q = e.event;
    const binary = q.correct ? 1 : 0;
    out.push({
      userId: q.userId,
      itemId: q.itemId,
      skills: q.skills,
      correct: opts.label === 'score' ? (q.score ?? binary) : binary,
      timestamp: q.occurredAt,
    });
  }
  return out;
}

function isSplit(input: unknown): input is { train?: readonly QuizAttempt[]; test: readonly QuizAttempt[] } {
  return !Array.isArray(input);
}
