import { selectKth, sortNumbers } from '../ranking/order';
import { topK } from './topk';

/** Rows shorter than this (or with k above a quarter of them) go to the heap: the sample would not pay for itself. */
const MIN_ROW = 2048;
/** Every STRIDE-th score is sampled for the threshold guess. */
const STRIDE = 16;
/** The guess aims at this many times k above it, so that fewer than k (the fallback) is rare. */
const MARGIN = 1.5;

/** Collected keys beyond k above which the k-th is selected before sorting (a selection costs ~2 passes). */
const SELECT_SLACK = 32;
/** Indices below this fit beside a float32's 32 bits in a double's 53-bit integers. */
const INDEX_SPAN = 2 ** 21;

let keys = new Float64Array(0);
let sample = new Float64Array(0);

/**
 * `topK(scores.subarray(at, at + n), n, k)` exactly (best first, ties to the lower index, -Infinity never returned),
 * for long rows and large k, where the heap's sift-downs dominate (k = 300 over 10k rows: most of what onnxruntime's
 * TopK or the heap spend). A threshold is guessed from a strided sample so that about 1.5k scores lie at or above it;
 * one pass collects those as packed (score bits, index) keys, the k-th of them is selected and only the best k are
 * sorted. Whenever fewer than k reach the guess, the guess was not below
 * the k-th best and the row goes to the heap instead; so does any row holding a NaN (the heap's own order for it).
 * Exact because every score of the top k, and every score tied with the k-th, is at or above the k-th best, which
 * is at or above the guess when at least k scores reach it.
 */
export function topKSelect(scores: Float32Array, at: number, n: number, k: number): Int32Array {
  if (k <= 0 || n < MIN_ROW || 4 * k > n || n > INDEX_SPAN) return topK(at === 0 ? scores : scores.subarray(at, at + n), n, k);
  const s = Math.floor(n / STRIDE);
  if (sample.length < s) sample = new Float64Array(s);
  let m = 0;
  for (let i = 0; i < s; i++) {
    const x = scores[at + i * STRIDE];
    if (x !== x) return topK(scores.subarray(at, at + n), n, k);
    if (x !== -Infinity) sample[m++] = x;
  }
  // the r-th best of the sample: about r * STRIDE scores of the row lie at or above it
  const r = Math.ceil((MARGIN * k) / STRIDE);
  if (m < r) return topK(scores.subarray(at, at + n), n, k);
  const guess = selectKth(sample, m, m - r);
  if (keys.length < n) keys = new Float64Array(n);
  const bits = bitsOf(scores);
  let c = 0;
  for (let i = 0; i < n; i++) {
    const x = scores[at + i];
    // !(x < guess): at or above the guess, or NaN
    if (!(x < guess)) {
      if (x !== x) return topK(scores.subarray(at, at + n), n, k);
      keys[c++] = orderKey(bits[at + i], i);
    }
  }
  if (c < k) return topK(scores.subarray(at, at + n), n, k);
  // one number per entry whose ascending order is (score descending, index ascending), sorted without a comparator;
  // only the best k need it: a selection of the k-th key first when the guess let many more through (keys are unique)
  let sorted = c;
  if (c > k + SELECT_SLACK) {
    selectKth(keys, c, k - 1);
    sorted = k;
  }
  sortNumbers(keys, 0, sorted);
  const out = new Int32Array(k);
  // the index: key - floor(key / span) * span, exact below 2^53 with a power-of-two span (a float % is an fmod call)
  for (let r = 0; r < k; r++) {
    const key = keys[r];
    out[r] = key - Math.floor(key / INDEX_SPAN) * INDEX_SPAN;
  }
  return out;
}

/** An Int32Array over the same memory as the last score array seen (the batch's score matrix, reused per learner). */
let bitView: Int32Array<ArrayBufferLike> = new Int32Array(0);
function bitsOf(scores: Float32Array): Int32Array {
  if (bitView.buffer !== scores.buffer || bitView.byteOffset !== scores.byteOffset || bitView.length !== scores.length)
    bitView = new Int32Array(scores.buffer, scores.byteOffset, scores.length);
  return bitView;
}

/**
 * (score, index) as one integer below 2^53 that sorts ascending in the order (score descending, then index
 * ascending), from the score's float32 bits `v` (as int32): a non-negative float (v >= 0) larger in value is larger in
 * bits, so 2^31 - 1 - v; a negative one (v < 0) is more negative with larger unsigned bits, so v as unsigned, which
 * lies above every non-negative key. Times INDEX_SPAN, plus the index. -0 (v = -2^31) counts as 0 (they tie, as the
 * heap compares them).
 */
function orderKey(v: number, i: number): number {
  const key = v >= 0 ? 0x7fffffff - v : v === -0x80000000 ? 0x7fffffff : v >>> 0;
  return key * INDEX_SPAN + i;
}

let copy = new Float64Array(0);

/**
 * The set `topK(scores, n, k)` returns, in index order instead of best first: for a caller whose result does not
 * depend on the order it is handed its candidates in (the learner stage's rank() input: models/ranking sorts by
 * relevance, ties by id). O(n): one selection of the k-th best, one pass; ties at the k-th best go to the lower
 * indices, -Infinity is never returned, and a NaN anywhere keeps topK (whose order NaN defines).
 */
export function bestKUnordered(scores: Float64Array, n: number, k: number): Int32Array {
  if (copy.length < n) copy = new Float64Array(Math.max(n, 2 * copy.length));
  let c = 0;
  for (let i = 0; i < n; i++) {
    const x = scores[i];
    if (x !== x) return topK(scores, n, k);
    if (x !== -Infinity) copy[c++] = x;
  }
  const want = Math.min(k, c);
  const out = new Int32Array(Math.max(0, want));
  if (want <= 0) return out;
  // the k-th best; above it everything is in, at it the lowest indices until k
  const kth = selectKth(copy, c, c - want);
  let above = 0;
  for (let i = 0; i < n; i++) if (scores[i] > kth) above++;
  let ties = want - above;
  let r = 0;
  for (let i = 0; i < n; i++) {
    const x = scores[i];
    if (x > kth || (x === kth && ties-- > 0)) out[r++] = i;
  }
  return out;
}
