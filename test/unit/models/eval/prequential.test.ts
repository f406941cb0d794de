import { MostPopular } from '../../../../models/baselines/popular';
import { runPrequential } from '../../../../models/eval/prequential';
import type { StreamEvent } from '../../../../models/eval/types';

const ev = (user: number, item: number, t: number, value: number): StreamEvent => ({ user, item, t, kind: 'rating', value });

describe('runPrequential', () => {
  it('tests before learning, excludes items the learner already has, counts only ratings >= 4', () => {
    const events = [
      ev(0, 0, 1, 5), // test point: nothing seen yet -> miss
      ev(1, 0, 2, 5), // item 0 is popular (1 positive) -> hit at rank 1
      ev(1, 1, 3, 2), // low rating: an event, not a test point
      ev(2, 1, 4, 4), // item 1 has 0 positives, item 0 has 2 -> item 1 at rank 2 -> hit, ndcg 1/log2(3)
      ev(0, 1, 5, 4), // user 0 already has item 0 (excluded) -> item 1 rank 1
    ];
    const r = runPrequential(events, new MostPopular(), { k: 10 });
    expect(r.testPoints).toBe(4);
    expect(r.recall).toBeCloseTo(3 / 4);
    expect(r.ndcg).toBeCloseTo((0 + 1 + 1 / Math.log2(3) + 1) / 4);
    expect(r.coverage).toBe(1);
  });

  it('k = 1 misses a rank-2 item', () => {
    const events = [ev(0, 0, 1, 5), ev(0, 1, 2, 5), ev(1, 1, 3, 5)];
    // before event 3: counts item0 = 1, item1 = 1; tie -> lower index (item 0) first -> item 1 at rank 2
    expect(runPrequential(events, new MostPopular(), { k: 1 }).recall).toBeCloseTo(0);
  });
});
