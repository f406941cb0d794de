/** Small dense-vector helpers for content vectors (unit-length Float32Array, typically 384 dims). */

export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** Scales `v` to unit L2 length in place (a zero vector stays zero); returns it. */
export function normalizeInPlace(v: Float32Array): Float32Array {
  let n = 0;
  for (let i = 0; i < v.length; i++) n += v[i] * v[i];
  n = Math.sqrt(n);
  // sentence-transformers' Normalize uses max(norm, 1e-12): same guard
  if (n > 1e-12) for (let i = 0; i < v.length; i++) v[i] /= n;
  return v;
}

/** Cosine similarity; 0 when either vector is zero. */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ab = 0,
    aa = 0,
    bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return aa === 0 || bb === 0 ? 0 : ab / Math.sqrt(aa * bb);
}

/** Mean of vectors (optionally weighted), L2-normalised: the centroid direction of a set of content vectors. */
export function meanDirection(vectors: readonly Float32Array[], weights?: readonly number[]): Float32Array | undefined {
  if (vectors.length === 0) return undefined;
  const out = new Float32Array(vectors[0].length);
  vectors.forEach((v, j) => {
    const w = weights ? weights[j] : 1;
    for (let i = 0; i < out.length; i++) out[i] += w * v[i];
  });
  return normalizeInPlace(out);
}
