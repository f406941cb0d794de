/**
 * Maximal marginal relevance (Carbonell & Goldstein 1998): pick greedily the item maximising
 * λ·relevance − (1 − λ)·(max cosine to the items already picked). Relevance is min-max scaled over the pool first so
 * λ means the same whatever the scale of the scores. Items without a vector (or with a zero one) are never "similar"
 * to anything. Vectors need not be unit length: they are normalised here (once, when first needed) into one contiguous block, so the
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
  const b = buffers(n, longest(vectors));
  const scaled = b.scaled;
  for (let i = 0; i < n; i++) scaled[i] = lambda * ((relevance[i] - lo) / span);
  const dim = b.dim;
  // Rows are normalised on first use (state 0 = not yet, 1 = unit row ready, 2 = no vector or a zero one): the lazy
  // greedy below touches only the candidates it brings up to date or picks, typically well under half the pool.
  const { unit, state } = b;
  const has = (i: number): boolean => {
    if (state[i] === 0) state[i] = normaliseRow(vectors[i], unit, i * dim) ? 1 : 2;
    return state[i] === 1;
  };
  // Lazy greedy, same picks as the eager loop: a candidate's max similarity only grows as items are picked, so its
  // score from a stale maxSim is an upper bound. Only the best-bounded candidate is brought up to date (dots with the
  // items picked since its last update); when it is up to date it is the pick. Most of the pool never needs updating.
  const { maxSim, upTo } = b;
  const picked: number[] = [];
  const want = Math.min(k, n);
  const penalty = 1 - lambda;
  // The best bound is kept in a max-heap ordered by (score desc, index asc): the same candidate a scan for the first
  // strictly greater score picks, in O(log n) instead of O(n) per step. Scores must be finite for that order to hold;
  // NaN or infinite relevance keeps the scan, whose comparisons define what happens then.
  let finite = true;
  for (let i = 0; i < n; i++) if (!Number.isFinite(scaled[i])) finite = false;
  if (!finite) return scanSelect(scaled, maxSim, upTo, picked, want, penalty, has, unit, dim);
  const { score, heap } = b;
  for (let i = 0; i < n; i++) {
    score[i] = scaled[i] - penalty * maxSim[i];
    heap[i] = i;
  }
  let size = n;
  for (let i = (size >>> 1) - 1; i >= 0; i--) siftDown(heap, size, score, i);
  while (picked.length < want && size > 0) {
    const best = heap[0];
    if (upTo[best] < picked.length && has(best)) {
      catchUp(best, picked, upTo, maxSim, has, unit, dim);
      // its score may have dropped: back into place, choose again
      score[best] = scaled[best] - penalty * maxSim[best];
      siftDown(heap, size, score, 0);
      continue;
    }
    picked.push(best);
    heap[0] = heap[--size];
    siftDown(heap, size, score, 0);
  }
  return picked;
}

/** Writes v / |v| into unit[at ...]; false for a missing or zero vector. */
function normaliseRow(v: ArrayLike<number> | undefined, unit: Float64Array, at: number): boolean {
  if (!v) return false;
  let norm = 0;
  for (let d = 0; d < v.length; d++) norm += v[d] * v[d];
  if (norm === 0) return false;
  const inv = 1 / Math.sqrt(norm);
  for (let d = 0, o = at; d < v.length; d++, o++) unit[o] = v[d] * inv;
  return true;
}

/** heap[i] goes before heap[j]: the higher score, ties to the lower pool index. */
function siftDown(heap: Int32Array, size: number, score: Float64Array, i: number): void {
  const x = heap[i];
  const sx = score[x];
  for (;;) {
    let c = 2 * i + 1;
    if (c >= size) break;
    let y = heap[c];
    let sy = score[y];
    if (c + 1 < size) {
      const z = heap[c + 1];
      const sz = score[z];
      if (sz > sy || (sz === sy && z < y)) {
        c++;
        y = z;
        sy = sz;
      }
    }
    if (sx > sy || (sx === sy && x < y)) break;
    heap[i] = y;
    i = c;
  }
  heap[i] = x;
}

/** The scan form of the lazy greedy (any scores, NaN included: a NaN score is never the best). */
function scanSelect(
  scaled: Float64Array,
  maxSim: Float64Array,
  upTo: Int32Array,
  picked: number[],
  want: number,
  penalty: number,
  has: (i: number) => boolean,
  unit: Float64Array,
  dim: number,
): number[] {
  const n = scaled.length;
  const taken = new Uint8Array(n);
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
    if (has(best) && upTo[best] < picked.length) {
      catchUp(best, picked, upTo, maxSim, has, unit, dim);
      continue; // its score may have dropped: choose again
    }
    taken[best] = 1;
    picked.push(best);
  }
  return picked;
}

/** Brings candidate i's max similarity up to date with the items picked since its last update (both greedy forms). */
function catchUp(
  i: number,
  picked: readonly number[],
  upTo: Int32Array,
  maxSim: Float64Array,
  has: (i: number) => boolean,
  unit: Float64Array,
  dim: number,
): void {
  const a = i * dim;
  for (let r = upTo[i]; r < picked.length; r++) {
    const p = picked[r];
    if (!has(p)) continue;
    const s = dotAt(unit, a, p * dim, dim);
    if (s > maxSim[i]) maxSim[i] = s;
  }
  upTo[i] = picked.length;
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

/** The longest vector's length: rows are padded to it (shorter vectors compare on their own dimensions). */
function longest(vectors: readonly (ArrayLike<number> | undefined)[]): number {
  let d = 0;
  for (const v of vectors) if (v && v.length > d) d = v.length;
  return d;
}

/**
 * Scratch reused across calls (mmrSelect is synchronous and nothing of it escapes but the picks): the learner stage
 * runs it on every re-rank. Views of the first n (n × dim) entries, zeroed where the algorithm expects zeros.
 */
let f64 = new Float64Array(0);
let i32 = new Int32Array(0);
let u8 = new Uint8Array(0);
function buffers(n: number, dim: number) {
  if (f64.length < n * (dim + 3)) f64 = new Float64Array(Math.max(n * (dim + 3), 2 * f64.length));
  if (i32.length < 2 * n) i32 = new Int32Array(Math.max(2 * n, 2 * i32.length));
  if (u8.length < n) u8 = new Uint8Array(Math.max(n, 2 * u8.length));
  const unit = f64.subarray(0, n * dim).fill(0);
  const scaled = f64.subarray(n * dim, n * dim + n);
  const maxSim = f64.subarray(n * dim + n, n * dim + 2 * n).fill(0);
  const score = f64.subarray(n * dim + 2 * n, n * dim + 3 * n);
  const upTo = i32.subarray(0, n).fill(0);
  const heap = i32.subarray(n, 2 * n);
  const state = u8.subarray(0, n).fill(0);
  return { dim, unit, scaled, maxSim, score, upTo, heap, state };
}
