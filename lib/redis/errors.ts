/**
 * The Redis client's errors, converted at its edge into the project's error family (lib/errors.ts): ioredis fails a
 * command when the connection is down or a command errors; either way trying again later may work.
 */
import { DependencyError, LearnstreamError } from '../errors';

export function toRedisError(err: unknown, command: string): LearnstreamError {
  if (err instanceof LearnstreamError) return err;
  return new DependencyError('redis', `redis ${command} failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
}
