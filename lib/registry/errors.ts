/**
 * The registry client's errors, converted at its edge into the project's error family (lib/errors.ts): a definite
 * "not found" is told apart, anything else (network, 5xx, timeouts) is a retriable DependencyError.
 */
import { RestError } from '@confluentinc/schemaregistry';
import { DependencyError } from '../errors';

/** The registry answered 404: the subject, version or id does not exist. */
export function isNotFound(err: unknown): boolean {
  return err instanceof RestError && err.status === 404;
}

/** Anything that is not a definite answer from the registry (network, 5xx, timeouts) is a retriable dependency error. */
export function registryUnavailable(err: unknown, what: string): DependencyError {
  const msg = err instanceof Error ? err.message : String(err);
  return new DependencyError('schema-registry', `${what}: ${msg}`, { cause: err });
}
