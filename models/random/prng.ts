/**
 * Small seeded PRNGs. Models must be deterministic under a seed, and in the pipeline the same learner's events may be
 * processed by different instances over time, so randomness is derived from (seed, key, counter) rather than from one
 * global stream whose position would depend on how partitions interleave.
 */

/** A function returning uniform floats in [0, 1). */
export type Rng = () => number;

/** mulberry32: 32-bit state, fast, good enough for sampling negatives and initialising factors. */
export function mulberry32(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** FNV-1a over a string, mixed with a numeric seed; used to derive per-key seeds. */
export function hashString(s: string, seed = 0): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  // final avalanche so that nearby keys give unrelated seeds
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}

/** A PRNG for one (seed, key, counter) triple: the same triple always yields the same sequence. */
export function keyedRng(seed: number, key: string, counter: number): Rng {
  return mulberry32(hashString(key, (seed ^ Math.imul(counter + 1, 0x9e3779b1)) >>> 0));
}

/** Standard normal sample (Box-Muller), scaled by `std`. */
export function gaussian(rng: Rng, std = 1): number {
  let u = rng();
  if (u < 1e-12) u = 1e-12;
  const v = rng();
  return std * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}
