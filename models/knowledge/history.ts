/**
 * A learner's answer history, condensed into the counts and recency signals the knowledge model's shared weights act
 * on: PFA-style success/failure counts per skill (Pavlik et al. 2009), the same counts overall and on the same item,
 * the outcome of the previous attempt, exponentially weighted recent accuracies at three rates (fast, default, slow)
 * and the current run of rights or wrongs. Memory per learner is bounded:
 * the per-item part keeps the `itemHistoryCap` most recently answered items.
 */
import type { QuizAttempt } from './types';

export interface HistoryOptions {
  /** Most recently answered items whose per-item history a learner keeps. Default 256. */
  itemHistoryCap?: number;
  /** Weight of the newest answer in the recent-accuracy averages (0..1). Default 0.1. */
  recentRate?: number;
  /**
   * Weights of the newest answer in the fast and the slow recent-accuracy averages (learner.fast / skill.fast,
   * learner.slow). Defaults 0.4 / 0.02: about the last 2-3 answers (the steps of the current problem) and the last ~50.
   */
  fastRate?: number;
  slowRate?: number;
}

/** Order of the feature vector; the model's shared weights are indexed the same way. */
export const FEATURE_NAMES = [
  'skill.successes',
  'skill.failures',
  'skill.recent',
  'skill.last',
  'item.successes',
  'item.failures',
  'item.last',
  'item.gap',
  'learner.successes',
  'learner.failures',
  'learner.recent',
  'learner.last',
  'learner.fast',
  'learner.slow',
  'learner.streak',
  'skill.fast',
] as const;

interface Tally {
  n: number;
  succ: number;
  fail: number;
  /** Recent accuracy (EMA), meaningful once n > 0. */
  recent: number;
  /** Previous outcome (0..1), meaningful once n > 0. */
  last: number;
  /**
   * Fast and slow recent accuracy (EMAs at fastRate / slowRate) and the current run: +k after k rights in a row, -k
   * after k wrongs. Absent in states written before they existed: then read as `recent` and 0.
   */
  fast?: number;
  slow?: number;
  streak?: number;
}
interface ItemTally extends Tally {
  /** Learner's attempt index at the last answer to this item. */
  at: number;
}

export interface LearnerHistoryJSON {
  all: Tally;
  skills: [string, Tally][];
  items: [string, ItemTally][];
}

const newTally = (): Tally => ({ n: 0, succ: 0, fail: 0, recent: 0, last: 0 });

export class LearnerHistory {
  private constructor(
    private readonly all: Tally,
    private readonly skills: Map<string, Tally>,
    /** Insertion order = recency (re-inserted on every answer), so the first key is the one to evict. */
    private readonly items: Map<string, ItemTally>,
    private readonly cap: number,
    private readonly rate: number,
    private readonly fastRate: number,
    private readonly slowRate: number,
  ) {}

  static empty(opts: Required<HistoryOptions>): LearnerHistory {
    return new LearnerHistory(newTally(), new Map(), new Map(), opts.itemHistoryCap, opts.recentRate, opts.fastRate, opts.slowRate);
  }

  static fromJSON(j: LearnerHistoryJSON, opts: Required<HistoryOptions>): LearnerHistory {
    return new LearnerHistory(
      { ...j.all },
      new Map(j.skills.map(([k, t]) => [k, { ...t }])),
      new Map(j.items.map(([k, t]) => [k, { ...t }])),
      opts.itemHistoryCap,
      opts.recentRate,
      opts.fastRate,
      opts.slowRate,
    );
  }

  toJSON(): LearnerHistoryJSON {
    return {
      all: { ...this.all },
      skills: [...this.skills].map(([k, t]) => [k, { ...t }]),
      items: [...this.items].map(([k, t]) => [k, { ...t }]),
    };
  }

  get attempts(): number {
    return this.all.n;
  }

  skillAttempts(skill: string): number {
    return this.skills.get(skill)?.n ?? 0;
  }

  /** Ids of the items whose per-item history is kept, oldest answer first. */
  itemIds(): IterableIterator<string> {
    return this.items.keys();
  }

  /** Writes the features for `a` (answer not yet known) into `x`, in FEATURE_NAMES order. */
  features(a: QuizAttempt, x: Float64Array): void {
    x.fill(0);
    const k = a.skills.length;
    for (const s of a.skills) {
      const t = this.skills.get(s);
      if (!t || t.n === 0) continue;
      x[0] += Math.log1p(t.succ) / k;
      x[1] += Math.log1p(t.fail) / k;
      x[2] += (t.recent - 0.5) / k;
      x[3] += (2 * t.last - 1) / k;
      x[15] += ((t.fast ?? t.recent) - 0.5) / k;
    }
    const it = this.items.get(a.itemId);
    if (it && it.n > 0) {
      x[4] = Math.log1p(it.succ);
      x[5] = Math.log1p(it.fail);
      x[6] = 2 * it.last - 1;
      x[7] = 1 / (1 + Math.log1p(this.all.n - it.at));
    }
    if (this.all.n > 0) {
      x[8] = Math.log1p(this.all.succ);
      x[9] = Math.log1p(this.all.fail);
      x[10] = this.all.recent - 0.5;
      x[11] = 2 * this.all.last - 1;
      x[12] = (this.all.fast ?? this.all.recent) - 0.5;
      x[13] = (this.all.slow ?? this.all.recent) - 0.5;
      const run = this.all.streak ?? 0;
      x[14] = Math.sign(run) * Math.log1p(Math.abs(run));
    }
  }

  record(a: QuizAttempt): void {
    const y = a.correct;
    this.tally(this.all, y);
    for (const s of a.skills) {
      let t = this.skills.get(s);
      if (!t) this.skills.set(s, (t = newTally()));
      this.tally(t, y);
    }
    const prev = this.items.get(a.itemId);
    const it: ItemTally = prev ?? { ...newTally(), at: 0 };
    this.items.delete(a.itemId);
    this.tally(it, y);
    it.at = this.all.n;
    this.items.set(a.itemId, it);
    if (this.items.size > this.cap) this.items.delete(this.items.keys().next().value as string);
  }

  private tally(t: Tally, y: number): void {
    const first = t.n === 0;
    const fast = t.fast ?? t.recent;
    const slow = t.slow ?? t.recent;
    t.fast = first ? y : fast + this.fastRate * (y - fast);
    t.slow = first ? y : slow + this.slowRate * (y - slow);
    const run = t.streak ?? 0;
    t.streak = y >= 0.5 ? (run > 0 ? run + 1 : 1) : run < 0 ? run - 1 : -1;
    t.recent = first ? y : t.recent + this.rate * (y - t.recent);
    t.n++;
    t.succ += y;
    t.fail += 1 - y;
    t.last = y;
  }
}
