/** When a crashed child of `npm start` is started again. */
export interface RestartPolicy {
  /** Delay before the first restart, ms. Default 1,000. */
  initialMs: number;
  /** The delay doubles with every crash in a row, up to this, ms. Default 30,000. */
  maxMs: number;
  /** A child that ran at least this long before it died starts again from `initialMs`, ms. Default 60,000. */
  resetAfterMs: number;
}

export const DEFAULT_RESTART: RestartPolicy = { initialMs: 1000, maxMs: 30_000, resetAfterMs: 60_000 };

/**
 * Delay before restart number `failures + 1` of a crash loop: initialMs · 2^failures, capped at maxMs. No jitter: the
 * children of one supervisor share no resource that a synchronized restart could overload (each has its own port).
 */
export function backoffMs(policy: RestartPolicy, failures: number): number {
  return Math.min(policy.maxMs, policy.initialMs * 2 ** Math.min(failures, 30));
}
