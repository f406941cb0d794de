import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readStatics } from '../../../../producers/datasets/statics';
import { mulberry32 as rng } from '../../../../models/random/prng';
import { attemptsFromEvents, evaluateKnowledge } from '../../../../models/eval/knowledge';
import { ItemMeanModel, PlainEloModel } from '../../../../models/knowledge/baselines';
import { auc, BinaryMetrics } from '../../../../models/knowledge/metrics';
import { FEATURE_NAMES, LearnerHistory } from '../../../../models/knowledge/history';
import { KnowledgeModel, type KnowledgeModelState } from '../../../../models/knowledge/model';
import type { QuizAttempt } from '../../../../models/knowledge/types';

const STATICS_DIR = join(__dirname, '..', '..', '..', '..', '..', 'shared', 'datasets', 'statics2011-dkvmn');
const haveStatics = existsSync(join(STATICS_DIR, 'STATICS_train.csv'));
if (!haveStatics) console.warn(`knowledge tests on real data SKIPPED: ${STATICS_DIR} not found`);

/** Rasch-model learners: known ability per learner (+ a per-skill offset), known difficulty per item. */
function synthetic(seed: number, learners = 150, items = 60, perLearner = 80) {
  const r = rng(seed);
  const normal = (): number => Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());
  const difficulty = Array.from({ length: items }, () => normal());
  const skillOf = (i: number): string => `s${i % 4}`;
  const attempts: QuizAttempt[] = [];
  const ability: number[] = [];
  for (let u = 0; u < learners; u++) {
    const theta = normal();
    ability.push(theta);
    for (let k = 0; k < perLearner; k++) {
      const i = Math.floor(r() * items);
      const p = 1 / (1 + Math.exp(-(theta - difficulty[i])));
      attempts.push({ userId: `u${u}`, itemId: `i${i}`, skills: [skillOf(i)], correct: r() < p ? 1 : 0 });
    }
  }
  return { attempts, difficulty, ability };
}

function pearson(a: number[], b: number[]): number {
  const n = a.length;
  const ma = a.reduce((s, x) => s + x, 0) / n;
  const mb = b.reduce((s, x) => s + x, 0) / n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) ** 2;
    sbb += (b[i] - mb) ** 2;
  }
  return sab / Math.sqrt(saa * sbb);
}

describe('binary metrics', () => {
  it('computes AUC with ties as half credit', () => {
    expect(auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])).toBeCloseTo(0.75, 10);
    expect(auc([0.5, 0.5, 0.5], [0, 1, 1])).toBeCloseTo(0.5, 10);
    expect(auc([0.9, 0.1], [1, 0])).toBe(1);
    expect(auc([0.2, 0.3], [1, 1])).toBeNaN();
  });

  it('computes RMSE and log-loss over a window', () => {
    const m = new BinaryMetrics();
    for (let i = 0; i < 3000; i++) m.add(0.8, i % 5 === 0 ? 0 : 1); // grows past the initial buffer
    const s = m.scores();
    expect(s.n).toBe(3000);
    expect(s.rmse).toBeCloseTo(Math.sqrt(0.8 * 0.04 + 0.2 * 0.64), 10);
    expect(s.logLoss).toBeCloseTo(-(0.8 * Math.log(0.8) + 0.2 * Math.log(0.2)), 10);
    expect(m.scores(0, 5).meanLabel).toBeCloseTo(0.8, 10);
  });
});

