/**
 * The knowledge model: online logistic regression over learner, item and skill terms plus PFA-style history features.
 *
 *   logit P(correct) = bias + itemEasiness[i] + mean_s skillEasiness[s]          (population, AdaGrad)
 *                    + (1 + discrimination[i]) · (ability[u] + mean_s skillAbility[u, s])
 *                                                     (learner: Bayesian mean + variance; item discrimination: AdaGrad)
 *                    + learnerFactors[u] · itemFactors[i] + memoryRead(u, i)
 *                    + (w + w[i]) · historyFeatures(u, i, s)                   (population weights, AdaGrad)
 *
 * Population parameters are shared by everyone and learned with per-coordinate AdaGrad steps, which shrink on their
 * own as an item or skill collects answers. Learner parameters are Gaussian beliefs updated by a Laplace (assumed
 * density) step: the step size is the current variance, so a new learner moves fast, a well-known one slowly, and a
 * small drift added per attempt keeps the belief open to learning. The variance is also the reported uncertainty.
 * Everything is deterministic (no random init), and the whole state serialises to JSON exactly.
 */
import { hash32 } from '../random/hash';
import { FEATURE_NAMES, LearnerHistory, type HistoryOptions } from './history';
import type { KnowledgePredictor, QuizAttempt, SkillMastery } from './types';

export interface KnowledgeModelOptions extends HistoryOptions {
  /** AdaGrad base rate for the shared feature weights and the bias. Default 0.05. */
  weightRate?: number;
  /** AdaGrad base rate for item and skill easiness (logits). Default 0.4. */
  itemRate?: number;
  /** L2 penalty on item and skill easiness, per update. Default 1e-4. */
  l2?: number;
  /** Prior variance (logits²) of a new learner's overall ability. Default 0.5. */
  abilityVariance?: number;
  /** Prior variance (logits²) of a learner's ability offset on one skill. Default 0.3. */
  skillVariance?: number;
  /**
   * Variance (logits²) added to a learner's overall / per-skill belief per attempt, so it keeps tracking learning.
   * Default 0.0002 / 0.0005: small, because the history features carry most of the learning (tuned on a train-only
   * validation split of Statics).
   */
  abilityDrift?: number;
  skillDrift?: number;
  /** Floor on learner-parameter variance, keeps steps from vanishing on very long sequences. Default 0.005. */
  minVariance?: number;
  /**
   * Latent dimensions of the learner × item interaction (0 = off). Each item gets a population vector, each learner a
   * Bayesian vector: knowledge that the named skills do not capture (a multidimensional ability). Default 8.
   */
  factors?: number;
  /** Prior variance of each learner factor (logits²). Default 0.1. */
  factorVariance?: number;
  /** Scale of the deterministic initial item factors. Default 0.1. */
  factorInit?: number;
  /** AdaGrad base rate for item factors. Default 0.05. */
  factorRate?: number;
  /** Seed of the item-factor initialisation (hashed with the item id, so order of arrival does not matter). Default 1. */
  seed?: number;
  /**
   * AdaGrad base rate of the per-item discrimination (0 = off: every item weighs the learner's ability by 1, Rasch /
   * 1PL). With it an item learns how strongly ability predicts it (the 2PL item slope of item response theory,
   * Birnbaum 1968): logit += (1 + discrimination) · (ability + skill ability). Default 0 (off): at 0.1 it adds
   * Statics test AUC 0.8413 -> 0.8420 (validation 0.8335 -> 0.8346) but the learner simulator's path gain after 50
   * steps falls on every seed (e.g. seed 23 0.7994 -> 0.7444): the mastery the paths read gets worse
   * (docs/evaluation.md; `--methods full-discrimination`).
   */
  discriminationRate?: number;
  /** AdaGrad base rate of the item-specific history weights (0 = shared weights only). Default 0.04. */
  itemWeightRate?: number;
  /**
   * Use the history features (PFA counts, previous outcomes, recent accuracy, item gap). false = all features are 0,
   * so neither the shared nor the item-specific history weights learn: the ablation "without history features". The
   * history is still recorded (attempt counts). Default true.
   */
  historyFeatures?: boolean;
  /**
   * Dimensions of the sequence memory (0 = off): every item has a key and two value vectors (what a right / a wrong
   * answer to it says), learned online; a learner's memory is the decayed sum of the values of their last
   * `memoryLength` answers, and the current item's key read against it adds to the logit. It learns which earlier
   * answers predict which later items (a soft, data-driven Q-matrix and the order within a problem), which the named
   * skills miss. Default 8 (docs/evaluation.md, `--methods full-no-memory` for the model without it: Statics
   * validation AUC 0.8305 without, 0.8335 with; OULAD and EdNet level within noise).
   */
  memory?: number;
  /** Decay per answer of the sequence memory (0..1). Default 0.8. */
  memoryDecay?: number;
  /** Answers a learner's memory keeps (bounds state and the update's cost). Default 16. */
  memoryLength?: number;
  /**
   * AdaGrad base rate for the memory keys and values. Default 0.03 (Statics validation split, 8 dimensions: 0.02 / 0.03
   * / 0.05 / 0.1 gave AUC 0.8332 / 0.8337 / 0.8324 / 0.8276).
   */
  memoryRate?: number;
  /** Scale of the deterministic initial keys and values. Default 0.1. */
  memoryInit?: number;
  /**
   * AdaGrad base rate of the per-item memory age weights (0 = off, the default). With it every item learns its own
   * weight for each position of the memory (the answer 1, 2, ... `memoryLength` steps back) instead of the shared
   * memoryDecay^age: a learned attention by position, so the first step of a new problem can look further back than a
   * later step of the same one. The weights start at memoryDecay^age (the shared memory read) and are item state.
   * At 0.01 Statics validation AUC 0.8335 -> 0.8346, test 0.8413 -> 0.8421 (0.8427 with the discrimination), at 18 %
   * fewer attempts per CPU-second (each read walks the remembered answers). Opt-in: with it the learner simulator's
   * path gain after 50 steps falls on 3 of 5 seeds (seed 21 0.7777 -> 0.7199; docs/evaluation.md, `--methods
   * full-memory-ages`).
   */
  memoryAgeRate?: number;
}

