import { activeExperiment, assignVariant, bucket } from '../../../../models/experiments/assign';
import { makeRecommId, parseRecommId, RECOMM_ID_PATTERN } from '../../../../models/experiments/recomm-id';
import { chiSquare, normalQuantile, sampleSizePerArm, wilson } from '../../../../models/experiments/stats';
import { ExperimentTally } from '../../../../models/experiments/tally';
import type { Experiment } from '../../../../models/experiments/types';

const exp: Experiment = {
  id: 'mmr-off',
  active: true,
  variants: [
    { name: 'control', weight: 1 },
    { name: 'no-mmr', weight: 1, ranking: { mmrLambda: 1 } },
  ],
};
const uneven: Experiment = {
  id: 'explore',
  active: true,
  variants: [
    { name: 'a', weight: 5 },
    { name: 'b', weight: 3 },
    { name: 'c', weight: 2 },
  ],
};
const ids = Array.from({ length: 100_000 }, (_, i) => `learner-${i}`);

describe('assignment', () => {
  it('is stable: the same learner gets the same variant on every call and for any copy of the config', () => {
    const first = ids.slice(0, 1000).map((u) => assignVariant(exp, u).name);
    const copy = JSON.parse(JSON.stringify(exp)) as Experiment;
    expect(ids.slice(0, 1000).map((u) => assignVariant(copy, u).name)).toEqual(first);
    // pinned values: a change of the hash would move every running experiment's learners
    expect(['u1', 'u2', 'u3', 'alice', 'bob'].map((u) => assignVariant(exp, u).name)).toMatchSnapshot();
  });

  it.each([[exp], [uneven]])('is balanced to the weights on 100k ids (chi-square below the 0.999 quantile)', (e) => {
    const counts = new Map(e.variants.map((v) => [v.name, 0]));
    for (const u of ids) {
      const name = assignVariant(e, u).name;
      counts.set(name, counts.get(name)! + 1);
    }
    const total = e.variants.reduce((s, v) => s + v.weight, 0);
    const chi = chiSquare(
      e.variants.map((v) => counts.get(v.name)!),
      e.variants.map((v) => v.weight / total),
    );
    // 0.999 quantiles of chi-square: 10.83 (1 dof), 13.82 (2 dof)
    expect(chi).toBeLessThan(e.variants.length === 2 ? 10.83 : 13.82);
  });

  it('splits independently per experiment: another id reshuffles learners', () => {
    const other = { ...exp, id: 'other' };
    const same = ids.slice(0, 10_000).filter((u) => assignVariant(exp, u).name === assignVariant(other, u).name).length;
    expect(same / 10_000).toBeGreaterThan(0.47);
    expect(same / 10_000).toBeLessThan(0.53);
    expect(bucket('a', 'u')).not.toBe(bucket('b', 'u'));
  });

  it('only an active experiment assigns', () => {
    expect(activeExperiment([{ ...exp, active: false }])).toBeUndefined();
    expect(activeExperiment([{ ...exp, active: false }, uneven])?.id).toBe('explore');
  });
});

describe('recommId', () => {
  it('names the experiment and variant, is stable per stored list and new per re-rank', () => {
    const r = makeRecommId('u1', 1000, 'm1', { experiment: 'mmr-off', variant: 'no-mmr' });
    expect(r).toMatch(RECOMM_ID_PATTERN);
    expect(parseRecommId(r)).toEqual({ experiment: 'mmr-off', variant: 'no-mmr' });
    expect(makeRecommId('u1', 1000, 'm1', { experiment: 'mmr-off', variant: 'no-mmr' })).toBe(r);
    expect(makeRecommId('u1', 1001, 'm1', { experiment: 'mmr-off', variant: 'no-mmr' })).not.toBe(r);
    const bare = makeRecommId('u1', null, null);
    expect(bare).toMatch(RECOMM_ID_PATTERN);
    expect(parseRecommId(bare)).toBeNull();
    expect(parseRecommId('not a recomm id')).toBeNull();
  });
});

