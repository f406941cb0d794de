import { dot } from '../content/vector';

/**
 * Maximal marginal relevance (Carbonell & Goldstein 1998): pick greedily the item maximising
 * λ·relevance − (1 − λ)·(max cosine to the items already picked). Relevance is min-max scaled over the pool first so
 * λ means the same whatever the scale of the scores. Items without a vector are never "similar" to anything.
 * Deterministic: ties go to the lower pool index. Returns pool indices in pick order. O(pool × k × dim).
 */
export function mmrSelect(relevance: readonly number[], vectors: readonly (Float32Array | undefined)[], k: number, lambda: number): number[] {
  const n = relevance.length;
  let lo = Infinity, hi = -Infinity;
  for (const r of relevance) [lo, hi] = [Math.min(lo, r), Math.max(hi, r)];
  const span = hi - lo || 1;
  const maxSim = new Float64Array(n);
  const taken = new Uint8Array(n);
  const picked: number[] = [];
  while (picked.length < Math.min(k, n)) {
    let best = -1, bestScore = -Infinity;
    for (let i = 0; i < n; i++) {
      if (taken[i]) continue;
      const s = lambda * ((relevance[i] - lo) / span) - (1 - lambda) * maxSim[i];
      if (s > bestScore) [best, bestScore] = [i, s];
    }
    taken[best] = 1;
    picked.push(best);
    const v = vectors[best];
    if (!v) continue;
    for (let i = 0; i < n; i++) {
      const u = vectors[i];
      if (taken[i] || !u) continue;
      const s = dot(u, v);
      if (s > maxSim[i]) maxSim[i] = s;
    }
  }
  return picked;
}