interface Population {
  /** Easiness (logits, + = easier), AdaGrad accumulator, exact attempt count, successes (soft). */
  b: number;
  g2: number;
  n: number;
  succ: number;
}
interface ItemState extends Population {
  /** Skills seen with the item (last attempt wins); lets difficulty(itemId) work without the catalogue. */
  skills: string[];
  /** Latent factors and their AdaGrad accumulators (length = options.factors). */
  v: number[];
  vg2: number[];
  /** Item-specific offsets on the shared history weights (how much this item depends on history), + accumulators. */
  w: number[];
  wg2: number[];
  /** Discrimination offset (logit weight of the learner's ability is 1 + a) and its AdaGrad accumulator; absent = 0. */
  a?: number;
  ag2?: number;
  /** Sequence memory: key, value of a right answer, value of a wrong one (each options.memory long), accumulators (3 × memory). */
  mk?: number[];
  m1?: number[];
  m0?: number[];
  mg2?: number[];
  /** Memory age weights (options.memoryLength long, weight of the answer j steps back) and accumulators; absent = decay^j. */
  ma?: number[];
  mag2?: number[];
}
interface SkillPopulation extends Population {
  /** Running mean easiness of the items answered under this skill: the "average item" for mastery(). */
  itemMean: number;
}
interface Belief {
  mean: number;
  variance: number;
}
interface Learner {
  ability: Belief;
  /** Latent factor beliefs: means and variances (diagonal). */
  factors: { mean: number[]; variance: number[] };
  skills: Map<string, Belief>;
  history: LearnerHistory;
  /** Sequence memory (options.memory long) and the answers it sums, newest first (item id, outcome). */
  mem: number[];
  recent: [string, number][];
}

