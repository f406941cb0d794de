import { SlidingBinaryWindow } from '../../models/knowledge/metrics';
import type { Emitter } from '../../lib/metrics/instrumentation';
import type { ItemTable } from '../model/item-table';
import type { Learner } from './state';

export interface OnlineQualityOptions {
  emit: Emitter;
  /** Hits are counted in the top this many of a list (config pipeline.qualityHitK). */
  hitK: number;
  /** The gauges cover the most recent this many trials, a sliding window (config pipeline.qualityWindow). */
  window: number;
  /** ... and are emitted every this many trials (config pipeline.qualityEmitEvery). */
  emitEvery: number;
  /**
   * Prequential evaluation from state: every N-th positive interaction is ranked from the learner's current state and
   * scored (LearnerProcessorOptions.evaluateEvery). 0 = off.
   */
  evaluateEvery: number;
}

/**
 * Live quality, test then learn: each positive interaction is scored against the list the learner was being shown
 * (served hit rate) and against most-popular on the same trial (the baseline it is watched against); each quiz
 * attempt against the knowledge model's prediction before learning (AUC). Gauges are emitted every `emitEvery`.
 */
export class OnlineQuality {
  /** Prequential list quality: positive interactions, and how many hit the learner's cached top-K before learning. */
  readonly quality = { trials: 0, hits: 0 };
  /** Same, ranked from state at the event (evaluateEvery): independent of re-rank timing. */
  readonly evaluation = { trials: 0, hits: 0 };
  /** The last `window` list trials (label 1 = hit). */
  private readonly hitWindow: SlidingBinaryWindow;
  /** Most-popular's hits on the same trials. */
  readonly popularWindow: SlidingBinaryWindow;
  /** Quiz predictions (P(correct) before learning, label). */
  readonly quizWindow: SlidingBinaryWindow;
  private quizTrials = 0;
  private positives = 0;

  constructor(private readonly o: OnlineQualityOptions) {
    this.hitWindow = new SlidingBinaryWindow(o.window);
    this.popularWindow = new SlidingBinaryWindow(o.window);
    this.quizWindow = new SlidingBinaryWindow(o.window);
  }

  get hitK(): number {
    return this.o.hitK;
  }

  /** A positive interaction with `resourceId` while `shown` was the learner's list; `popular`: most-popular would have hit. */
  listTrial(shown: readonly string[], resourceId: string, popular: boolean): void {
    const hit = shown.slice(0, this.o.hitK).includes(resourceId) ? 1 : 0;
    this.quality.trials++;
    this.quality.hits += hit;
    this.hitWindow.add(hit, hit);
    const popHit = popular ? 1 : 0;
    this.popularWindow.add(popHit, popHit);
    if (this.quality.trials % this.o.emitEvery === 0) {
      this.o.emit.emit('quality.hitRate', { value: this.hitWindow.meanLabel(), k: this.o.hitK });
      this.o.emit.emit('quality.popularHitRate', { value: this.popularWindow.meanLabel(), k: this.o.hitK });
    }
  }

  /** Whether this positive interaction is an evaluation sample (every evaluateEvery-th; the learner has history). */
  sampleEvaluation(l: Learner): boolean {
    const every = this.o.evaluateEvery;
    return every > 0 && this.positives++ % every === 0 && l.interactions > 0;
  }

  /** The evaluation sample's outcome: `ranked` is the list ranked from state before learning. */
  evaluationTrial(ranked: readonly { resourceId: string }[], resourceId: string): void {
    this.evaluation.trials++;
    if (ranked.slice(0, this.o.hitK).some((i) => i.resourceId === resourceId)) this.evaluation.hits++;
  }

  /** A quiz attempt: `predicted` P(correct) from the state before it, `correct` its outcome (0..1). */
  quizTrial(predicted: number, correct: number): void {
    this.quizWindow.add(predicted, correct);
    if (++this.quizTrials % this.o.emitEvery === 0) {
      const value = this.quizWindow.auc();
      if (Number.isFinite(value)) this.o.emit.emit('quality.quizAuc', { value });
    }
  }

  /** Whether `resourceId` is in the recent most-popular top-K of the table, the learner's history and completed left out. */
  inPopular(table: ItemTable | undefined, l: Learner, resourceId: string): boolean {
    if (!table) return false;
    let n = 0;
    for (const i of table.signals.topPopular()) {
      if (table.active[i] !== 1) continue;
      const id = table.ids[i];
      if (l.history.includes(id) || l.completed.includes(id)) continue;
      if (id === resourceId) return true;
      if (++n >= this.o.hitK) return false;
    }
    return false;
  }
}