describe('knowledge model on synthetic Rasch learners (seed 7)', () => {
  const { attempts, difficulty } = synthetic(7);

  it('recovers the true item difficulties', () => {
    const m = new KnowledgeModel();
    for (let pass = 0; pass < 3; pass++) {
      for (let u = 0; u < 150; u++) m.forgetLearner(`u${u}`); // replay with fresh learners, as the eval's train passes do
      for (const a of attempts) m.update(a);
    }
    const est = difficulty.map((_, i) => m.difficulty(`i${i}`) ?? NaN);
    expect(pearson(est, difficulty)).toBeGreaterThan(0.9);
    expect(m.difficulty('never-seen')).toBeUndefined();
  });

  it('keeps exact attempt counts and reports mastery with shrinking uncertainty', () => {
    const m = new KnowledgeModel();
    const u0 = attempts.filter((a) => a.userId === 'u0');
    m.update(u0[0]);
    const early = m.mastery('u0').find((s) => s.skill === u0[0].skills[0])!;
    for (const a of attempts) m.update(a);
    expect(m.learnerAttempts('u0')).toBe(u0.length + 1);
    const once = (pred: (a: QuizAttempt) => boolean): number => attempts.filter(pred).length + (pred(u0[0]) ? 1 : 0);
    expect(m.itemAttempts('i3')).toBe(once((a) => a.itemId === 'i3'));
    expect(m.skillAttempts('s1')).toBe(once((a) => a.skills[0] === 's1'));
    const skills = m.mastery('u0');
    expect(skills.map((s) => s.skill)).toEqual([...new Set(u0.map((a) => a.skills[0]))].sort());
    for (const s of skills) {
      expect(s.mastery).toBeGreaterThan(0);
      expect(s.mastery).toBeLessThan(1);
      expect(s.attempts).toBe(u0.filter((a) => a.skills[0] === s.skill).length + (s.skill === u0[0].skills[0] ? 1 : 0));
    }
    const late = skills.find((s) => s.skill === early.skill)!;
    expect(late.uncertainty).toBeLessThan(early.uncertainty);
    expect(m.mastery('nobody')).toEqual([]);
  });

  it('gives stronger learners higher mastery', () => {
    const { attempts: att, ability } = synthetic(11, 200, 40, 120);
    const m = new KnowledgeModel();
    for (const a of att) m.update(a);
    const meanMastery = ability.map((_, u) => {
      const s = m.mastery(`u${u}`);
      return s.reduce((acc, x) => acc + x.mastery, 0) / s.length;
    });
    expect(pearson(meanMastery, ability)).toBeGreaterThan(0.8);
  });

  it('gives the ranker an expected success for known items and for new items of known skills', () => {
    const m = new KnowledgeModel();
    for (const a of attempts) m.update(a);
    const known = attempts[0];
    expect(m.expectedSuccess('u1', known.itemId)).toBe(m.predict({ ...known, userId: 'u1' }));
    const fresh = m.expectedSuccess('u1', 'new-resource', ['s2']);
    expect(fresh).toBeGreaterThan(0);
    expect(fresh).toBeLessThan(1);
    // A strong learner expects more success on the same new resource than a weak one.
    const byMastery = [...Array(150).keys()].map((u) => `u${u}`).sort((x, y) => m.mastery(x)[0].mastery - m.mastery(y)[0].mastery);
    expect(m.expectedSuccess(byMastery[149], 'new-resource', ['s2'])!).toBeGreaterThan(
      m.expectedSuccess(byMastery[0], 'new-resource', ['s2'])!,
    );
    expect(m.expectedSuccess('u1', 'new-resource', ['unknown-skill'])).toBeUndefined();
    expect(m.expectedSuccess('u1', 'new-resource')).toBeUndefined();
  });

  it("mastery of a one-item skill is that item's P(success) with the learner's history on it; a skill of many items mostly the average item", () => {
    const m = new KnowledgeModel();
    // 40 learners answer every one-item skill once and a 60-item skill's items once each; learner r1 answers x0 right twice
    for (let u = 0; u < 40; u++) {
      for (let i = 0; i < 5; i++) m.update({ userId: `w${u}`, itemId: `x${i}`, skills: [`one-${i}`], correct: (u + i) % 3 === 0 ? 0 : 1 });
      for (let i = 0; i < 60; i++) m.update({ userId: `w${u}`, itemId: `b${i}`, skills: ['big'], correct: (u + i) % 4 === 0 ? 0 : 1 });
    }
    const before = m.mastery('r1');
    m.update({ userId: 'r1', itemId: 'x0', skills: ['one-0'], correct: 1 });
    m.update({ userId: 'r1', itemId: 'x0', skills: ['one-0'], correct: 1 });
    m.update({ userId: 'r1', itemId: 'b0', skills: ['big'], correct: 1 });
    const one = m.mastery('r1').find((s) => s.skill === 'one-0')!;
    expect(before).toEqual([]);
    expect(one.mastery).toBeCloseTo(m.expectedSuccess('r1', 'x0')!, 12);
    expect(one.attempts).toBe(2);
    // b0 holds 1/60 of the big skill's answers (< MASTERY_MIN_SHARE): the average item of the skill alone
    const big = m.mastery('r1').find((s) => s.skill === 'big')!;
    expect(big.mastery).toBeCloseTo(m.expectedSuccess('r1', 'unseen-item', ['big'])!, 12);
  });

  it('sequence memory (default, 8 dimensions): learns, survives save -> load exactly in the version 3 layout', () => {
    const m = new KnowledgeModel({ memory: 4 });
    for (const a of attempts.slice(0, 6000)) m.update(a);
    const state = m.serialize();
    expect(state.version).toBe(3);
    expect(new KnowledgeModel().options.memory).toBe(8);
    expect(state.items.some(([, it]) => (it.mk?.length ?? 0) === 4)).toBe(true);
    const restored = KnowledgeModel.deserialize(JSON.parse(JSON.stringify(state)) as KnowledgeModelState);
    for (const a of attempts.slice(6000, 7000)) {
      expect(restored.predict(a)).toBe(m.predict(a));
      m.update(a);
      restored.update(a);
    }
    expect(JSON.stringify(restored.serialize())).toBe(JSON.stringify(m.serialize()));
    // memory off: no memory fields are written
    const plain = new KnowledgeModel({ memory: 0 });
    for (const a of attempts.slice(0, 2000)) plain.update(a);
    expect(JSON.stringify(plain.serialize())).not.toMatch(/"(mem|mk|m1|m0|mg2)":/);
  });

  it("loads a version 1 state (12 history weights, no discrimination, no memory) and upgrades it to today's model", () => {
    const old = new KnowledgeModel({ memory: 0, discriminationRate: 0 });
    for (const a of attempts.slice(0, 2000)) old.update(a);
    // strip everything version 3 added, as a checkpoint written by the previous code looks
    const s = JSON.parse(JSON.stringify(old.serialize())) as KnowledgeModelState & { options: Record<string, unknown> };
    s.version = 1;
    for (const k of ['discriminationRate', 'fastRate', 'slowRate', 'memory', 'memoryDecay', 'memoryLength', 'memoryRate', 'memoryInit']) {
      delete s.options[k];
    }
    s.weights = s.weights.slice(0, 12);
    s.weightG2 = s.weightG2.slice(0, 12);
    for (const [, it] of s.items) {
      it.w = it.w.slice(0, 12);
      it.wg2 = it.wg2.slice(0, 12);
      delete it.a;
      delete it.ag2;
    }
    const strip = (t: { fast?: number; slow?: number; streak?: number }) => {
      delete t.fast;
      delete t.slow;
      delete t.streak;
    };
    for (const [, l] of s.learners) {
      strip(l.history.all);
      for (const [, t] of l.history.skills) strip(t);
      for (const [, t] of l.history.items) strip(t);
    }
    const up = KnowledgeModel.deserialize(s);
    expect(up.options.discriminationRate).toBe(0);
    expect(up.options.memory).toBe(8);
    for (const a of attempts.slice(2000, 3000)) {
      const p = up.predict(a);
      expect(p).toBeGreaterThan(0);
      expect(p).toBeLessThan(1);
      up.update(a);
    }
    const again = up.serialize();
    expect(again.version).toBe(3);
    expect(again.weights).toHaveLength(16);
    expect(again.items.every(([, it]) => it.w.length === 16 && Number.isFinite(it.a ?? 0))).toBe(true);
  });

  it('history: fast / slow recent accuracy and the current run, by hand', () => {
    const h = LearnerHistory.empty({ itemHistoryCap: 256, recentRate: 0.1, fastRate: 0.4, slowRate: 0.02 });
    for (const y of [1, 1, 0]) h.record({ userId: 'u', itemId: `q${y}`, skills: ['s'], correct: y });
    const x = new Float64Array(FEATURE_NAMES.length);
    h.features({ userId: 'u', itemId: 'new', skills: ['s'], correct: 0 }, x);
    const at = (name: (typeof FEATURE_NAMES)[number]) => x[FEATURE_NAMES.indexOf(name)];
    expect(at('learner.fast')).toBeCloseTo(0.6 - 0.5, 12); // 1, 1, then 1 + 0.4 (0 - 1)
    expect(at('learner.slow')).toBeCloseTo(0.98 - 0.5, 12); // 1, 1, then 1 + 0.02 (0 - 1)
    expect(at('learner.streak')).toBeCloseTo(-Math.log(2), 12); // one wrong after two rights: run -1
    expect(at('skill.fast')).toBeCloseTo(0.1, 12);
    for (const y of [0, 0]) h.record({ userId: 'u', itemId: 'q', skills: ['s'], correct: y });
    h.features({ userId: 'u', itemId: 'new', skills: ['s'], correct: 0 }, x);
    expect(at('learner.streak')).toBeCloseTo(-Math.log(4), 12); // three wrongs in a row
  });

  it('item discrimination (opt-in): items whose outcome depends more on ability learn a larger slope (2PL learners)', () => {
    const r = rng(11);
    const normal = (): number => Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());
    const slope = (i: number): number => (i % 2 === 0 ? 2 : 0.4);
    const m = new KnowledgeModel({ historyFeatures: false, factors: 0, memory: 0, discriminationRate: 0.1 });
    for (let u = 0; u < 300; u++) {
      const theta = normal();
      for (let k = 0; k < 40; k++) {
        const i = Math.floor(r() * 20);
        const p = 1 / (1 + Math.exp(-slope(i) * theta));
        m.update({ userId: `u${u}`, itemId: `i${i}`, skills: [], correct: r() < p ? 1 : 0 });
      }
    }
    const a = new Map(m.serialize().items.map(([id, it]) => [id, it.a ?? 0]));
    const mean = (odd: number) => [...a].filter(([id]) => Number(id.slice(1)) % 2 === odd).reduce((s, [, v]) => s + v, 0) / 10;
    expect(mean(0)).toBeGreaterThan(mean(1) + 0.5);
    const off = new KnowledgeModel(); // off by default
    for (const x of attempts.slice(0, 500)) off.update(x);
    expect(off.serialize().items.every(([, it]) => (it.a ?? 0) === 0)).toBe(true);
  });

  it('memory age weights (opt-in): items learn which earlier answer matters, survive save -> load exactly', () => {
    // the outcome repeats the answer three steps back (90 %): the weight at age 2 (0 = the previous answer) must win
    const r = rng(13);
    const stream: QuizAttempt[] = [];
    for (let u = 0; u < 150; u++) {
      const ys: number[] = [];
      for (let k = 0; k < 40; k++) {
        const y = k < 3 ? (r() < 0.5 ? 1 : 0) : r() < 0.9 ? ys[k - 3] : 1 - ys[k - 3];
        ys.push(y);
        stream.push({ userId: `u${u}`, itemId: `i${Math.floor(r() * 10)}`, skills: [], correct: y });
      }
    }
    const m = new KnowledgeModel({ historyFeatures: false, factors: 0, memory: 4, memoryAgeRate: 0.05 });
    for (const a of stream.slice(0, 5000)) m.update(a);
    const ages = m.serialize().items.map(([, it]) => it.ma!);
    expect(ages).toHaveLength(10);
    const mean = (j: number) => ages.reduce((t, w) => t + Math.abs(w[j]), 0) / ages.length;
    expect(mean(2)).toBeGreaterThan(mean(0));
    expect(mean(2)).toBeGreaterThan(mean(1));
    const restored = KnowledgeModel.deserialize(JSON.parse(JSON.stringify(m.serialize())) as KnowledgeModelState);
    for (const a of stream.slice(5000)) {
      expect(restored.predict(a)).toBe(m.predict(a));
      m.update(a);
      restored.update(a);
    }
    expect(JSON.stringify(restored.serialize())).toBe(JSON.stringify(m.serialize()));
    const off = new KnowledgeModel(); // off by default: no age weights are written
    for (const x of attempts.slice(0, 500)) off.update(x);
    expect(JSON.stringify(off.serialize())).not.toMatch(/"(ma|mag2)":/);
  });

  it('forgets a learner completely (erasure)', () => {
    const m = new KnowledgeModel();
    for (const a of attempts.slice(0, 500)) m.update(a);
    expect(m.forgetLearner('u0')).toBe(true);
    expect(m.learnerAttempts('u0')).toBe(0);
    expect(m.mastery('u0')).toEqual([]);
  });

  it('historyFeatures: false (the ablation) leaves every history weight at 0 but still counts attempts', () => {
    const m = new KnowledgeModel({ historyFeatures: false });
    for (const a of attempts.slice(0, 1000)) m.update(a);
    const { bias, ...history } = m.featureWeights();
    expect(bias).not.toBe(0);
    expect(Object.values(history).every((w) => w === 0)).toBe(true);
    expect(m.learnerAttempts('u0')).toBe(attempts.slice(0, 1000).filter((a) => a.userId === 'u0').length);
  });

  it('is deterministic: two models fed the same stream predict identically', () => {
    const a = new KnowledgeModel();
    const b = new KnowledgeModel();
    for (const x of attempts.slice(0, 2000)) {
      expect(a.predict(x)).toBe(b.predict(x));
      a.update(x);
      b.update(x);
    }
  });
});

