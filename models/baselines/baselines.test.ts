import type { StreamEvent } from '../eval/types';
import { Isgd } from './isgd';
import { MostPopular, RecentPopular } from './popular';

const ev = (user: number, item: number, t: number, value = 5): StreamEvent => ({ user, item, t, kind: 'rating', value });

describe('popularity baselines', () => {
  it('most-popular counts positives only (ratings >= 4)', () => {
    const m = new MostPopular();
    [ev(0, 0, 1), ev(1, 0, 2), ev(2, 1, 3, 2), ev(3, 1, 4, 3)].forEach((e) => m.learn(e));
    const out = new Float64Array(2);
    m.score(0, out, 2);
    expect(Array.from(out)).toEqual([2, 0]);
  });

  it('recent-popular halves a count per half-life of event time', () => {
    const m = new RecentPopular(100);
    m.learn(ev(0, 0, 0));
    m.learn(ev(1, 1, 200));
    const out = new Float64Array(2);
    m.score(0, out, 2);
    expect(out[0] / out[1]).toBeCloseTo(0.25, 10);
  });
});

describe('ISGD', () => {
  it('is deterministic per seed and pulls a positive pair towards p.q = 1', () => {
    const run = (seed: number) => {
      const m = new Isgd({ seed, initOn: 'positive', closenessToOne: false });
      for (let r = 0; r < 200; r++) m.learn(ev(0, 0, r));
      const out = new Float64Array(1);
      m.score(0, out, 1);
      return out[0];
    };
    expect(run(1)).toBe(run(1));
    expect(run(1)).toBeGreaterThan(0.8);
    expect(run(1)).toBeLessThan(1.01);
  });

  it('items without a positive are not candidates when only positives exist for ISGD', () => {
    const m = new Isgd({ initOn: 'positive', closenessToOne: false });
    m.learn(ev(0, 0, 1, 5));
    m.learn(ev(0, 1, 2, 1));
    const out = new Float64Array(2);
    m.score(0, out, 2);
    expect(out[1]).toBe(-Infinity);
    expect(Number.isFinite(out[0])).toBe(true);
  });
});
