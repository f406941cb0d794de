/**
 * The one place that decides whether a failure is worth trying again, and the retry loop that reads only that answer.
 * A project error (lib/errors.ts) says so itself (`retriable`); a client error that reached us unconverted is judged
 * by its client's own classification at the edge (lib/kafka/errors.ts: kafkajs' `retriable` flag and its outage
 * errors). Every retry in the code (stage runner, publisher, admin calls, HTTP edge) asks isRetriable.
 */
import { LearnstreamError } from './errors';
import { kafkaUnavailable, toKafkaError } from './kafka/errors';

export function isRetriable(err: unknown): boolean {
  if (err instanceof LearnstreamError) return err.retriable;
  return kafkaUnavailable(err);
}

/**
 * Runs `fn`, and again after a linear backoff (delayMs, 2*delayMs, ...) while it fails with a retriable error, at most
 * `attempts` times in all. Right after topic creation a broker can still answer "not the leader" or "unknown topic"
 * for a moment: admin calls go through here.
 */
export async function retry<T>(fn: () => Promise<T>, attempts = 10, delayMs = 200): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (!isRetriable(err) || i >= attempts - 1) throw err;
      await new Promise((r) => setTimeout(r, delayMs * (i + 1)));
    }
  }
}

/**
 * An admin call of kafkajs, retried while the cluster settles (see retry); its last failure leaves as one of the
 * project's errors (lib/kafka/errors.ts toKafkaError), so callers above the client see no kafkajs error types.
 */
export async function retryKafka<T>(fn: () => Promise<T>, attempts = 10, delayMs = 200): Promise<T> {
  try {
    return await retry(fn, attempts, delayMs);
  } catch (err) {
    throw toKafkaError(err);
  }
}
