import { OnlineCollab } from '../../../../models/collab/model';
import { CollabRecommender } from '../../../../models/eval/adapters';
import type { StreamEvent } from '../../../../models/eval/types';
import { ColdStartRecommender } from '../../../../models/content/cold-start-recommender';
import { normalizeInPlace } from '../../../../models/content/vector';

/** Two content clusters (axes 0 and 1 of an 8-dim space), items 0..9 in cluster A, 10..19 in cluster B. */
const content = Array.from({ length: 22 }, (_, i) => {
  const v = new Float32Array(8);
  v[i < 10 || i === 20 ? 0 : 1] = 1;
  v[2 + (i % 6)] = 0.3;
  return normalizeInPlace(v);
});

function stream(): StreamEvent[] {
  // users 0..9 like cluster A, users 10..19 like cluster B; every user rates 6 items of their cluster, 30 times over
  // so the toy collaborative model has clearly separated the clusters
  const evs: StreamEvent[] = [];
  let t = 0;
  for (let round = 0; round < 6 * 30; round++) {
    for (let u = 0; u < 20; u++) {
      const item = (u < 10 ? 0 : 10) + ((u + (round % 6)) % 10);
      evs.push({ user: u, item, t: t++, kind: 'rating', value: 5 });
    }
  }
  return evs;
}

describe('ColdStartRecommender', () => {
  it('gives a published resource a factor from its text and ranks it for learners of the matching cluster', () => {
    const mf = new OnlineCollab({ dim: 4, seed: 3, lr: 0.1 });
    const rec = new ColdStartRecommender(new CollabRecommender(mf), content, mf, 4, {
      contentWeight: 0,
      map: { minItems: 5, minEvents: 2, contentDim: 8 },
    });
    for (const ev of stream()) rec.learn(ev);
    expect(rec.map!.size).toBe(20);
    rec.publish([20, 21]); // 20 looks like cluster A, 21 like cluster B
    expect(mf.resourceRow('20')).toBeDefined();
    expect(mf.initResource('20')).toBe(false); // existing rows are never overwritten
    const out = new Float64Array(22);
    rec.score(0, out, 22, 1000); // a cluster-A learner
    expect(out[20]).toBeGreaterThan(out[21]);
    rec.score(15, out, 22, 1000); // a cluster-B learner
    expect(out[21]).toBeGreaterThan(out[20]);
  });

  it('without the map, published resources start from the default initialisation and only the content bonus helps', () => {
    const mf = new OnlineCollab({ dim: 4, seed: 3, lr: 0.1 });
    const rec = new ColdStartRecommender(new CollabRecommender(mf), content, mf, 4, { mapFactors: false, contentWeight: 5 });
    for (const ev of stream()) rec.learn(ev);
    rec.publish([20, 21]);
    expect(rec.map).toBeUndefined();
    const out = new Float64Array(22);
    rec.score(0, out, 22, 1000);
    expect(out[20]).toBeGreaterThan(out[21]);
  });
});