(haveStatics ? describe : describe.skip)('knowledge tracing on a slice of Statics2011 (real data)', () => {
  // Slices keep the test fast: the first 25k train answers (all train learners, interleaved) and 10k test answers.
  const train = haveStatics ? attemptsFromEvents(readStatics(STATICS_DIR, { splits: ['train'] }).events).slice(0, 25_000) : [];
  const test = haveStatics ? attemptsFromEvents(readStatics(STATICS_DIR, { splits: ['test'] }).events).slice(0, 10_000) : [];

  it('beats plain Elo, which beats the per-item mean (prequential AUC on test)', () => {
    const r = evaluateKnowledge({ train, test }, { trainEpochs: 2, curveWindows: 4 });
    const byMethod = Object.fromEntries(r.methods.map((m) => [m.method, m]));
    expect(r.testAttempts).toBe(10_000);
    expect(byMethod['item-mean'].auc).toBeGreaterThan(0.7);
    expect(byMethod.elo.auc).toBeGreaterThan(byMethod['item-mean'].auc);
    expect(byMethod.full.auc).toBeGreaterThan(byMethod.elo.auc + 0.005);
    expect(byMethod.full.logLoss).toBeLessThan(byMethod.elo.logLoss);
    expect(byMethod.full.rmse).toBeLessThan(byMethod.elo.rmse);
    expect(byMethod.full.curve).toHaveLength(4);
  });

  it('save -> load gives identical predictions, and identical learning afterwards', () => {
    const m = new KnowledgeModel();
    for (const a of train) m.update(a);
    for (const a of test.slice(0, 3000)) m.update(a);
    const restored = KnowledgeModel.deserialize(JSON.parse(JSON.stringify(m.serialize())) as KnowledgeModelState);
    expect(JSON.stringify(restored.serialize())).toBe(JSON.stringify(m.serialize()));
    for (const a of test.slice(3000, 5000)) {
      expect(restored.predict(a)).toBe(m.predict(a));
      m.update(a);
      restored.update(a);
    }
    const someone = test[0].userId;
    expect(restored.mastery(someone)).toEqual(m.mastery(someone));
    expect(restored.learnerAttempts(someone)).toBe(m.learnerAttempts(someone));
  });

  it('baselines stay deterministic on real data', () => {
    const score = (make: () => ItemMeanModel | PlainEloModel): number[] => {
      const model = make();
      return test.slice(0, 1000).map((a) => {
        const p = model.predict(a);
        model.update(a);
        return p;
      });
    };
    expect(score(() => new PlainEloModel())).toEqual(score(() => new PlainEloModel()));
    expect(score(() => new ItemMeanModel())).toEqual(score(() => new ItemMeanModel()));
  });
});
