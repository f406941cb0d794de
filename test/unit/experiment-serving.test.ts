/**
 * Issue 21, the serving side of experiments without services: the learner stage's per-variant rankers, the tag a
 * list is stored with (memory store; the Redis one in test/integration/experiment-attribution.test.ts), the
 * recommId/variant the API derives from it, and the collector's rules for impressions.
 */
import { tagServedList } from '../../api/recommend/experiment';
import { MemoryServingStore } from '../../serving/memory-store';
import { assignVariant } from '../../models/experiments/assign';
import { parseRecommId } from '../../models/experiments/recomm-id';
import type { Experiment } from '../../models/experiments/types';
import { variantRankOptions, VariantRankers } from '../../pipelines/learner/variants';
import { validateEvent } from '../../schemas';
import { buildReport, formatReport } from '../../scripts/experiment/report';
import { createLogger } from '../../lib/log';
import { noopEmitter } from '../../lib/metrics/instrumentation';
import type { InteractionEvent } from '../../consumers/event-types';
import { LearnerProcessor } from '../../pipelines/learner/processor';
import { createCollabModel } from '../../pipelines/model/collab';

const EXP: Experiment = {
  id: 'e1',
  active: true,
  variants: [
    { name: 'control', weight: 1 },
    { name: 'flat', weight: 1, ranking: { learningLayer: false, weights: { popularity: 0.5 } } },
  ],
};
const users = Array.from({ length: 200 }, (_, i) => `u${i}`);

describe('learner stage rankers per variant', () => {
  it('uses the stage ranker for everyone without an experiment, and for the control; the variant ranker for the rest', () => {
    const made: string[] = [];
    const none = new VariantRankers(undefined, undefined, () => 'variant', 'base');
    expect(users.every((u) => none.for(u).ranker === 'base' && none.for(u).ref === undefined)).toBe(true);
    const inactive = new VariantRankers([{ ...EXP, active: false }], undefined, () => 'variant', 'base');
    expect(users.every((u) => inactive.for(u).ref === undefined)).toBe(true);
    const r = new VariantRankers([EXP], { rank: { targetSuccess: 0.7 } }, (o) => (made.push(JSON.stringify(o)), 'flat-ranker'), 'base');
    expect(made).toEqual([JSON.stringify({ rank: { targetSuccess: 0.7, weights: { popularity: 0.5 } }, learningLayer: false })]);
    for (const u of users) {
      const { ranker, ref } = r.for(u);
      const v = assignVariant(EXP, u).name;
      expect(ref).toEqual({ experiment: 'e1', variant: v });
      expect(ranker).toBe(v === 'control' ? 'base' : 'flat-ranker');
    }
    expect(variantRankOptions(undefined, { mmrLambda: 1, reserveNew: 0 })).toEqual({ rank: { weights: {}, mmrLambda: 1 }, reserveNew: 0 });
  });
});

describe('tag stored with the list and what the API serves', () => {
  it('stores the tag beside the list, serves it as recommId/variant, and erasure removes it', async () => {
    const store = new MemoryServingStore();
    await store.putRecommendations({
      userId: 'u1',
      items: [{ resourceId: 'r1', score: 1, reasons: [] }],
      modelVersion: 'm',
      generatedAt: 5,
      source: 'personal',
      ref: { experiment: 'e1', variant: 'flat' },
    });
    const view = (await store.getRecommendationView('u1'))!;
    expect(view.ref).toEqual({ experiment: 'e1', variant: 'flat' });
    const tag = tagServedList([EXP], 'u1', view);
    expect(tag).toMatchObject({ experiment: 'e1', variant: 'flat' });
    expect(parseRecommId(tag.recommId)).toEqual({ experiment: 'e1', variant: 'flat' });
    expect(tagServedList([EXP], 'u1', view).recommId).toBe(tag.recommId);
    // outside any experiment (or once it ended): a bare recommId, no variant
    expect(tagServedList([], 'u1', view)).toMatchObject({ experiment: null, variant: null });
    expect(parseRecommId(tagServedList([{ ...EXP, active: false }], 'u1', view).recommId)).toBeNull();
    // a fallback page (no list) names the learner's assigned variant
    expect(tagServedList([EXP], 'nobody', { generatedAt: null, modelVersion: null })).toMatchObject({
      variant: assignVariant(EXP, 'nobody').name,
    });
    await store.eraseLearner('u1');
    await store.putRecommendations({ userId: 'u1', items: [], modelVersion: 'm', generatedAt: 6, source: 'personal' });
    expect((await store.getRecommendationView('u1'))!.ref).toBeUndefined();
  });
});

