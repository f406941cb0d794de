/**
 * Sorting and selection over typed arrays for the re-rank's hot path, with the comparisons written inline: the
 * built-in sorts either call a comparator per comparison (Array.prototype.sort) or are slower than this for a few
 * hundred doubles (TypedArray.prototype.sort), and the learner stage sorts several candidate pools per event.
 * None of these accept NaN keys: callers check and keep the built-in path for them, whose NaN handling they define.
 */

/** Below this length a range is finished by insertion sort. */
const SMALL = 16;

/** The median of three keys: the pivot of both partitions below. */
function median3(a: number, b: number, c: number): number {
  return a < b ? (b < c ? b : a < c ? c : a) : a < c ? a : b < c ? c : b;
}

/**
 * Sorts `keys[lo, hi)` ascending, moving `ids` with them. Equal keys (by ===, so -0 equals 0) end up adjacent in no
 * particular order: for callers that only need the runs of equal values. Three-way partitions, so long runs of equal
 * keys (popularity counts) cost linear time.
 */
export function sortPairs(keys: Float64Array, ids: Int32Array, lo: number, hi: number): void {
  while (hi - lo > SMALL) {
    const p = median3(keys[lo], keys[(lo + hi) >>> 1], keys[hi - 1]);
    let lt = lo;
    let i = lo;
    let gt = hi - 1;
    while (i <= gt) {
      const x = keys[i];
      if (x < p) {
        swap(keys, ids, lt++, i++);
      } else if (x > p) {
        swap(keys, ids, i, gt--);
      } else {
        i++;
      }
    }
    // recurse into the smaller side, loop on the larger: stack depth O(log n)
    if (lt - lo < hi - gt - 1) {
      sortPairs(keys, ids, lo, lt);
      lo = gt + 1;
    } else {
      sortPairs(keys, ids, gt + 1, hi);
      hi = lt;
    }
  }
  for (let i = lo + 1; i < hi; i++) {
    const k = keys[i];
    const id = ids[i];
    let j = i - 1;
    while (j >= lo && keys[j] > k) {
      keys[j + 1] = keys[j];
      ids[j + 1] = ids[j];
      j--;
    }
    keys[j + 1] = k;
    ids[j + 1] = id;
  }
}

/**
 * Sorts `keys[lo, hi)` ascending in place (no NaN): the built-in TypedArray sort boxes every element first, which
 * costs more than sorting a few hundred doubles here (the candidate kernel's selection sorts its packed keys with it).
 */
export function sortNumbers(keys: Float64Array, lo: number, hi: number): void {
  while (hi - lo > SMALL) {
    const p = median3(keys[lo], keys[(lo + hi) >>> 1], keys[hi - 1]);
    let i = lo;
    let j = hi - 1;
    // Hoare partition around the value p: [lo, j] <= p <= [i, hi)
    for (;;) {
      while (keys[i] < p) i++;
      while (keys[j] > p) j--;
      if (i >= j) break;
      const t = keys[i];
      keys[i++] = keys[j];
      keys[j--] = t;
    }
    const mid = j + 1;
    if (mid - lo < hi - mid) {
      sortNumbers(keys, lo, mid);
      lo = mid;
    } else {
      sortNumbers(keys, mid, hi);
      hi = mid;
    }
  }
  insertionSort(keys, lo, hi);
}

/** Sorts `values[lo, hi)` ascending in place by insertion: the small ranges of sortNumbers and selectKth. */
function insertionSort(values: Float64Array, lo: number, hi: number): void {
  for (let i = lo + 1; i < hi; i++) {
    const x = values[i];
    let j = i - 1;
    while (j >= lo && values[j] > x) {
      values[j + 1] = values[j];
      j--;
    }
    values[j + 1] = x;
  }
}

function swap(keys: Float64Array, ids: Int32Array, i: number, j: number): void {
  const k = keys[i];
  keys[i] = keys[j];
  keys[j] = k;
  const id = ids[i];
  ids[i] = ids[j];
  ids[j] = id;
}

/**
 * The value at ascending position `k` (0-based) of `values[0, n)`, as a full ascending sort would place it;
 * reorders `values`. Quickselect with three-way partitions: O(n) expected.
 */
export function selectKth(values: Float64Array, n: number, k: number): number {
  let lo = 0;
  let hi = n;
  for (;;) {
    if (hi - lo <= SMALL) {
      insertionSort(values, lo, hi);
      return values[k];
    }
    const p = median3(values[lo], values[(lo + hi) >>> 1], values[hi - 1]);
    let lt = lo;
    let i = lo;
    let gt = hi - 1;
    while (i <= gt) {
      const x = values[i];
      if (x < p) {
        values[i++] = values[lt];
        values[lt++] = x;
      } else if (x > p) {
        values[i] = values[gt];
        values[gt--] = x;
      } else {
        i++;
      }
    }
    if (k < lt) hi = lt;
    else if (k > gt) lo = gt + 1;
    else return p;
  }
}

