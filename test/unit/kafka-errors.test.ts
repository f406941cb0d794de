/** lib/kafka/errors.ts against kafkajs' own error classes, as kafkajs throws them. */
import {
  KafkaJSConnectionError,
  KafkaJSNonRetriableError,
  KafkaJSNumberOfRetriesExceeded,
  KafkaJSProtocolError,
  KafkaJSRequestTimeoutError,
} from 'kafkajs';
import { kafkaUnavailable } from '../../lib/kafka/errors';

describe('kafkaUnavailable', () => {
  it('counts connection failures, request timeouts and exhausted retries over them as an outage', () => {
    const refused = new KafkaJSConnectionError('Connection error: connect ECONNREFUSED 127.0.0.1:19092');
    expect(kafkaUnavailable(refused)).toBe(true);
    expect(kafkaUnavailable(new KafkaJSRequestTimeoutError('Request Produce(key: 0, version: 7) timed out'))).toBe(true);
    // What kafkajs throws once its retrier gives up: non-retriable itself, the outage is its cause.
    const exhausted = new KafkaJSNumberOfRetriesExceeded(refused, { retryCount: 2, retryTime: 400 });
    expect((exhausted as { retriable?: boolean }).retriable).toBe(false);
    expect(kafkaUnavailable(exhausted)).toBe(true);
  });

  it('does not count a refusal that no retry can fix', () => {
    // The shape kafkajs' protocol layer passes in (its error-codes table entry), which its typings do not declare.
    const entry = {
      type: 'MESSAGE_TOO_LARGE',
      code: 10,
      retriable: false,
      message: 'The request included a message larger than the max message size the server will accept',
    };
    const tooLarge = new KafkaJSProtocolError(entry as unknown as Error);
    expect(kafkaUnavailable(tooLarge)).toBe(false);
    expect(kafkaUnavailable(new KafkaJSNonRetriableError('Invalid topic'))).toBe(false);
    expect(kafkaUnavailable(new Error('boom'))).toBe(false);
    expect(kafkaUnavailable(undefined)).toBe(false);
  });
});
