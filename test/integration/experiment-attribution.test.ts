/**
 * Issue 21, experiments against the real stack: lists ranked under the learner's variant carry the tag the read API
 * turns into recommId/variant; impressions, clicks and quiz attempts that quote it are attributed exactly per
 * variant by the experiment stage, across a restart (state checkpointed with the offsets), and recomputed from Kafka
 * by the report's replay to the same figures; an erasure removes the learner's experiment records.
 */
import { tagServedList } from '../../api/recommend/experiment';
import { assignVariant } from '../../models/experiments/assign';
import type { VariantTotals } from '../../models/experiments/tally';
import type { Experiment } from '../../models/experiments/types';
import type { Pipeline } from '../../pipelines/pipeline';
import type { KindedEvent } from '../../schemas';
import { replayTotals } from '../../scripts/experiment/replay';
import { testConfig, testRegistry, waitFor } from '../helpers';
import { erasure, interaction, resource } from '../pipeline-support/events';
import { createHarness, type PipelineHarness } from '../pipeline-support/harness';

const EXP = {
  id: 'it-mmr',
  description: '',
  active: true,
  variants: [
    { name: 'control', weight: 1 },
    { name: 'no-mmr', weight: 1, ranking: { mmrLambda: 1 } },
  ],
} satisfies Experiment;
const USERS = Array.from({ length: 12 }, (_, i) => `xu${i}`);
const RES = Array.from({ length: 8 }, (_, i) => `xr${i}`);
let n = 0;

const impression = (userId: string, resourceId: string, recommId: string): KindedEvent => ({
  kind: 'interaction',
  event: {
    eventId: `imp-${n++}`,
    userId,
    resourceId,
    type: 'impression',
    value: null,
    dwellMs: 0,
    occurredAt: Date.now(),
    context: { platform: 'test', device: null, session: null },
    review: false,
    recommId,
  },
});
const click = (userId: string, resourceId: string, recommId: string): KindedEvent => ({
  kind: 'interaction',
  event: {
    eventId: `clk-${n++}`,
    userId,
    resourceId,
    type: 'click',
    value: null,
    dwellMs: 0,
    occurredAt: Date.now(),
    context: { platform: 'test', device: null, session: null },
    review: false,
    recommId,
  },
});
const quiz = (userId: string, correct: boolean): KindedEvent => ({
  kind: 'quizAttempt',
  event: {
    eventId: `q-${n++}`,
    userId,
    itemId: 'item-1',
    resourceId: null,
    skills: ['s1'],
    correct,
    score: null,
    attempt: 1,
    responseTimeMs: 1000,
    occurredAt: Date.now(),
  },
});

/** What the tally must hold: per variant, from the events the test sent. */
function expected(perUser: Map<string, { variant: string; impressions: number; clicks: number; attempts: number; successes: number }>) {
  const out = new Map<string, Pick<VariantTotals, 'learners' | 'impressions' | 'clicks' | 'attempts' | 'successes'>>();
  for (const u of perUser.values()) {
    const t = out.get(u.variant) ?? { learners: 0, impressions: 0, clicks: 0, attempts: 0, successes: 0 };
    t.learners++;
    t.impressions += u.impressions;
    t.clicks += u.clicks;
    t.attempts += u.attempts;
    t.successes += u.successes;
    out.set(u.variant, t);
  }
  return Object.fromEntries([...out].sort());
}
type Row = Pick<VariantTotals, 'learners' | 'impressions' | 'clicks' | 'attempts' | 'successes'>;
const actual = (totals: VariantTotals[]): Record<string, Row> =>
  Object.fromEntries(
    totals
      .filter((t) => t.experiment === EXP.id && t.learners > 0)
      .map((t): [string, Row] => [
        t.variant,
        { learners: t.learners, impressions: t.impressions, clicks: t.clicks, attempts: t.attempts, successes: t.successes },
      ])
      .sort((a, b) => a[0].localeCompare(b[0])),
  );

