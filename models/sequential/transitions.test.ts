import { mulberry32 } from '../random/prng';
import { ItemTransitions } from './transitions';

function scores(tr: ItemTransitions, user: number, n: number): Float64Array {
  const out = new Float64Array(n);
  tr.addScores(user, out, n);
  return out;
}

describe('ItemTransitions', () => {
  it('ranks what others did next after the learner\'s last item', () => {
    const tr = new ItemTransitions({ window: 3, reverseWeight: 0 });
    // many learners go 1 -> 2 -> 3; learner 9 just did 1
    for (let u = 0; u < 5; u++) [1, 2, 3].forEach((item, k) => tr.observe(u, item, 100 * u + k));
    tr.observe(9, 1, 1000);
    const s = scores(tr, 9, 5);
    expect(s[2]).toBeGreaterThan(s[3]);
    expect(s[3]).toBeGreaterThan(0);
    expect(s[4]).toBe(0);
    expect(tr.addScores(42, new Float64Array(5), 5)).toBe(false);
  });

  it('older links weigh less (time decay)', () => {
    const tr = new ItemTransitions({ window: 1, reverseWeight: 0, halfLifeSeconds: 100 });
    tr.observe(0, 0, 0);
    tr.observe(0, 1, 0); // 0 -> 1, long ago
    tr.observe(1, 0, 1000);
    tr.observe(1, 2, 1000); // 0 -> 2, recent
    tr.observe(2, 0, 1000);
    const s = scores(tr, 2, 3);
    expect(s[2] / s[1]).toBeCloseTo(Math.pow(2, 10), 6);
  });

  it('observe equals linksFor + applyLinks, and save -> load scores identically', () => {
    const rng = mulberry32(5);
    const a = new ItemTransitions();
    const b = new ItemTransitions();
    const recent: number[][] = [];
    for (let e = 0; e < 3000; e++) {
      const u = Math.floor(rng() * 30);
      const item = Math.floor(rng() * 200);
      const t = e * 3600;
      a.observe(u, item, t);
      recent[u] ??= [];
      b.applyLinks(b.linksFor(recent[u], item, t));
      b.observe(u, item, t, false); // history only
      recent[u].push(item);
      if (recent[u].length > b.window) recent[u].shift();
    }
    for (const u of [0, 7, 29]) expect(scores(b, u, 200)).toEqual(scores(a, u, 200));
    const restored = ItemTransitions.deserialize(JSON.parse(JSON.stringify(a.serialize())));
    for (const u of [0, 7, 29]) expect(scores(restored, u, 200)).toEqual(scores(a, u, 200));
  });
});