describe('stats', () => {
  it('normal quantile, Wilson interval and two-proportion sample size match reference values', () => {
    expect(normalQuantile(0.975)).toBeCloseTo(1.959964, 5);
    expect(normalQuantile(0.8)).toBeCloseTo(0.841621, 5);
    // Wilson 95% for 10/100: [0.0552, 0.1744]
    const w = wilson(10, 100);
    expect(w.low).toBeCloseTo(0.0552, 3);
    expect(w.high).toBeCloseTo(0.1744, 3);
    expect(wilson(0, 0)).toEqual({ estimate: 0, low: 0, high: 1 });
    // 10% vs 12%, alpha 0.05 two-sided, power 0.8: 3,841 per arm (pooled-variance formula)
    expect(sampleSizePerArm(0.1, 0.12)).toBe(3841);
    expect(sampleSizePerArm(0.1, 0.1)).toBe(Infinity);
  });
});

describe('attribution tally', () => {
  const A = 'mmr-off.control.abc';
  const B = 'mmr-off.no-mmr.def';

  it('counts an impression once per list and resource, a click only on a shown, unclicked resource', () => {
    const t = new ExperimentTally();
    expect(t.impression('u1', A, 'r1', 10)).toBe('impressions');
    expect(t.impression('u1', A, 'r1', 11)).toBeNull();
    expect(t.impression('u1', A, 'r2', 12)).toBe('impressions');
    expect(t.click('u1', A, 'r1')).toBe('clicks');
    expect(t.click('u1', A, 'r1')).toBe('unmatched');
    expect(t.click('u1', A, 'r9')).toBe('unmatched');
    expect(t.impression('u1', B, 'r3', 13)).toBe('crossovers');
    expect(t.click('u2', A, 'r1')).toBeNull(); // never exposed: nothing kept
    t.quiz('u1', true, 5); // before exposure
    t.quiz('u1', true, 20);
    t.quiz('u1', false, 21);
    expect(t.variantTotals()).toEqual([
      {
        experiment: 'mmr-off',
        variant: 'control',
        learners: 1,
        impressions: 2,
        clicks: 1,
        attempts: 2,
        successes: 1,
        crossovers: 1,
        unmatched: 2,
      },
    ]);
    expect(t.has('u2')).toBe(false);
  });

  it('counts the same whichever topic is read first: a quiz read before the earlier impression that exposed the learner', () => {
    const inOrder = new ExperimentTally();
    inOrder.impression('u1', A, 'r1', 10);
    inOrder.quiz('u1', true, 20);
    inOrder.quiz('u1', false, 5);
    const quizFirst = new ExperimentTally();
    quizFirst.quiz('u1', true, 20);
    quizFirst.quiz('u1', false, 5);
    quizFirst.impression('u1', A, 'r1', 10);
    expect(quizFirst.variantTotals()).toEqual(inOrder.variantTotals());
    expect(inOrder.variantTotals()[0]).toMatchObject({ attempts: 1, successes: 1 });
  });

  it('round-trips through its checkpoint form with identical totals, and erasure removes the learner and their share', () => {
    const t = new ExperimentTally();
    t.impression('u1', A, 'r1', 1);
    t.click('u1', A, 'r1');
    t.impression('u2', B, 'r1', 1);
    t.impression('u2', B, 'r2', 1);
    t.quiz('u2', true, 2);
    const back = ExperimentTally.fromJSON(JSON.parse(JSON.stringify(t.toJSON())));
    expect(back.variantTotals()).toEqual(t.variantTotals());
    // and goes on identically: the click on u1's list still matches once
    expect(back.click('u1', A, 'r1')).toBe('unmatched');
    expect(back.erase('u2')).toBe(true);
    expect(back.has('u2')).toBe(false);
    expect(back.variantTotals().find((v) => v.variant === 'no-mmr')).toMatchObject({
      learners: 0,
      impressions: 0,
      attempts: 0,
      successes: 0,
    });
    expect(JSON.stringify(back.toJSON())).not.toContain('u2');
  });
});