describe('experiment attribution (real Kafka, registry, Redis)', () => {
  let h: PipelineHarness;
  let p: Pipeline;

  beforeAll(async () => {
    h = await createHarness(testConfig('exp', { experiments: [EXP], pipeline: { checkpointIntervalMs: 200 } }));
  }, 60_000);
  afterAll(async () => h?.close());

  it('tags lists by variant, attributes exactly across a restart and a replay from Kafka, and erasure removes the records', async () => {
    p = await h.start(['learner', 'item', 'catalog', 'experiment']);
    await h.publisher.publish(RES.map((r) => resource(r, ['t'])));
    await waitFor(async () => (await h.store.getResources([RES[RES.length - 1]]))[0] !== null, {
      message: 'catalogue in Redis',
      timeoutMs: 30_000,
    });
    await h.publisher.publish(USERS.map((u, i) => interaction(u, RES[i % RES.length])));
    const tags = new Map<string, { recommId: string; ids: string[] }>();
    await waitFor(
      async () => {
        for (const u of USERS) {
          if (tags.has(u)) continue;
          const view = await h.store.getRecommendationView(u);
          if (!view || view.ids.length < 3) continue;
          // the list was ranked under the learner's assigned variant, and the API names it
          expect(view.ref).toEqual({ experiment: EXP.id, variant: assignVariant(EXP, u).name });
          const tag = tagServedList([EXP], u, view);
          expect(tag).toMatchObject({ experiment: EXP.id, variant: view.ref!.variant });
          tags.set(u, { recommId: tag.recommId, ids: view.ids.slice(0, 3) });
        }
        return tags.size === USERS.length;
      },
      { message: 'a tagged list for every learner', timeoutMs: 60_000 },
    );
    expect(new Set(USERS.map((u) => assignVariant(EXP, u).name)).size).toBe(2);

    const perUser = new Map<string, { variant: string; impressions: number; clicks: number; attempts: number; successes: number }>();
    const round = async (withQuiz: boolean) => {
      const events: KindedEvent[] = [];
      for (const [i, u] of USERS.entries()) {
        const t = tags.get(u)!;
        const rec = perUser.get(u) ?? { variant: assignVariant(EXP, u).name, impressions: 0, clicks: 0, attempts: 0, successes: 0 };
        perUser.set(u, rec);
        if (!withQuiz) {
          for (const r of t.ids) events.push(impression(u, r, t.recommId));
          events.push(impression(u, t.ids[0], t.recommId)); // shown again: counted once
          events.push(click(u, t.ids[i % 3], t.recommId));
          rec.impressions += t.ids.length;
          rec.clicks += 1;
        } else {
          events.push(quiz(u, i % 2 === 0), quiz(u, true));
          rec.attempts += 2;
          rec.successes += i % 2 === 0 ? 2 : 1;
        }
      }
      await h.publisher.publish(events);
    };
    await round(false);
    await waitFor(() => JSON.stringify(actual(p.experiment!.totals())) === JSON.stringify(expected(perUser)), { timeoutMs: 60_000 });

    // restart: a new pipeline process restores the experiment stage from its checkpoints, then goes on
    await p.stop();
    p = await h.start(['learner', 'item', 'catalog', 'experiment']);
    await round(true);
    await waitFor(() => JSON.stringify(actual(p.experiment!.totals())) === JSON.stringify(expected(perUser)), { timeoutMs: 60_000 });
    await new Promise((r) => setTimeout(r, 1500)); // nothing counted twice arrives late
    expect(actual(p.experiment!.totals())).toEqual(expected(perUser));
    // the report's replay from Kafka gives the same figures
    expect(actual(await replayTotals(h.config, h.kafka, testRegistry(h.config)))).toEqual(expected(perUser));

    // erasure: the learner's records and their share of the totals go
    const gone = USERS[0];
    expect(p.experiment!.hasRecords(gone)).toBe(true);
    await h.publisher.publish([erasure(gone)]);
    perUser.delete(gone);
    await waitFor(() => !p.experiment!.hasRecords(gone), { timeoutMs: 30_000 });
    expect(actual(p.experiment!.totals())).toEqual(expected(perUser));
    expect(actual(await replayTotals(h.config, h.kafka, testRegistry(h.config)))).toEqual(expected(perUser));
    await waitFor(async () => (await h.store.getRecommendationView(gone)) === null, { timeoutMs: 30_000 });
  }, 240_000);
});