/** Serialised form; version bumps when the layout changes. */
export interface KnowledgeModelState {
  /**
   * 2 adds the sequence memory (items' mk/m1/m0/mg2, learners' mem/recent), written only when options.memory > 0;
   * version 1 states load with the memory empty. 3 adds the item discrimination (items' a/ag2), the fast / slow
   * recent accuracy and the run of the history (tallies' fast/slow/streak) and four history features (the weight
   * arrays are 16 long); version 1 and 2 states load with discrimination 0, the new weights 0 and the new averages
   * starting from the old one. Items' ma/mag2 (memory age weights) are written only with options.memoryAgeRate > 0;
   * a version 3 state from before that option lacks it in its options and loads with it at its default, 0 (off).
   */
  version: 1 | 2 | 3;
  options: Required<KnowledgeModelOptions>;
  bias: number[];
  weights: number[];
  weightG2: number[];
  items: [string, ItemState][];
  skills: [string, SkillPopulation][];
  learners: [
    string,
    {
      ability: Belief;
      factors: { mean: number[]; variance: number[] };
      skills: [string, Belief][];
      history: ReturnType<LearnerHistory['toJSON']>;
      mem?: number[];
      recent?: [string, number][];
    },
  ][];
}

export const DEFAULT_KNOWLEDGE_OPTIONS: Required<KnowledgeModelOptions> = {
  weightRate: 0.05,
  itemRate: 0.4,
  l2: 1e-4,
  abilityVariance: 0.5,
  skillVariance: 0.3,
  abilityDrift: 0.0002,
  skillDrift: 0.0005,
  minVariance: 0.005,
  factors: 8,
  factorVariance: 0.1,
  factorInit: 0.1,
  factorRate: 0.05,
  seed: 1,
  discriminationRate: 0,
  itemWeightRate: 0.04,
  historyFeatures: true,
  itemHistoryCap: 256,
  recentRate: 0.1,
  fastRate: 0.4,
  slowRate: 0.02,
  memory: 8,
  memoryDecay: 0.8,
  memoryLength: 16,
  memoryRate: 0.03,
  memoryInit: 0.1,
  memoryAgeRate: 0,
};

const sigmoid = (z: number): number => 1 / (1 + Math.exp(-z));
/** Share of a skill's answers below which an answered item's own history is left out of the skill's mastery. */
export const MASTERY_MIN_SHARE = 0.02;
const ADAGRAD_EPS = 1e-8;

export class KnowledgeModel implements KnowledgePredictor {
  readonly name = 'knowledge model';
  readonly options: Required<KnowledgeModelOptions>;
  /** [value, AdaGrad accumulator] of the global intercept. */
  private bias = [0, 0];
  private readonly weights = new Float64Array(FEATURE_NAMES.length);
  private readonly weightG2 = new Float64Array(FEATURE_NAMES.length);
  private readonly items = new Map<string, ItemState>();
  private readonly skills = new Map<string, SkillPopulation>();
  private readonly learners = new Map<string, Learner>();
  /**
   * Each learner's row as the last serialize() built it (frozen), until update() changes that learner: a checkpoint
   * costs what changed, and a store may skip re-encoding a row it is handed again (consumers/state/checkpoint.ts).
   */
  private readonly rows = new WeakMap<Learner, KnowledgeModelState['learners'][number]>();
  /** Scratch feature vector; models are single-threaded so one buffer is enough. */
  private readonly x = new Float64Array(FEATURE_NAMES.length);

  constructor(opts: KnowledgeModelOptions = {}) {
    this.options = { ...DEFAULT_KNOWLEDGE_OPTIONS, ...opts };
  }

  predict(a: QuizAttempt): number {
    return sigmoid(this.logit(a, this.learners.get(a.userId)));
  }

