import { mulberry32 } from '../../../../models/random/prng';
import type { Interaction } from '../../../../models/collab/options';
import { warmStart } from '../../../../models/collab/warm-start';

function twoGroups(n: number): Interaction[] {
  const rng = mulberry32(21);
  return Array.from({ length: n }, (_, e) => {
    const u = Math.floor(rng() * 30);
    return {
      learnerId: `u${u}`,
      resourceId: `r${(u % 2) * 60 + Math.floor(rng() * 60)}`,
      kind: 'complete' as const,
      timestamp: 1_000_000 + e * 1000,
    };
  });
}

describe('warmStart (batch ALS with ml-matrix)', () => {
  const events = twoGroups(1500);
  const model = warmStart(events, { dim: 6, seed: 2, itemBiasHalfLifeMs: Infinity }, { sweeps: 4 });

  it('separates the two taste groups after a few sweeps', () => {
    const out = new Float64Array(model.resourceCount);
    model.scoreAll('u4', events[events.length - 1].timestamp, out);
    let inGroup = 0;
    let outGroup = 0;
    for (let i = 0; i < model.resourceCount; i++) {
      if (Number(model.resourceIdAt(i).slice(1)) < 60) inGroup += out[i] / 60;
      else outGroup += out[i] / 60;
    }
    expect(inGroup).toBeGreaterThan(outGroup + 0.3);
  });

  it('counts the history as applied events and continues online', () => {
    const perLearner = events.filter((e) => e.learnerId === 'u3').length;
    expect(model.learnerEvents('u3')).toBe(perLearner);
    model.observe({ learnerId: 'u3', resourceId: 'r1', kind: 'click', timestamp: 9_999_999 });
    expect(model.learnerEvents('u3')).toBe(perLearner + 1);
  });
});
