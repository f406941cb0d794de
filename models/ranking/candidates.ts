import { topK } from '../kernel';

/**
 * The candidate pool for one learner: the `k` best resources by collaborative score (one pass of the kernel's partial
 * top-k over the whole catalogue) plus resources that must get a chance whatever their score (new resources, popular
 * in the learner's interests, next steps after recent ones). Excluded resources (completed) are removed before the
 * top-k, so they never take a slot. Mutates `scores` at the excluded indices (-Infinity). Returns indices, best first,
 * then the extras in the order given.
 */
export function preselect(
  scores: Float64Array | Float32Array,
  n: number,
  k: number,
  exclude: Iterable<number> = [],
  extra: Iterable<number> = [],
): number[] {
  for (const i of exclude) if (i >= 0 && i < n) scores[i] = -Infinity;
  const top = Array.from(topK(scores, n, k));
  const seen = new Set(top);
  for (const i of extra) {
    if (i < 0 || i >= n || seen.has(i) || scores[i] === -Infinity) continue;
    seen.add(i);
    top.push(i);
  }
  return top;
}