  update(a: QuizAttempt): void {
    const o = this.options;
    const learner = this.learner(a.userId);
    this.rows.delete(learner);
    // Drift first: the belief the prediction used already includes the time since the last attempt.
    const z = this.logit(a, learner);
    const p = sigmoid(z);
    const residual = a.correct - p;
    const info = Math.max(p * (1 - p), 1e-4);

    // Population: AdaGrad on the log-loss gradient (-residual * x).
    this.bias[0] += this.adagrad(this.bias, 1, -residual, o.weightRate);
    for (let k = 0; k < this.x.length; k++) {
      if (this.x[k] === 0) continue;
      const g = -residual * this.x[k];
      this.weightG2[k] += g * g;
      this.weights[k] -= (o.weightRate * g) / Math.sqrt(this.weightG2[k] + ADAGRAD_EPS);
    }
    const item = this.item(a);
    if (o.itemWeightRate > 0) {
      for (let k = 0; k < this.x.length; k++) {
        if (this.x[k] === 0) continue;
        const g = -residual * this.x[k] + o.l2 * item.w[k];
        item.wg2[k] += g * g;
        item.w[k] -= (o.itemWeightRate * g) / Math.sqrt(item.wg2[k] + ADAGRAD_EPS);
      }
    }
    this.stepPopulation(item, residual, 1, o.itemRate);
    item.n++;
    item.succ += a.correct;
    const share = a.skills.length ? 1 / a.skills.length : 0;
    for (const s of a.skills) {
      const sp = this.skillPopulation(s);
      this.stepPopulation(sp, residual, share, o.itemRate);
      sp.n++;
      sp.succ += a.correct;
      sp.itemMean += (item.b - sp.itemMean) / Math.min(sp.n, 200);
    }

    // The ability's input is the item's slope (1 + discrimination) as the prediction used it; then the slope learns.
    const slope = 1 + (item.a ?? 0);
    if (o.discriminationRate > 0) {
      const g = -residual * this.learnerAbility(a, learner) + o.l2 * (item.a ?? 0);
      item.ag2 = (item.ag2 ?? 0) + g * g;
      item.a = (item.a ?? 0) - (o.discriminationRate * g) / Math.sqrt(item.ag2 + ADAGRAD_EPS);
    }

    // Learner: Laplace step, variance = step size; then widen by the drift for the next attempt.
    learnBelief(learner.ability, residual, slope, info, o.minVariance);
    learner.ability.variance += o.abilityDrift;
    for (const s of a.skills) {
      const b = learner.skills.get(s) ?? { mean: 0, variance: o.skillVariance };
      learner.skills.set(s, b);
      learnBelief(b, residual, share * slope, info, o.minVariance);
      b.variance += o.skillDrift;
    }
    const v = item.v;
    const f = learner.factors;
    for (let k = 0; k < v.length; k++) {
      const uk = f.mean[k];
      f.variance[k] = Math.max(o.minVariance, 1 / (1 / f.variance[k] + v[k] * v[k] * info));
      f.mean[k] += f.variance[k] * v[k] * residual;
      const g = -residual * uk + o.l2 * v[k];
      item.vg2[k] += g * g;
      v[k] -= (o.factorRate * g) / Math.sqrt(item.vg2[k] + ADAGRAD_EPS);
    }
    if (o.memory > 0) this.learnMemory(learner, a.itemId, item, a.correct, residual);
    learner.history.record(a);
  }

  /**
   * Per-skill mastery: P(correct) on an item drawn from the skill's items as often as the population answers them
   * (item attempts / skill attempts), with the standard deviation of the ability estimate (logits) as uncertainty.
   * Items the learner has answered count with their own history (what the learner showed on exactly that item); the
   * rest of the skill's weight goes to an average item of the skill with no history on it. A skill of one item (a
   * catalogue where every resource is its own skill) is then that item's P(success); on a skill of hundreds of items
   * the answered ones carry their small share. Items below MASTERY_MIN_SHARE of the skill are not evaluated (each
   * could move the figure by less than that share). Skills the learner never tried are omitted.
   */
  mastery(userId: string): SkillMastery[] {
    const learner = this.learners.get(userId);
    if (!learner) return [];
    const answered = new Map<string, { share: number; p: number }>();
    for (const itemId of learner.history.itemIds()) {
      const item = this.items.get(itemId);
      if (!item) continue;
      let p: number | undefined;
      for (const s of item.skills) {
        const sp = this.skills.get(s);
        const share = sp && sp.n > 0 ? item.n / sp.n : 0;
        if (share < MASTERY_MIN_SHARE || !learner.skills.has(s)) continue;
        p ??= sigmoid(this.logit({ userId, itemId, skills: item.skills, correct: 0 }, learner));
        const acc = answered.get(s) ?? { share: 0, p: 0 };
        answered.set(s, acc);
        acc.share += share;
        acc.p += share * p;
      }
    }
    const out: SkillMastery[] = [];
    for (const [skill, belief] of learner.skills) {
      // The empty item id is never answered, so logit() treats it as an average item of the skill.
      const average = sigmoid(this.logit({ userId, itemId: '', skills: [skill], correct: 0 }, learner));
      const a = answered.get(skill);
      // shares sum to at most 1 unless an item's skills changed; then the answered items are the whole skill
      const mastery = !a ? average : a.share >= 1 ? a.p / a.share : a.p + (1 - a.share) * average;
      out.push({
        skill,
        mastery,
        uncertainty: Math.sqrt(learner.ability.variance + belief.variance),
        attempts: learner.history.skillAttempts(skill),
      });
    }
    return out.sort((x, y) => (x.skill < y.skill ? -1 : x.skill > y.skill ? 1 : 0));
  }

