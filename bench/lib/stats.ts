/** Small statistics helpers shared by the scenarios. Times are in milliseconds unless a name says otherwise. */

/** Value at quantile q (0..1) of an ascending-sorted array, nearest-rank (what HdrHistogram reports). */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i];
}

export interface Summary {
  n: number;
  mean: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export function summarize(values: ArrayLike<number>): Summary {
  const s = Float64Array.from(values).sort();
  let sum = 0;
  for (let i = 0; i < s.length; i++) sum += s[i];
  return {
    n: s.length,
    mean: s.length ? sum / s.length : NaN,
    p50: quantileSorted(s, 0.5),
    p95: quantileSorted(s, 0.95),
    p99: quantileSorted(s, 0.99),
    max: s.length ? s[s.length - 1] : NaN,
  };
}

export interface Timing {
  /** Median wall-clock ms per call. */
  median: number;
  /** p95 wall-clock ms per call. */
  p95: number;
  /** Median CPU ms per call (user + system of this process): what the code costs when it gets a core. */
  cpu: number;
  reps: number;
}

export interface TimeOptions {
  /** Untimed calls first (default 3; 1 when one call takes over `slowMs`). */
  warmup?: number;
  /** Keep repeating until this much time has passed (default 300 ms)... */
  minMs?: number;
  /** ...but at most this many calls (default 200)... */
  maxReps?: number;
  /** ...and at least this many (default 5; 3 when one call takes over `slowMs`). */
  minReps?: number;
  /** A call slower than this (ms, default 100) gets the short schedule: the machine is shared, runs must stay short. */
  slowMs?: number;
}

/** CPU ms of this process so far (all threads: onnxruntime's pool is counted too). */
export function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/**
 * Times `fn`: the per-call median (robust on a shared, noisy machine) and p95 of wall time, and the median CPU time.
 * On this 2-core machine shared with other work, wall time includes waiting for a core; CPU time does not, so both
 * are reported: on an idle machine single-threaded code has wall ~= CPU.
 */
export async function timeAsync(fn: () => unknown, opts: TimeOptions = {}): Promise<Timing> {
  const a0 = performance.now();
  await fn();
  const slow = performance.now() - a0 > (opts.slowMs ?? 100);
  const warmup = slow ? 0 : (opts.warmup ?? 3);
  const minMs = opts.minMs ?? 300;
  const maxReps = opts.maxReps ?? 200;
  const minReps = slow ? Math.min(3, opts.minReps ?? 3) : (opts.minReps ?? 5);
  for (let i = 0; i < warmup; i++) await fn();
  const wall: number[] = [];
  const cpu: number[] = [];
  const t0 = performance.now();
  while (wall.length < maxReps && (wall.length < minReps || performance.now() - t0 < minMs)) {
    const c = cpuMs();
    const a = performance.now();
    await fn();
    wall.push(performance.now() - a);
    cpu.push(cpuMs() - c);
  }
  const s = summarize(wall);
  return { median: s.p50, p95: s.p95, cpu: summarize(cpu).p50, reps: wall.length };
}

/** Rounds for display/JSON without trailing noise: 3 significant digits below 100, integers above. */
export function round(x: number): number {
  if (!Number.isFinite(x)) return x;
  if (Math.abs(x) >= 100) return Math.round(x);
  return Number(x.toPrecision(3));
}
