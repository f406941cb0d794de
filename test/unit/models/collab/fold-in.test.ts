import { gaussian, mulberry32 } from '../../../../models/random/prng';
import { foldIn } from '../../../../models/collab/fold-in';
import { OnlineCollab } from '../../../../models/collab/model';

describe('foldIn (ml-matrix least squares)', () => {
  it('recovers a learner vector from noiseless targets', () => {
    const rng = mulberry32(4);
    const dim = 6;
    const truth = Float32Array.from({ length: dim }, () => gaussian(rng, 1));
    const obs = Array.from({ length: 60 }, () => {
      const vector = Float32Array.from({ length: dim }, () => gaussian(rng, 1));
      let target = 0;
      for (let f = 0; f < dim; f++) target += truth[f] * vector[f];
      return { vector, target, weight: 1 };
    });
    const p = foldIn(obs, dim, 1e-6);
    for (let f = 0; f < dim; f++) expect(p[f]).toBeCloseTo(truth[f], 3);
  });

  it('places a learner so that the resources they engaged with score above the rest', () => {
    const m = new OnlineCollab({ dim: 8, seed: 3 });
    for (let i = 0; i < 50; i++) {
      m.observe({ learnerId: 'seed', resourceId: `r${i}`, kind: 'view', timestamp: 1_000 + i });
    }
    const liked = ['r1', 'r2', 'r3', 'r4', 'r5'].map((resourceId) => ({ resourceId }));
    m.foldInLearner('new', liked);
    const out = new Float64Array(m.resourceCount);
    m.scoreAll('new', 2_000, out);
    const likedIdx = liked.map((l) => m.resourceIndex(l.resourceId)!);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const others = [...out].filter((_, i) => !likedIdx.includes(i));
    expect(mean(likedIdx.map((i) => out[i]))).toBeGreaterThan(mean(others) + 0.1);
    expect(m.learnerEvents('new')).toBe(0);
  });
});