  /**
   * Item difficulty in logits for an average learner with no history (higher = harder; 0 = 50 % success), or undefined
   * for an item never answered. For a specific learner use predict(): the ranker's difficulty fit wants P(correct).
   */
  difficulty(itemId: string): number | undefined {
    const it = this.items.get(itemId);
    if (!it) return undefined;
    let z = this.bias[0] + it.b;
    for (const s of it.skills) z += (this.skills.get(s)?.b ?? 0) / it.skills.length;
    return -z;
  }

  /**
   * P(correct) of this learner on an item or resource, for the ranker's difficulty fit: the item's own terms when it
   * has been answered before, else an average item of `skills` (default: the skills seen with the item). Undefined
   * when the model knows neither the item nor any of the skills.
   */
  expectedSuccess(userId: string, itemId: string, skills?: readonly string[]): number | undefined {
    const item = this.items.get(itemId);
    const sk = skills ?? item?.skills ?? [];
    if (!item && !sk.some((s) => this.skills.has(s))) return undefined;
    return this.predict({ userId, itemId, skills: sk, correct: 0 });
  }

  /** Exact number of attempts learned from, per learner / item / skill (0 when unknown). */
  learnerAttempts(userId: string): number {
    return this.learners.get(userId)?.history.attempts ?? 0;
  }
  itemAttempts(itemId: string): number {
    return this.items.get(itemId)?.n ?? 0;
  }
  skillAttempts(skill: string): number {
    return this.skills.get(skill)?.n ?? 0;
  }

  /** Drop everything about a learner (privacy erasure; also used to replay training data with fresh learners). */
  forgetLearner(userId: string): boolean {
    return this.learners.delete(userId);
  }

  /** Shared weights by feature name, for inspection and docs. */
  featureWeights(): Record<string, number> {
    const out: Record<string, number> = { bias: this.bias[0] };
    FEATURE_NAMES.forEach((name, k) => (out[name] = this.weights[k]));
    return out;
  }

  /**
   * The model's state, plain data. Learners' rows are frozen and, with `reuse` (default), the same objects as the
   * last call's for learners no update() changed since (deep copies of the learner, never changed afterwards).
   */
  serialize({ reuse = true }: { reuse?: boolean } = {}): KnowledgeModelState {
    const memory = this.options.memory > 0;
    return {
      version: 3,
      options: { ...this.options },
      bias: [...this.bias],
      weights: Array.from(this.weights),
      weightG2: Array.from(this.weightG2),
      items: [...this.items].map(([k, v]) => [k, copyItem(v)]),
      skills: [...this.skills].map(([k, v]) => [k, { ...v }]),
      learners: [...this.learners].map(([k, l]) => {
        let row = reuse ? this.rows.get(l) : undefined;
        if (row?.[0] !== k) {
          row = Object.freeze([
            k,
            {
              ability: { ...l.ability },
              factors: { mean: [...l.factors.mean], variance: [...l.factors.variance] },
              skills: [...l.skills].map(([s, b]) => [s, { ...b }]),
              history: l.history.toJSON(),
              ...(memory ? { mem: [...l.mem], recent: l.recent.map(([i, y]) => [i, y] as [string, number]) } : {}),
            },
          ]) as KnowledgeModelState['learners'][number];
          if (reuse) this.rows.set(l, row);
        }
        return row;
      }),
    };
  }

