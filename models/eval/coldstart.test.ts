import { runColdStart, splitColdStart, type ColdStartCandidate } from './coldstart';
import type { StreamEvent } from './types';

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
});
