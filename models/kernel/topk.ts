/**
 * Partial top-k selection over a dense score array. Ranking the whole catalogue for every event is the hot loop of
 * prequential evaluation and of the learner stage, so this avoids sorting: one pass with a size-k min-heap, where the
 * common case (score below the current k-th best) costs a single comparison.
 *
 * Ties: equal scores rank the lower index first (deterministic, and "earlier seen" for dense first-appearance ids).
 * Entries equal to -Infinity are never returned (that is how callers exclude items).
 */
export function topK(scores: Float32Array | Float64Array, n: number, k: number, out?: Int32Array): Int32Array {
  const heapIdx = new Int32Array(k);
  const heapVal = new Float64Array(k);
  let size = 0;
  for (let i = 0; i < n; i++) {
    const s = scores[i];
    if (s === -Infinity) continue;
    if (size < k) {
      // sift up: min-heap by (value asc, index desc) so the root is the weakest entry
      let c = size++;
      while (c > 0) {
        const p = (c - 1) >> 1;
        if (heapVal[p] < s || (heapVal[p] === s && heapIdx[p] > i)) break;
        heapVal[c] = heapVal[p];
        heapIdx[c] = heapIdx[p];
        c = p;
      }
      heapVal[c] = s;
      heapIdx[c] = i;
    } else if (s > heapVal[0]) {
      // later indices never win a tie, so strict > is the whole test
      siftDown(heapVal, heapIdx, size, s, i);
    }
  }
  const result = out && out.length >= size ? out.subarray(0, size) : new Int32Array(size);
  // pop the heap into descending order
  for (let pos = size - 1; pos >= 0; pos--) {
    result[pos] = heapIdx[0];
    const lastVal = heapVal[pos];
    const lastIdx = heapIdx[pos];
    if (pos > 0) siftDown(heapVal, heapIdx, pos, lastVal, lastIdx);
  }
  return result;
}

function siftDown(val: Float64Array, idx: Int32Array, size: number, s: number, i: number): void {
  let c = 0;
  for (;;) {
    const l = 2 * c + 1;
    if (l >= size) break;
    let m = l;
    const r = l + 1;
    if (r < size && (val[r] < val[l] || (val[r] === val[l] && idx[r] > idx[l]))) m = r;
    if (val[m] > s || (val[m] === s && idx[m] < i)) break;
    val[c] = val[m];
    idx[c] = idx[m];
    c = m;
  }
  val[c] = s;
  idx[c] = i;
}

/** 1-based rank of `target` among `scores[0..n)` under the same ordering as {@link topK}; 0 when excluded/absent. */
export function rankOf(scores: Float32Array | Float64Array, n: number, target: number): number {
  if (target < 0 || target >= n) return 0;
  const t = scores[target];
  if (t === -Infinity) return 0;
  let rank = 1;
  for (let i = 0; i < n; i++) {
    const s = scores[i];
    if (s > t || (s === t && i < target)) rank++;
  }
  return rank;
}
