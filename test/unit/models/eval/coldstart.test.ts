import { runColdStart, splitColdStart, type ColdStartCandidate, type ColdStartSplit } from '../../../../models/eval/coldstart';
import type { StreamEvent } from '../../../../models/eval/types';

/** 10 items, 40 events at t = 0..39; every user rates items in turn. */
function stream(): StreamEvent[] {
  return Array.from({ length: 40 }, (_, e) => ({ user: e % 4, item: (e * 3) % 10, t: e, kind: 'rating' as const, value: 5 }));
}

describe('cold-start split and run', () => {
  it('holds back a seeded fraction of items until the cut-over and drops only their earlier events', () => {
    const s = splitColdStart(stream(), { heldFraction: 0.2, cutoverQuantile: 0.5, seed: 4 });
    expect(s.heldItems).toHaveLength(2);
    expect(s.cutoverT).toBe(20);
    expect(s.events.some((ev) => s.held[ev.item] && ev.t < 20)).toBe(false);
    expect(s.events.length + s.droppedEvents).toBe(40);
    expect(splitColdStart(stream(), { seed: 4 }).heldItems).toEqual(s.heldItems);
  });

  it('publishes held items at the cut-over and scores their first positives among available items only', () => {
    const s = splitColdStart(stream(), { heldFraction: 0.2, cutoverQuantile: 0.5, seed: 4 });
    let publishedAt = -1;
    // an oracle that always scores the held items highest: every test point on a held item is a hit at k = 2
    const oracle: ColdStartCandidate = {
      name: 'oracle',
      score: (_u, out, n) => {
        for (let i = 0; i < n; i++) out[i] = s.held[i] ? 10 + i : 0;
      },
      learn: () => undefined,
      publish: (_items, t) => (publishedAt = t),
    };
    const r = runColdStart(s, oracle, { k: 2, firstN: 5 });
    expect(publishedAt).toBe(20);
    expect(r.first.n).toBeGreaterThan(0);
    expect(r.first.recall).toBe(1);
    expect(r.heldAll.recall).toBe(1);
    expect(r.overall.n).toBeGreaterThanOrEqual(r.heldAll.n);
  });

  it('records recall by the n-th positive of a held-back item, as evidence accumulates', () => {
    // item 2 is held back until t = 10, then users 2..7 rate it in turn; items 0 and 1 are known before
    const events: StreamEvent[] = [
      { user: 0, item: 0, t: 0, kind: 'rating', value: 5 },
      { user: 1, item: 1, t: 1, kind: 'rating', value: 5 },
      ...Array.from({ length: 6 }, (_, j) => ({ user: 2 + j, item: 2, t: 10 + j, kind: 'rating' as const, value: 5 })),
    ];
    const split: ColdStartSplit = { held: Uint8Array.from([0, 0, 1]), heldItems: [2], cutoverT: 10, events, droppedEvents: 0, nItems: 3 };
    // ranks item 2 first only once it has learned two of its events: a miss on positives 1 and 2, a hit from 3 on
    let seen = 0;
    const learner: ColdStartCandidate = {
      name: 'needs-two',
      score: (_u, out) => {
        out[0] = 0;
        out[1] = 0;
        out[2] = seen >= 2 ? 1 : -1;
      },
      learn: (ev) => void (ev.item === 2 && seen++),
    };
    const r = runColdStart(split, learner, { k: 1, firstN: 5, curveN: 6 });
    expect(r.byPositive.map((s) => s.recall)).toEqual([0, 0, 1, 1, 1, 1]);
    expect(r.byPositive.map((s) => s.n)).toEqual([1, 1, 1, 1, 1, 1]);
    expect(r.first).toEqual(r.byPositive[0]);
    expect(r.firstN.recall).toBeCloseTo(3 / 5);
    expect(runColdStart(split, learner, { k: 1 }).byPositive).toHaveLength(10);
  });
});