  static deserialize(state: KnowledgeModelState): KnowledgeModel {
    if (state.version !== 1 && state.version !== 2 && state.version !== 3) {
      throw new Error(`unsupported knowledge model state version ${String(state.version)}`);
    }
    // An older state is upgraded to today's model (one model in the eval and the pipeline): the settings it did not
    // have take today's defaults (discrimination, fast / slow rates; the memory when it was off, the old default).
    // Nothing learned is lost; discriminations start at 0 (the old model's slope 1), the new history weights at 0, the
    // fast / slow averages from the old one, the memory empty.
    const d = DEFAULT_KNOWLEDGE_OPTIONS;
    const options: KnowledgeModelOptions =
      state.version === 3
        ? state.options
        : {
            ...state.options,
            discriminationRate: d.discriminationRate,
            fastRate: d.fastRate,
            slowRate: d.slowRate,
            memory: state.options.memory || d.memory,
          };
    const m = new KnowledgeModel(options);
    m.bias = [...state.bias];
    m.weights.set(state.weights);
    m.weightG2.set(state.weightG2);
    for (const [k, v] of state.items) m.items.set(k, padWeights(copyItem(v)));
    for (const [k, v] of state.skills) m.skills.set(k, { ...v });
    for (const [k, l] of state.learners) {
      m.learners.set(k, {
        ability: { ...l.ability },
        factors: { mean: [...l.factors.mean], variance: [...l.factors.variance] },
        skills: new Map(l.skills.map(([s, b]) => [s, { ...b }])),
        history: LearnerHistory.fromJSON(l.history, m.options),
        // A version 1 state has no memory: it starts empty and fills with the learner's next answers.
        mem: l.mem ? [...l.mem] : new Array<number>(m.options.memory).fill(0),
        recent: (l.recent ?? []).map(([i, y]) => [i, y] as [string, number]),
      });
    }
    return m;
  }

  private logit(a: QuizAttempt, learner: Learner | undefined): number {
    const item = this.items.get(a.itemId);
    let z = this.bias[0] + (item?.b ?? 0);
    if (item && learner) for (let k = 0; k < item.v.length; k++) z += item.v[k] * learner.factors.mean[k];
    const share = a.skills.length ? 1 / a.skills.length : 0;
    for (const s of a.skills) {
      const sp = this.skills.get(s);
      // An item never answered is taken to be an average item of its skills.
      if (sp) z += share * (item ? sp.b : sp.b + sp.itemMean);
    }
    if (item?.mk && learner) z += this.memoryRead(item, learner);
    if (learner) z += (1 + (item?.a ?? 0)) * this.learnerAbility(a, learner);
    if (!this.options.historyFeatures) this.x.fill(0);
    else (learner?.history ?? LearnerHistory.empty(this.options)).features(a, this.x);
    if (item) for (let k = 0; k < this.x.length; k++) z += (this.weights[k] + item.w[k]) * this.x[k];
    else for (let k = 0; k < this.x.length; k++) z += this.weights[k] * this.x[k];
    return z;
  }

  /**
   * The memory's contribution to the logit: the item's key against the decayed sum of the remembered answers' values
   * (kept per learner), or, once the item has its own age weights, against the sum with those weights (walks the
   * remembered answers; `scratch`, when given, receives key · value of each of them).
   */
  private memoryRead(item: ItemState, learner: Learner, scratch?: number[][]): number {
    const key = item.mk!;
    const d = key.length;
    let z = 0;
    if (!item.ma) {
      for (let k = 0; k < d; k++) z += key[k] * learner.mem[k];
      return z;
    }
    let j = 0;
    for (const [id, yj] of learner.recent) {
      const it = this.items.get(id);
      if (it?.m1 && it.m0) {
        let dot = 0;
        const value = scratch ? (scratch[j] = new Array<number>(d)) : undefined;
        for (let k = 0; k < d; k++) {
          const v = yj * it.m1[k] + (1 - yj) * it.m0[k];
          if (value) value[k] = v;
          dot += key[k] * v;
        }
        z += (item.ma[j] ?? 0) * dot;
      }
      j++;
    }
    return z;
  }

