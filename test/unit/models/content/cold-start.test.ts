import { gaussian, mulberry32 } from '../../../../models/random/prng';
import { ContentFactorMap } from '../../../../models/content/cold-start';
import { cosine, normalizeInPlace } from '../../../../models/content/vector';

const DC = 48; // small content dim keeps the test fast; the maths is the same at 384
const K = 8;

function fixture(seed: number, n: number) {
  const rng = mulberry32(seed);
  const W = Array.from({ length: DC * K }, () => gaussian(rng, 1));
  const items = Array.from({ length: n }, (_, i) => {
    const x = normalizeInPlace(Float32Array.from({ length: DC }, () => gaussian(rng)));
    const y = new Float32Array(K);
    for (let f = 0; f < K; f++) {
      let s = 0;
      for (let a = 0; a < DC; a++) s += x[a] * W[a * K + f];
      y[f] = s + gaussian(rng, 0.05);
    }
    return { id: `r${i}`, x, y, bias: 0.5 + x[0] };
  });
  return items;
}

describe('ContentFactorMap', () => {
  it('learns a content -> factor map that generalises to unseen resources', () => {
    const items = fixture(7, 400);
    const map = new ContentFactorMap({ contentDim: DC, factorDim: K, lambda: 0.1 });
    for (const it of items.slice(0, 300)) map.observe(it.id, it.x, it.y, it.bias, 10);
    let cos = 0;
    for (const it of items.slice(300)) cos += cosine(map.predict(it.x).vector, it.y);
    expect(cos / 100).toBeGreaterThan(0.9);
    const p = map.predict(items[350].x);
    expect(p.bias).toBeCloseTo(items[350].bias, 1);
  });

  it('tracks moving factors exactly: re-observing replaces the old target', () => {
    const items = fixture(3, 120);
    const online = new ContentFactorMap({ contentDim: DC, factorDim: K, refreshEvery: 1 });
    for (const it of items) online.observe(it.id, it.x, new Float32Array(K).fill(1), 0, 10); // stale targets first
    for (const it of items) online.observe(it.id, it.x, it.y, it.bias, 11);
    const fresh = new ContentFactorMap({ contentDim: DC, factorDim: K, refreshEvery: 1 });
    for (const it of items) fresh.observe(it.id, it.x, it.y, it.bias, 11);
    const probe = items[5].x;
    const a = online.predict(probe);
    const b = fresh.predict(probe);
    for (let f = 0; f < K; f++) expect(a.vector[f]).toBeCloseTo(b.vector[f], 4);
    expect(a.bias).toBeCloseTo(b.bias, 4);
  });

  it('ignores resources below minEvents, forgets on request, and falls back to the mean with few items', () => {
    const items = fixture(5, 30);
    const map = new ContentFactorMap({ contentDim: DC, factorDim: K, minItems: 20, minEvents: 5 });
    map.observe('young', items[0].x, items[0].y, 0, 4);
    expect(map.size).toBe(0);
    expect(Array.from(map.predict(items[0].x).vector)).toEqual(new Array(K).fill(0));
    map.observe('a', items[0].x, new Float32Array(K).fill(2), 1, 5);
    map.observe('b', items[1].x, new Float32Array(K).fill(4), 3, 5);
    const mean = map.predict(items[2].x);
    expect(Array.from(mean.vector)).toEqual(new Array(K).fill(3));
    expect(mean.bias).toBe(2);
    map.forget('a');
    expect(map.size).toBe(1);
    expect(map.predict(items[2].x).bias).toBe(3);
  });

  it('save -> load gives identical predictions, and a learner starts from their interests', () => {
    const items = fixture(11, 100);
    const map = new ContentFactorMap({ contentDim: DC, factorDim: K });
    for (const it of items) map.observe(it.id, it.x, it.y, it.bias, 9);
    map.predict(items[0].x); // solve, then move some factors without reaching refreshEvery: the stale solution is state too
    for (const it of items.slice(0, 10))
      map.observe(
        it.id,
        it.x,
        it.y.map((v) => v * 1.1),
        it.bias,
        10,
      );
    const copy = ContentFactorMap.deserialize(JSON.parse(JSON.stringify(map.serialize())));
    const probe = items[42].x;
    expect(Array.from(copy.predict(probe).vector)).toEqual(Array.from(map.predict(probe).vector));
    expect(copy.predict(probe).bias).toBe(map.predict(probe).bias);
    const learner = map.learnerFromInterests([items[1].x, items[2].x])!;
    // the learner vector scores resources like the interests above resources unlike them
    const like = items[1].y.reduce((s, v, f) => s + v * learner[f], 0);
    const unlike = items.slice(3).reduce((s, it) => s + it.y.reduce((t, v, f) => t + v * learner[f], 0), 0) / 97;
    expect(like).toBeGreaterThan(unlike);
    expect(map.learnerFromInterests([])).toBeUndefined();
  });
});
