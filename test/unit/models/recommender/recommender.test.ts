import { mulberry32 } from '../../../../models/random/prng';
import { keyOf, logAdd2 } from '../../../../models/recommender/decayed';
import { Recommender } from '../../../../models/recommender/recommender';
import { ItemSignals } from '../../../../models/recommender/signals';

const DAY = 86400;

describe('decayed log keys', () => {
  it('sum like the decayed weights they stand for, at any reading time', () => {
    const hl = 30 * DAY;
    let key = -Infinity;
    const adds = [
      [1, 0],
      [2, 10 * DAY],
      [0.5, 45 * DAY],
    ] as const;
    for (const [w, t] of adds) key = logAdd2(key, keyOf(w, t, hl));
    for (const T of [50 * DAY, 400 * DAY]) {
      const direct = adds.reduce((s, [w, t]) => s + w * Math.pow(2, -(T - t) / hl), 0);
      expect(Math.pow(2, key - T / hl)).toBeCloseTo(direct, 12);
    }
  });

  it('stay finite decades after the epoch with a one-day half-life (no shared reference time to overflow)', () => {
    const k = keyOf(1, 60 * 365 * DAY, DAY);
    expect(Number.isFinite(logAdd2(k, k))).toBe(true);
    expect(logAdd2(k, k)).toBeCloseTo(k + 1, 12);
  });
});

describe('ItemSignals', () => {
  it('keeps the strongest targets of a full row and the whole total', () => {
    const s = new ItemSignals({ rowCapacity: 3, transitionHalfLifeSeconds: 1e12 });
    for (const [to, w] of [
      [1, 5],
      [2, 1],
      [3, 3],
      [4, 4],
    ] as const)
      s.addLink(0, to, w, 0);
    const r = s.row(0)!;
    const kept = Array.from(r.to.subarray(0, r.len)).sort();
    expect(kept).toEqual([1, 3, 4]);
    expect(Math.pow(2, r.sumKey)).toBeCloseTo(13, 9);
  });

  it('orders the most popular exactly as a full sort by decayed count would', () => {
    const rng = mulberry32(3);
    const s = new ItemSignals({ topPopular: 20, popularityHalfLifeSeconds: 7 * DAY });
    for (let e = 0; e < 5000; e++) s.addPopularity(Math.floor(rng() * 400), 1, e * 600);
    const all = Array.from({ length: 400 }, (_, i) => i).filter((i) => s.popularityKey(i) > -Infinity);
    all.sort((a, b) => s.popularityKey(b) - s.popularityKey(a));
    expect([...s.topPopular()]).toEqual(all.slice(0, 20));
  });

  it('serialize -> deserialize keeps rows, popularity and the popular order', () => {
    const rng = mulberry32(9);
    const s = new ItemSignals({ rowCapacity: 8 });
    for (let e = 0; e < 2000; e++) {
      s.addLink(Math.floor(rng() * 50), Math.floor(rng() * 50), rng(), e);
      s.addPopularity(Math.floor(rng() * 50), 1, e);
    }
    const back = ItemSignals.deserialize(JSON.parse(JSON.stringify(s.serialize())) as ReturnType<ItemSignals['serialize']>, {
      rowCapacity: 8,
    });
    expect(back.serialize()).toEqual(s.serialize());
  });
});

describe('Recommender', () => {
  it('scores transitions from recent items (position-decayed, row-normalised) plus weighted popularity', () => {
    const rec = new Recommender({ window: 4, positionDecay: 0.5, rowNormPower: 0.5, popularityWeight: 0.1, collabWeight: 0 });
    const s = new ItemSignals({ transitionHalfLifeSeconds: 1e15, popularityHalfLifeSeconds: 1e15 });
    // rows: 0 -> {5: 3, 6: 1}; 1 -> {6: 4}
    s.addLink(0, 5, 3, 0);
    s.addLink(0, 6, 1, 0);
    s.addLink(1, 6, 4, 0);
    s.addPopularity(7, 10, 0);
    s.addPopularity(5, 5, 0);
    // recent oldest first: 0 then 1 (1 is the most recent: weight 1; 0 one step back: 0.5)
    const pool = rec.pool(s, [0, 1], [], 10, () => true, 0);
    const out = new Float64Array(pool.length);
    rec.score(s, pool, undefined, out);
    const raw = new Map<number, number>([
      [5, (0.5 * 3) / Math.sqrt(4)],
      [6, (0.5 * 1) / Math.sqrt(4) + (1 * 4) / Math.sqrt(4)],
    ]);
    const max = Math.max(...raw.values());
    const got = new Map(pool.map((i, j) => [i, out[j]]));
    expect(got.get(5)).toBeCloseTo(raw.get(5)! / max + 0.1 * 0.5, 12);
    expect(got.get(6)).toBeCloseTo(raw.get(6)! / max, 12);
    expect(got.get(7)).toBeCloseTo(0.1, 12);
  });

  it('never pools a disallowed item, and a second pool starts clean', () => {
    const rec = new Recommender({ collabWeight: 0 });
    const s = new ItemSignals();
    s.addLink(0, 1, 1, 0);
    s.addLink(0, 2, 1, 0);
    expect(rec.pool(s, [0], [3], 10, (i) => i !== 2, 0).sort()).toEqual([1, 3]);
    rec.release();
    expect(rec.pool(s, [0], [], 10, () => true, 0).sort()).toEqual([1, 2]);
  });

  it('reuses a popularity term only while its key and the pool maximum are unchanged: the same scores as a fresh recommender', () => {
    const rng = mulberry32(5);
    const s = new ItemSignals({ popularityHalfLifeSeconds: 30 * DAY });
    const cached = new Recommender({ collabWeight: 0 });
    const scoreWith = (rec: Recommender, recent: number[], extra: number[], allowed: (i: number) => boolean) => {
      const pool = rec.pool(s, recent, extra, 60, allowed, 0);
      const out = new Float64Array(pool.length);
      const parts = {
        transition: new Float64Array(pool.length),
        because: new Int32Array(pool.length),
        popularity: new Float64Array(pool.length),
      };
      rec.score(s, pool, undefined, out, parts);
      return { pool, out: Array.from(out), popularity: Array.from(parts.popularity) };
    };
    for (let step = 0; step < 300; step++) {
      // popularity moves (also for the most popular item, which moves every pool's maximum), links now and then
      s.addPopularity(Math.floor(rng() * 60), 1 + Math.floor(rng() * 3), step * 3600);
      if (step % 3 === 0) s.addLink(Math.floor(rng() * 60), Math.floor(rng() * 60), 1, step * 3600);
      const recent = [Math.floor(rng() * 60), Math.floor(rng() * 60)];
      const extra = Array.from({ length: 10 }, () => Math.floor(rng() * 60));
      // excluding the most popular item now and then gives a pool whose maximum is another item's key
      const banned = step % 4 === 0 ? s.topPopular()[0] : -1;
      const allowed = (i: number) => i !== banned;
      expect(scoreWith(cached, recent, extra, allowed)).toEqual(scoreWith(new Recommender({ collabWeight: 0 }), recent, extra, allowed));
    }
  });

  it('links: from each recent item (position-decayed) to the new one, and back at reverseWeight; none to itself', () => {
    const rec = new Recommender({ window: 2, positionDecay: 0.5, reverseWeight: 0.25 });
    expect(rec.links([7, 8, 9], 8)).toEqual([
      { from: 9, to: 8, w: 1 },
      { from: 8, to: 9, w: 0.25 },
    ]);
  });
});
