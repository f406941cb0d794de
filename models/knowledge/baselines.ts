/**
 * The two baselines the knowledge model is judged against (issue 4). Both are deliberately plain: they exist to check
 * that the evaluation protocol is right (an independent implementation reports their AUC on statics2011) and to show
 * what the full model adds.
 */
import type { KnowledgePredictor, QuizAttempt } from './types';

const sigmoid = (z: number): number => 1 / (1 + Math.exp(-z));

export interface ItemMeanOptions {
  /** Pseudo-count of the prior (the running global mean) blended into each item's mean. Default 1. */
  smoothing?: number;
}

/** P(correct) = the item's smoothed success rate so far; learner-blind. */
export class ItemMeanModel implements KnowledgePredictor {
  readonly name = 'per-item mean';
  private readonly items = new Map<string, { n: number; sum: number }>();
  private n = 0;
  private sum = 0;
  private readonly smoothing: number;

  constructor(opts: ItemMeanOptions = {}) {
    this.smoothing = opts.smoothing ?? 1;
  }

  predict(a: QuizAttempt): number {
    const global = this.n ? this.sum / this.n : 0.5;
    const it = this.items.get(a.itemId);
    return it ? (it.sum + this.smoothing * global) / (it.n + this.smoothing) : global;
  }

  update(a: QuizAttempt): void {
    let it = this.items.get(a.itemId);
    if (!it) this.items.set(a.itemId, (it = { n: 0, sum: 0 }));
    it.n++;
    it.sum += a.correct;
    this.n++;
    this.sum += a.correct;
  }
}

export interface PlainEloOptions {
  /** Step at the first attempt of a learner or item, logits. Default 1.6. */
  step?: number;
  /** Step decay per prior attempt: step / (1 + decay * n). Default 0.05. */
  decay?: number;
}

/**
 * Plain Elo (Pelánek 2016): one ability per learner, one difficulty per item, p = sigmoid(ability - difficulty), both
 * moved by step / (1 + decay * n) times the residual, n = that learner's or item's attempts so far. Skills ignored.
 */
export class PlainEloModel implements KnowledgePredictor {
  readonly name = 'plain Elo';
  private readonly learners = new Map<string, { theta: number; n: number }>();
  private readonly items = new Map<string, { b: number; n: number }>();
  private readonly step: number;
  private readonly decay: number;

  constructor(opts: PlainEloOptions = {}) {
    this.step = opts.step ?? 1.6;
    this.decay = opts.decay ?? 0.05;
  }

  predict(a: QuizAttempt): number {
    return sigmoid((this.learners.get(a.userId)?.theta ?? 0) - (this.items.get(a.itemId)?.b ?? 0));
  }

  update(a: QuizAttempt): void {
    let u = this.learners.get(a.userId);
    if (!u) this.learners.set(a.userId, (u = { theta: 0, n: 0 }));
    let it = this.items.get(a.itemId);
    if (!it) this.items.set(a.itemId, (it = { b: 0, n: 0 }));
    const residual = a.correct - sigmoid(u.theta - it.b);
    u.theta += (this.step / (1 + this.decay * u.n)) * residual;
    it.b -= (this.step / (1 + this.decay * it.n)) * residual;
    u.n++;
    it.n++;
  }
}
