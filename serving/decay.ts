/**
 * Forward exponential decay for popularity counters (Cormode et al., "Forward Decay"): instead of decaying every
 * stored score as time passes, each increment is weighted by 2^((t − T0) / halfLife) and readers divide by the weight
 * of "now". Scores in a Redis ZSET then need only ZINCRBY, and the ranking is exactly that of decayed counts.
 * T0 is fixed so weights stay inside double range for ±1,000 half-lives around it (±19 years at a 7-day half-life).
 */
export const DECAY_EPOCH_MS = Date.UTC(2024, 0, 1);

/** Default popularity half-life: 7 days. */
export const DEFAULT_HALF_LIFE_MS = 7 * 24 * 3600 * 1000;

export function decayWeight(atMs: number, halfLifeMs: number): number {
  return Math.pow(2, (atMs - DECAY_EPOCH_MS) / halfLifeMs);
}

/** A stored forward-decayed score expressed as the decayed count at `nowMs`. */
export function decayedScore(stored: number, nowMs: number, halfLifeMs: number): number {
  return stored / decayWeight(nowMs, halfLifeMs);
}