/**
 * Sorts `order[lo, hi)` (candidate indices) by relevance descending, ties by id ascending: the order of the
 * comparator `rel[b] - rel[a] || (id[a] < id[b] ? -1 : 1)` over unique ids and NaN-free relevance, where it is a
 * strict total order, so every correct sort gives this same result. `keys` holds `rel[order[i]]` and moves along.
 */
export function sortByRelevance(
  keys: Float64Array,
  order: Int32Array,
  lo: number,
  hi: number,
  ids: readonly { resourceId: string }[],
): void {
  while (hi - lo > SMALL) {
    const j = partition(keys, order, lo, hi, ids);
    if (j - lo < hi - j - 1) {
      sortByRelevance(keys, order, lo, j, ids);
      lo = j + 1;
    } else {
      sortByRelevance(keys, order, j + 1, hi, ids);
      hi = j;
    }
  }
  for (let i = lo + 1; i < hi; i++) {
    const k = keys[i];
    const o = order[i];
    let j = i - 1;
    while (j >= lo && precedes(k, o, keys[j], order[j], ids)) {
      keys[j + 1] = keys[j];
      order[j + 1] = order[j];
      j--;
    }
    keys[j + 1] = k;
    order[j + 1] = o;
  }
}

/**
 * One quicksort step over `[lo, hi)` (more than SMALL entries) in {@link sortByRelevance}'s order: the median of three
 * as pivot, a Hoare-style partition; returns the pivot's final index j ([lo, j) precede it, (j, hi) follow it).
 * Shared by the sort and {@link selectByRelevance}, so both split on the same pivots.
 */
function partition(keys: Float64Array, order: Int32Array, lo: number, hi: number, ids: readonly { resourceId: string }[]): number {
  const mid = (lo + hi) >>> 1;
  // median of three by the same order, moved to lo as the pivot
  if (before(keys, order, ids, mid, lo)) swap(keys, order, mid, lo);
  if (before(keys, order, ids, hi - 1, lo)) swap(keys, order, hi - 1, lo);
  if (before(keys, order, ids, hi - 1, mid)) swap(keys, order, hi - 1, mid);
  // now keys[lo] <= keys[mid] <= keys[hi-1] in the order: the median to lo
  swap(keys, order, lo, mid);
  const pk = keys[lo];
  const po = order[lo];
  // no two elements are equal in this order, so only two sides
  let i = lo + 1;
  let j = hi - 1;
  for (;;) {
    while (i <= j && precedes(keys[i], order[i], pk, po, ids)) i++;
    while (i <= j && precedes(pk, po, keys[j], order[j], ids)) j--;
    if (i >= j) break;
    swap(keys, order, i++, j--);
  }
  swap(keys, order, lo, j);
  return j;
}

/** Candidate a (relevance ra) goes before b: higher relevance first, then the lower id (read only on a tie). */
function precedes(ra: number, a: number, rb: number, b: number, ids: readonly { resourceId: string }[]): boolean {
  return ra > rb || (ra === rb && ids[a].resourceId < ids[b].resourceId);
}

function before(keys: Float64Array, order: Int32Array, ids: readonly { resourceId: string }[], a: number, b: number): boolean {
  return precedes(keys[a], order[a], keys[b], order[b], ids);
}

/**
 * Moves the first `k` of `order[lo, hi)` in {@link sortByRelevance}'s order (relevance descending, ties by id) into
 * `order[lo, lo + k)`, in no particular order, the rest after: a quickselect with the same pivots and partition, so
 * sorting the prefix then gives exactly the first `k` entries a full sort gives (the order is a strict total order).
 */
export function selectByRelevance(
  keys: Float64Array,
  order: Int32Array,
  lo: number,
  hi: number,
  k: number,
  ids: readonly { resourceId: string }[],
): void {
  const t = lo + k;
  if (k <= 0 || t >= hi) return;
  while (hi - lo > SMALL) {
    const j = partition(keys, order, lo, hi, ids);
    // [lo, j) precede the pivot at j, (j, hi) follow it
    if (j === t || j + 1 === t) return;
    if (j > t) hi = j;
    else lo = j + 1;
  }
  // a short range: sorted, which places its share of the first k too
  sortByRelevance(keys, order, lo, hi, ids);
}
