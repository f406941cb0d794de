/**
 * Which kafkajs failures mean "the cluster is unavailable or slow now" (worth a retry later, a 503 at the HTTP edge)
 * rather than "Kafka refused this request" (a bug or a misconfiguration). kafkajs marks transient errors (leader
 * moved, request timeout, connection refused or closed) with `retriable: true`, but once its own retries run out it
 * throws KafkaJSNumberOfRetriesExceeded, marked non-retriable, with the transient error as `cause`; and waiting too
 * long for a lock or a broker is a KafkaJSTimeout. Those are outages too.
 */
import { DependencyError, LearnstreamError, type ErrorContext } from '../errors';

const OUTAGE_NAMES = new Set(['KafkaJSNumberOfRetriesExceeded', 'KafkaJSTimeout', 'KafkaJSLockTimeout', 'KafkaJSNoBrokerAvailableError']);

export function kafkaUnavailable(err: unknown): boolean {
  let e: unknown = err;
  for (let depth = 0; depth < 4 && typeof e === 'object' && e !== null; depth++) {
    const x = e as { retriable?: unknown; name?: unknown; cause?: unknown };
    if (x.retriable === true) return true;
    if (typeof x.name === 'string' && OUTAGE_NAMES.has(x.name)) return true;
    e = x.cause;
  }
  return false;
}

/**
 * A kafkajs failure as one of the project's errors: an outage becomes a retriable DependencyError('kafka'), anything
 * else a non-retriable LearnstreamError; the message is kept and the original is the `cause`.
 */
export function toKafkaError(err: unknown, context: ErrorContext = {}): LearnstreamError {
  if (err instanceof LearnstreamError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return kafkaUnavailable(err)
    ? new DependencyError('kafka', message, { cause: err, context })
    : new LearnstreamError(message, { cause: err, context });
}