  /** The learner's ability on this attempt: overall ability + mean ability on the attempt's skills (logits). */
  private learnerAbility(a: QuizAttempt, learner: Learner): number {
    let t = learner.ability.mean;
    const share = a.skills.length ? 1 / a.skills.length : 0;
    for (const s of a.skills) t += share * (learner.skills.get(s)?.mean ?? 0);
    return t;
  }

  private adagrad(param: number[], x: number, gradScale: number, rate: number): number {
    const g = gradScale * x;
    param[1] += g * g;
    return (-rate * g) / Math.sqrt(param[1] + ADAGRAD_EPS);
  }

  private stepPopulation(p: Population, residual: number, x: number, rate: number): void {
    const g = -residual * x + this.options.l2 * p.b;
    p.g2 += g * g;
    p.b -= (rate * g) / Math.sqrt(p.g2 + ADAGRAD_EPS);
  }

  private learner(userId: string): Learner {
    let l = this.learners.get(userId);
    if (!l) {
      l = {
        ability: { mean: 0, variance: this.options.abilityVariance },
        factors: {
          mean: new Array<number>(this.options.factors).fill(0),
          variance: new Array<number>(this.options.factors).fill(this.options.factorVariance),
        },
        skills: new Map(),
        history: LearnerHistory.empty(this.options),
        mem: new Array<number>(this.options.memory).fill(0),
        recent: [],
      };
      this.learners.set(userId, l);
    }
    return l;
  }

  private item(a: QuizAttempt): ItemState {
    let it = this.items.get(a.itemId);
    if (!it) {
      const d = this.options.factors;
      const v = new Array<number>(d);
      for (let k = 0; k < d; k++) v[k] = this.options.factorInit * hashUniform(`${this.options.seed}:${a.itemId}:${k}`);
      this.items.set(
        a.itemId,
        (it = {
          b: 0,
          g2: 0,
          n: 0,
          succ: 0,
          skills: [],
          v,
          vg2: new Array<number>(d).fill(0),
          w: new Array<number>(FEATURE_NAMES.length).fill(0),
          wg2: new Array<number>(FEATURE_NAMES.length).fill(0),
        }),
      );
    }
    if (a.skills.length) it.skills = [...a.skills];
    return it;
  }

