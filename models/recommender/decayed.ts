/**
 * Exponentially decayed weights kept in the log domain: a weight w added at event time t (seconds) is stored as
 * key = log2(w) + t / halfLife, and sums of keys are log-sum-exp. The decayed value at time T is 2^(key - T / halfLife),
 * so two keys compare the same at every T: order and ratios never need a rescale, nothing overflows, and a key
 * written by one process means the same in every other (no shared reference time). -Infinity = nothing yet.
 */

/** log2(2^a + 2^b) without overflow. */
export function logAdd2(a: number, b: number): number {
  if (a === -Infinity) return b;
  if (b === -Infinity) return a;
  return a > b ? a + Math.log2(1 + Math.pow(2, b - a)) : b + Math.log2(1 + Math.pow(2, a - b));
}

/** The key of weight `w` > 0 added at time `t` (seconds) with the given half-life (seconds). */
export function keyOf(w: number, t: number, halfLifeSeconds: number): number {
  return Math.log2(w) + t / halfLifeSeconds;
}