describe('the learner stage and impressions', () => {
  it('does not learn from an impression (attribution data only), and learns from the click on it', async () => {
    let current: InteractionEvent | null = null;
    const p = new LearnerProcessor({
      decode: () => Promise.resolve(current),
      model: createCollabModel({ dim: 4, seed: 1 }),
      store: new MemoryServingStore(),
      emit: noopEmitter,
      logger: createLogger({ level: 'error' }),
      topics: { interactions: 'i', quizAttempts: 'q', profiles: 'p', erasures: 'e', itemUpdates: 'u' },
      tombstone: () => Promise.resolve(),
      topN: 5,
      historyLength: 10,
      rerankIntervalMs: 0,
      modelVersion: 't',
      kernel: 'js',
      manualReranks: true,
      experiments: [EXP],
    });
    p.restore(0, null);
    const rec = { topic: 'i', partition: 0, offset: '0', key: null, value: Buffer.alloc(1), timestamp: 1, headers: {} };
    current = {
      kind: 'interaction',
      eventId: 'a',
      userId: 'u1',
      resourceId: 'r1',
      type: 'impression',
      occurredAt: 1,
      recommId: 'e1.flat.abc',
    };
    await p.apply(0, rec);
    expect(p.learner('u1')).toBeUndefined();
    current = { kind: 'interaction', eventId: 'b', userId: 'u1', resourceId: 'r1', type: 'click', occurredAt: 2, recommId: 'e1.flat.abc' };
    await p.apply(0, { ...rec, offset: '1' });
    expect(p.learner('u1')?.interactions).toBe(1);
    await p.stop();
  });
});

describe('impression and click events', () => {
  const NOW = Date.now();
  const base = { eventId: 'e', userId: 'u', resourceId: 'r', occurredAt: NOW - 1000, context: { platform: 'web' } };
  it('an impression needs a well-formed recommId; a click may carry one', () => {
    expect(validateEvent('LearningInteraction', { ...base, type: 'impression', recommId: 'e1.flat.abc123' }, { now: NOW }).ok).toBe(true);
    const missing = validateEvent('LearningInteraction', { ...base, type: 'impression' }, { now: NOW });
    expect(missing).toMatchObject({ ok: false, issues: [{ path: 'recommId', code: 'missing-field' }] });
    const bad = validateEvent('LearningInteraction', { ...base, type: 'click', recommId: 'not one!' }, { now: NOW });
    expect(bad).toMatchObject({ ok: false, issues: [{ path: 'recommId', code: 'invalid-format' }] });
    expect(validateEvent('LearningInteraction', { ...base, type: 'click' }, { now: NOW })).toMatchObject({
      ok: true,
      value: { recommId: null },
    });
  });
});

describe('npm run experiment -- report', () => {
  it('prints CTR and success rate with Wilson intervals and the impressions still needed against the control', () => {
    const t = (variant: string, impressions: number, clicks: number, attempts: number, successes: number) => ({
      experiment: 'e1',
      variant,
      learners: 50,
      impressions,
      clicks,
      attempts,
      successes,
      crossovers: 0,
      unmatched: 0,
    });
    const r = buildReport(EXP, [t('control', 1000, 100, 200, 120), t('flat', 1000, 120, 210, 140)]);
    expect(r.variants[1]).toMatchObject({ neededPerArm: 3841, stillNeeded: 2841 });
    expect(r.variants[0].ctr.low).toBeCloseTo(0.0829, 3);
    const text = formatReport(r);
    expect(text).toContain('10.00% [8.29%, 12.02%]');
    expect(text).toContain('2841 (of 3841, effect +2.00%)');
    // nothing observed yet: the planned minimum effect (10% relative) decides
    expect(buildReport(EXP, [t('control', 1000, 100, 0, 0), t('flat', 1000, 100, 0, 0)]).variants[1]).toMatchObject({
      neededPerArm: 14751,
    });
  });
});