  /**
   * Sequence memory step: AdaGrad on the current item's key (gradient: the memory it was read against) and on the
   * values of the remembered answers (gradient: the key, weighted by decay^age), then the answer joins the memory and
   * the memory is summed again from the remembered answers with the values as they now are.
   */
  private learnMemory(learner: Learner, itemId: string, item: ItemState, y: number, residual: number): void {
    const o = this.options;
    const d = o.memory;
    this.ensureMemory(item, itemId);
    const key = item.mk!;
    const keyBefore = key.slice();
    // What the key was read against: the shared decayed memory, or the sum with this item's age weights.
    let read = learner.mem;
    const ages = item.ma ? item.ma.slice() : undefined;
    if (item.ma && item.mag2) {
      const values: number[][] = [];
      this.memoryRead(item, learner, values);
      read = new Array<number>(d).fill(0);
      for (let j = 0; j < learner.recent.length && j < item.ma.length; j++) {
        const value = values[j];
        if (!value) continue;
        let dot = 0;
        for (let k = 0; k < d; k++) {
          read[k] += item.ma[j] * value[k];
          dot += keyBefore[k] * value[k];
        }
        const g = -residual * dot;
        item.mag2[j] += g * g;
        item.ma[j] -= (o.memoryAgeRate * g) / Math.sqrt(item.mag2[j] + ADAGRAD_EPS);
      }
    }
    for (let k = 0; k < d; k++) {
      const g = -residual * read[k] + o.l2 * key[k];
      item.mg2![k] += g * g;
      key[k] -= (o.memoryRate * g) / Math.sqrt(item.mg2![k] + ADAGRAD_EPS);
    }
    let c = 1;
    let j = 0;
    for (const [id, yj] of learner.recent) {
      const it = this.items.get(id);
      // the weight this answer had in the read: the item's own age weight, else decay^age
      const w = ages ? (ages[j] ?? 0) : c;
      if (it) {
        this.ensureMemory(it, id);
        for (let k = 0; k < d; k++) {
          const g1 = -residual * w * yj * keyBefore[k] + o.l2 * it.m1![k];
          const g0 = -residual * w * (1 - yj) * keyBefore[k] + o.l2 * it.m0![k];
          it.mg2![d + k] += g1 * g1;
          it.mg2![2 * d + k] += g0 * g0;
          it.m1![k] -= (o.memoryRate * g1) / Math.sqrt(it.mg2![d + k] + ADAGRAD_EPS);
          it.m0![k] -= (o.memoryRate * g0) / Math.sqrt(it.mg2![2 * d + k] + ADAGRAD_EPS);
        }
      }
      c *= o.memoryDecay;
      j++;
    }
    // An item's age weights start, at its first answer with the option on, as the shared decay (the read it had).
    if (o.memoryAgeRate > 0 && !item.ma) {
      item.ma = Array.from({ length: o.memoryLength }, (_, age) => o.memoryDecay ** age);
      item.mag2 = new Array<number>(o.memoryLength).fill(0);
    }
    learner.recent.unshift([itemId, y]);
    if (learner.recent.length > o.memoryLength) learner.recent.length = o.memoryLength;
    learner.mem.fill(0);
    c = 1;
    for (const [id, yj] of learner.recent) {
      const it = this.items.get(id);
      if (it?.m1 && it.m0) for (let k = 0; k < d; k++) learner.mem[k] += c * (yj * it.m1[k] + (1 - yj) * it.m0[k]);
      c *= o.memoryDecay;
    }
  }

  private ensureMemory(it: ItemState, id: string): void {
    if (it.mk) return;
    const d = this.options.memory;
    const init = (tag: string) =>
      Array.from({ length: d }, (_, k) => this.options.memoryInit * hashUniform(`${this.options.seed}:${tag}:${id}:${k}`));
    it.mk = init('mk');
    it.m1 = init('m1');
    it.m0 = init('m0');
    it.mg2 = new Array<number>(3 * d).fill(0);
  }

  private skillPopulation(skill: string): SkillPopulation {
    let s = this.skills.get(skill);
    if (!s) this.skills.set(skill, (s = { b: 0, g2: 0, n: 0, succ: 0, itemMean: 0 }));
    return s;
  }
}

/** A deep copy of an item's state (serialise / deserialise); the sequence memory only when the item has one. */
function copyItem(v: ItemState): ItemState {
  const out: ItemState = { ...v, skills: [...v.skills], v: [...v.v], vg2: [...v.vg2], w: [...v.w], wg2: [...v.wg2] };
  if (v.mk && v.m1 && v.m0 && v.mg2) Object.assign(out, { mk: [...v.mk], m1: [...v.m1], m0: [...v.m0], mg2: [...v.mg2] });
  if (v.ma && v.mag2) Object.assign(out, { ma: [...v.ma], mag2: [...v.mag2] });
  return out;
}

/** Item-specific history weights of an older state (fewer features) padded with zeros to today's feature count. */
function padWeights(it: ItemState): ItemState {
  while (it.w.length < FEATURE_NAMES.length) it.w.push(0);
  while (it.wg2.length < FEATURE_NAMES.length) it.wg2.push(0);
  return it;
}

/** Laplace update of a Gaussian belief on a logistic coefficient with input x: precision grows by x² p(1-p). */
function learnBelief(b: Belief, residual: number, x: number, info: number, minVariance: number): void {
  b.variance = Math.max(minVariance, 1 / (1 / b.variance + x * x * info));
  b.mean += b.variance * x * residual;
}

/** Deterministic value in [-1, 1) from a string (FNV-1a, then a murmur3 finaliser): order-independent initialisation. */
function hashUniform(key: string): number {
  return hash32(key) / 2 ** 31 - 1;
}
