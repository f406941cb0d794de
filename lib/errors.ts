/**
 * One error hierarchy for the whole service. Retry logic reads only `retriable` (lib/retry.ts decides, for everyone);
 * HTTP status codes are decided at the HTTP edge (lib/problems.ts), never here. `context` carries where it happened (topic, partition, offset, userId, ...).
 */
export type ErrorContext = Record<string, string | number | boolean | undefined>;

export class LearnstreamError extends Error {
  readonly retriable: boolean;
  readonly context: ErrorContext;
  constructor(message: string, opts: { retriable?: boolean; cause?: unknown; context?: ErrorContext } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.retriable = opts.retriable ?? false;
    this.context = opts.context ?? {};
  }
}

/** Configuration failed validation; `problems` lists every one of them, not just the first. */
export class ConfigError extends LearnstreamError {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
  }
}

/** Input that can never succeed however often it is retried: wrong shape, out-of-range value. */
export class ValidationError extends LearnstreamError {
  constructor(
    message: string,
    readonly issues: string[] = [message],
    context: ErrorContext = {},
  ) {
    super(message, { retriable: false, context });
  }
}

/** A message that must go to the dead-letter topic: undecodable or invalid. `reason` is a stable machine code. */
export class PoisonMessageError extends LearnstreamError {
  constructor(
    readonly reason: string,
    message: string,
    opts: { cause?: unknown; context?: ErrorContext } = {},
  ) {
    super(message, { ...opts, retriable: false });
  }
}

/**
 * The caller may not publish or erase this: a scope it lacks, or an id outside the prefix it is bound to. Never
 * retriable (the same request fails again); `code` is `missing-scope` or `outside-prefix`, `field` names the id field
 * for the latter. The HTTP edge answers 403.
 */
export class ForbiddenError extends LearnstreamError {
  constructor(
    readonly code: 'missing-scope' | 'outside-prefix',
    message: string,
    readonly field?: string,
  ) {
    super(message, { retriable: false });
  }
}

/** A dependency (Kafka, registry, Redis) is unavailable or slow; trying again later may work. */
export class DependencyError extends LearnstreamError {
  constructor(
    readonly dependency: string,
    message: string,
    opts: { cause?: unknown; context?: ErrorContext } = {},
  ) {
    super(message, { ...opts, retriable: true });
  }
}

/**
 * Kafka did not acknowledge a record in time, or at all (retries exhausted on a transient error). `inDoubt`: the record
 * was handed to the broker in at least one request, so it may have been written although no acknowledgement came (a
 * request that timed out, a broker that died after appending); false = it never left this process, so it is not in
 * Kafka and never will be.
 */
export class NotAcknowledgedError extends DependencyError {
  constructor(
    readonly inDoubt: boolean,
    message: string,
    opts: { cause?: unknown; context?: ErrorContext } = {},
  ) {
    super('kafka', message, opts);
  }
}

/**
 * A broken internal invariant: a bug, or parts of one deployment that disagree (vector dimensions, stage modes, a
 * topic without partitions). Never retriable; the process exits with it.
 */
export class InvariantError extends LearnstreamError {
  constructor(message: string, context: ErrorContext = {}) {
    super(message, { retriable: false, context });
  }
}

/** A local prerequisite of the stack is missing: Java, a free port, a download. */
export class PrerequisiteError extends LearnstreamError {
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(hint ? `${message}\n  hint: ${hint}` : message);
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
