import { noopEmitter } from '../../lib/metrics/instrumentation';
import { LagWatch } from '../../pipelines/lag-watch';

describe('LagWatch: lag that grows for minutes is a readiness failure', () => {
  let t = 0;
  const watch = () => new LagWatch({ windowMs: 180_000, minLag: 1000, now: () => t });
  beforeEach(() => (t = 1_000_000));

  it('growing for the whole window → one reason naming the partition; not before the window is covered', () => {
    const w = watch();
    for (let s = 0; s <= 170; s += 10) {
      t = 1_000_000 + s * 1000;
      w.observe('g-learner', 'learning.interactions', 2, 2000 + s * 10);
    }
    expect(w.reasons()).toEqual([]);
    for (let s = 180; s <= 240; s += 10) {
      t = 1_000_000 + s * 1000;
      w.observe('g-learner', 'learning.interactions', 2, 2000 + s * 10);
    }
    const r = w.reasons();
    expect(r).toHaveLength(1);
    expect(r[0]).toMatch(/g-learner learning\.interactions\[2\].*has not shrunk for 3 min/);
  });

  it('behind but catching up, a burst worked off, or a small lag: healthy', () => {
    const w = watch();
    for (let s = 0; s <= 300; s += 10) {
      t = 1_000_000 + s * 1000;
      w.observe('g', 'shrinking', 0, 50_000 - s * 100);
      w.observe('g', 'burst', 0, s < 100 ? 5000 + s * 50 : 200);
      w.observe('g', 'small', 0, 500 + s);
    }
    expect(w.reasons()).toEqual([]);
  });

  it('a revoked partition is forgotten (consumer.lagGone through the tap)', () => {
    const w = watch();
    const emit = w.tap(noopEmitter);
    for (let s = 0; s <= 200; s += 10) {
      t = 1_000_000 + s * 1000;
      emit.emit('consumer.lag', { group: 'g', topic: 'x', partition: 1, lag: 5000 + s });
    }
    expect(w.reasons()).toHaveLength(1);
    emit.emit('consumer.lagGone', { group: 'g', topic: 'x', partition: 1 });
    expect(w.reasons()).toEqual([]);
  });
});
