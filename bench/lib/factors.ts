import { gaussian, mulberry32, type Rng } from '../../models/random/prng';

/**
 * Synthetic factor matrices shaped like trained matrix-factorisation factors rather than isotropic noise: items and
 * learners belong to latent topics (a few hundred, Zipf-popular), item norms vary log-normally (popular items have
 * larger norms after SGD), plus per-row noise. Candidate generation (IVF) relies on that structure; on isotropic
 * Gaussian vectors no partitioning scheme beats a full scan, and real factors are not isotropic.
 */
export interface FactorSet {
  dim: number;
  topics: Float32Array;
  nTopics: number;
}

export function makeTopics(dim: number, nTopics: number, seed: number): FactorSet {
  const rng = mulberry32(seed);
  const topics = new Float32Array(nTopics * dim);
  for (let i = 0; i < topics.length; i++) topics[i] = gaussian(rng, 1 / Math.sqrt(dim));
  return { dim, topics, nTopics };
}

function zipfTopic(rng: Rng, nTopics: number): number {
  // inverse-CDF of a continuous 1/x law over [1, nTopics+1): a skewed but not degenerate topic popularity
  return Math.min(nTopics - 1, Math.floor(Math.exp(rng() * Math.log(nTopics + 1))) - 1);
}

/** `n` item rows (row-major, `n * dim`). Deterministic for a seed; 1M x 128 takes a few seconds. */
export function makeItems(fs: FactorSet, n: number, seed: number): Float32Array {
  const { dim, topics, nTopics } = fs;
  const rng = mulberry32(seed);
  const out = new Float32Array(n * dim);
  const noise = 0.6 / Math.sqrt(dim);
  for (let i = 0; i < n; i++) {
    const t = zipfTopic(rng, nTopics) * dim;
    const scale = Math.exp(gaussian(rng, 0.3));
    const o = i * dim;
    for (let f = 0; f < dim; f++) out[o + f] = scale * (topics[t + f] + gaussian(rng, noise));
  }
  return out;
}

/** `n` learner rows: a blend of one to three topics plus noise. */
export function makeUsers(fs: FactorSet, n: number, seed: number): Float32Array {
  const { dim, topics, nTopics } = fs;
  const rng = mulberry32(seed);
  const out = new Float32Array(n * dim);
  const noise = 0.5 / Math.sqrt(dim);
  for (let i = 0; i < n; i++) {
    const o = i * dim;
    const m = 1 + Math.floor(rng() * 3);
    for (let j = 0; j < m; j++) {
      const t = zipfTopic(rng, nTopics) * dim;
      const w = 0.4 + rng();
      for (let f = 0; f < dim; f++) out[o + f] += w * topics[t + f];
    }
    for (let f = 0; f < dim; f++) out[o + f] += gaussian(rng, noise);
  }
  return out;
}
