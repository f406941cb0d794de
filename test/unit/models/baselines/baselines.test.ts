import type { StreamEvent } from '../../../../models/eval/types';
import { Isgd } from '../../../../models/baselines/isgd';
import { MostPopular, RecentPopular } from '../../../../models/baselines/popular';

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

  it('both round-trip through JSON to identical scores and further learning (recent-popular across a rescale)', () => {
    const scores = (m: MostPopular | RecentPopular, n: number) => {
      const out = new Float64Array(n);
      m.score(0, out, n);
      return out;
    };
    const most = new MostPopular('all');
    const recent = new RecentPopular(10);
    // 2000 items > the initial table; t up to 6000 s = 600 half-lives forces one rescale (at exponent > 500)
    const events = Array.from({ length: 3000 }, (_, e) => ev(e % 7, (e * 37) % 2000, e * 2, e % 5 === 0 ? 2 : 5));
    for (const e of events.slice(0, 1500)) [most, recent].forEach((m) => m.learn(e));
    const most2 = MostPopular.deserialize(JSON.parse(JSON.stringify(most.serialize())));
    const recent2 = RecentPopular.deserialize(JSON.parse(JSON.stringify(recent.serialize())));
    expect(scores(most2, 2100)).toEqual(scores(most, 2100));
    expect(scores(recent2, 2100)).toEqual(scores(recent, 2100));
    for (const e of events.slice(1500)) [most, recent, most2, recent2].forEach((m) => m.learn(e));
    expect(scores(most2, 2100)).toEqual(scores(most, 2100));
    expect(scores(recent2, 2100)).toEqual(scores(recent, 2100));
    expect(recent2.serialize()).toEqual(recent.serialize());
    expect(RecentPopular.deserialize(new RecentPopular().serialize()).serialize()).toEqual(new RecentPopular().serialize());
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
