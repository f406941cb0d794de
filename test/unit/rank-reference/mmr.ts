/**
 * Maximal marginal relevance (Carbonell & Goldstein 1998): pick greedily the item maximising
 * λ·relevance − (1 − λ)·(max cosine to the items already picked). Relevance is min-max scaled over the pool first so
 * λ means the same whatever the scale of the scores. Items without a vector (or with a zero one) are never "similar"
 * to anything. Vectors need not be unit length: they are normalised here once, into one contiguous block, so the
 * O(pool × k × dim) inner loop runs over adjacent memory (and callers can pass raw factor rows without copying).
 * Deterministic: ties go to the lower pool index. Returns pool indices in pick order.
 */
export function mmrSelect(
  relevance: ArrayLike<number>,
  vectors: readonly (ArrayLike<number> | undefined)[],
  k: number,
  lambda: number,
): number[] {
  const n = relevance.length;
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < n; i++) {
    if (relevance[i] < lo) lo = relevance[i];
    if (relevance[i] > hi) hi = relevance[i];
  }
  const span = hi - lo || 1;
  const scaled = new Float64Array(n);
  for (let i = 0; i < n; i++) scaled[i] = lambda * ((relevance[i] - lo) / span);
  let dim = 0;
  for (const v of vectors) if (v && v.length > dim) dim = v.length;
  const unit = new Float64Array(n * dim);
  const has = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const v = vectors[i];
    if (!v) continue;
    let norm = 0;
    for (let d = 0; d < v.length; d++) norm += v[d] * v[d];
    if (norm === 0) continue;
    const inv = 1 / Math.sqrt(norm);
    for (let d = 0, o = i * dim; d < v.length; d++, o++) unit[o] = v[d] * inv;
    has[i] = 1;
  }
  // Lazy greedy, same picks as the eager loop: a candidate's max similarity only grows as items are picked, so its
  // score from a stale maxSim is an upper bound. Only the best-bounded candidate is brought up to date (dots with the
  // items picked since its last update); when it is up to date it is the pick. Most of the pool never needs updating.
  const maxSim = new Float64Array(n);
  const upTo = new Int32Array(n);
  const taken = new Uint8Array(n);
  const picked: number[] = [];
  const want = Math.min(k, n);
  const penalty = 1 - lambda;
  while (picked.length < want) {
    let best = -1;
    let bestScore = -Infinity;
    for (let i = 0; i < n; i++) {
      if (taken[i]) continue;
      const s = scaled[i] - penalty * maxSim[i];
      if (s > bestScore) {
        best = i;
        bestScore = s;
      }
    }
    if (best < 0) break;
    if (has[best] && upTo[best] < picked.length) {
      const a = best * dim;
      for (let r = upTo[best]; r < picked.length; r++) {
        const p = picked[r];
        if (!has[p]) continue;
        const s = dotAt(unit, a, p * dim, dim);
        if (s > maxSim[best]) maxSim[best] = s;
      }
      upTo[best] = picked.length;
      continue; // its score may have dropped: choose again
    }
    taken[best] = 1;
    picked.push(best);
  }
  return picked;
}

/** Dot product of two rows of one block, four accumulators (the MMR inner loop). */
function dotAt(m: Float64Array, a: number, b: number, dim: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let d = 0;
  for (; d + 3 < dim; d += 4) {
    s0 += m[a + d] * m[b + d];
    s1 += m[a + d + 1] * m[b + d + 1];
    s2 += m[a + d + 2] * m[b + d + 2];
    s3 += m[a + d + 3] * m[b + d + 3];
  }
  for (; d < dim; d++) s0 += m[a + d] * m[b + d];
  return s0 + s1 + (s2 + s3);
}
