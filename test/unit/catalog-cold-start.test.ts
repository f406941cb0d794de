/**
 * The catalogue stage's learned cold start (pipelines/catalog/cold-start.ts): the models/content ContentFactorMap
 * trained from resources that have both a content vector and trained factors in the item replica. Until enough
 * resources are established it declines (the caller keeps the seeded projection); then a new resource gets the
 * factor its text predicts; resources that leave stop training it; rebuilding from the same rows and vectors (what a
 * restart does) predicts the same.
 */
import { createLogger } from '../../lib/log';
import { cosine, normalizeInPlace } from '../../models/content/vector';
import { mulberry32 } from '../../models/random/prng';
import { LearnedColdStart } from '../../pipelines/catalog/cold-start';
import { ItemTable } from '../../pipelines/model/item-table';

const logger = createLogger({ level: 'error' });
const C = 12; // content dims
const F = 4; // factor dims

/** Resources whose trained factor is a fixed linear function of their text vector, as collaborative training would make of similar texts. */
function world(seed: number) {
  const rng = mulberry32(seed);
  const W = Array.from({ length: F }, () => Float32Array.from({ length: C }, () => rng() * 2 - 1));
  const text = () => normalizeInPlace(Float32Array.from({ length: C }, () => rng() * 2 - 1));
  const factor = (x: Float32Array) => Float32Array.from(W, (w) => w.reduce((s, wk, k) => s + wk * x[k], 0));
  return { text, factor };
}

function setup(n: number, events = 10) {
  const w = world(7);
  const items = new ItemTable(F);
  const content = new Map<string, Float32Array>();
  const cs = new LearnedColdStart({ factorDim: F, items, content: (id) => content.get(id)?.slice(), logger, minItems: 20, foldEveryMs: 0 });
  for (let i = 0; i < n; i++) {
    const x = w.text();
    content.set(`r${i}`, x);
    items.set({ itemId: `r${i}`, factors: w.factor(x), bias: 0.5, count: events, lastT: 0, active: true });
    cs.rowChanged(`r${i}`);
    cs.contentChanged(`r${i}`);
  }
  return { w, items, content, cs };
}

describe('LearnedColdStart', () => {
  it('declines until minItems resources are established, so the caller keeps its projection', () => {
    expect(setup(19).cs.predict(world(7).text())).toBeUndefined();
    // plenty of resources, but with fewer events than minEvents: their factors are initialisation noise
    expect(setup(60, 2).cs.predict(world(7).text())).toBeUndefined();
  });

  it('gives a new resource the factor its text predicts, learned from established resources', () => {
    const { w, cs } = setup(80);
    const x = w.text();
    const p = cs.predict(x)!;
    expect(cs.size).toBe(80);
    expect(cosine(p.vector, w.factor(x))).toBeGreaterThan(0.9);
    expect(p.bias).toBeCloseTo(0.5, 1);
  });

  it('forgets resources that leave the replica or whose content was dropped, and follows moved factors', () => {
    const { w, items, content, cs } = setup(40);
    items.remove('r0');
    cs.rowChanged('r0');
    content.delete('r1');
    cs.contentChanged('r1');
    for (let i = 2; i < 40; i++) {
      const row = items.indexOf(`r${i}`);
      items.factors.set(
        w.factor(content.get(`r${i}`)!).map((v) => -v),
        row * F,
      ); // training turned every factor round
      cs.rowChanged(`r${i}`);
    }
    const x = w.text();
    const p = cs.predict(x)!;
    expect(cs.size).toBe(38);
    expect(cosine(p.vector, w.factor(x))).toBeLessThan(-0.85);
  });

  it('rebuilt from the same replica rows and content vectors (a restart), it predicts the same', () => {
    const a = setup(50);
    const b = setup(50);
    const x = a.w.text();
    expect(Array.from(b.cs.predict(x)!.vector)).toEqual(Array.from(a.cs.predict(x)!.vector));
  });
});
