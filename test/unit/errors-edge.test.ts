/** One retry decision for everyone (lib/retry.ts), and the client errors converted into the project's family at the edge. */
import { KafkaJSConnectionError, KafkaJSNonRetriableError, KafkaJSNumberOfRetriesExceeded } from 'kafkajs';
import { DependencyError, LearnstreamError, PoisonMessageError, ValidationError } from '../../lib/errors';
import { toKafkaError } from '../../lib/kafka/errors';
import { toRedisError } from '../../lib/redis/errors';
import { isRetriable, retry, retryKafka } from '../../lib/retry';

describe('isRetriable', () => {
  it('reads `retriable` of the project errors', () => {
    expect(isRetriable(new DependencyError('redis', 'down'))).toBe(true);
    expect(isRetriable(new ValidationError('bad'))).toBe(false);
    expect(isRetriable(new PoisonMessageError('undecodable', 'x'))).toBe(false);
  });
  it('judges an unconverted kafkajs error as its client does', () => {
    expect(isRetriable(new KafkaJSConnectionError('Connection refused'))).toBe(true);
    expect(isRetriable(new KafkaJSNumberOfRetriesExceeded(new KafkaJSConnectionError('refused'), { retryCount: 5, retryTime: 100 }))).toBe(
      true,
    );
    expect(isRetriable(new KafkaJSNonRetriableError('Invalid topic'))).toBe(false);
    expect(isRetriable(new Error('boom'))).toBe(false);
  });
});

describe('retry', () => {
  it('tries again while the failure is retriable, and stops at the first that is not', async () => {
    let calls = 0;
    await expect(
      retry(
        () => {
          calls++;
          return calls < 3 ? Promise.reject(new DependencyError('kafka', 'not yet')) : Promise.resolve('ok');
        },
        5,
        1,
      ),
    ).resolves.toBe('ok');
    expect(calls).toBe(3);
    calls = 0;
    await expect(
      retry(
        () => {
          calls++;
          return Promise.reject(new ValidationError('never'));
        },
        5,
        1,
      ),
    ).rejects.toBeInstanceOf(ValidationError);
    expect(calls).toBe(1);
  });
  it('retryKafka hands back its last kafkajs failure as a project error, message kept, original as cause', async () => {
    const original = new KafkaJSConnectionError('Connection refused');
    const err = (await retryKafka(() => Promise.reject(original), 2, 1).catch((e: unknown) => e)) as DependencyError;
    expect(err).toBeInstanceOf(DependencyError);
    expect(err.dependency).toBe('kafka');
    expect(err.message).toBe('Connection refused');
    expect(err.cause).toBe(original);
  });
});

describe('client errors at the edge', () => {
  it('toKafkaError: outage -> retriable DependencyError, refusal -> non-retriable LearnstreamError', () => {
    expect(toKafkaError(new KafkaJSConnectionError('refused'))).toBeInstanceOf(DependencyError);
    const refused = toKafkaError(new KafkaJSNonRetriableError('Invalid topic'));
    expect(refused).toBeInstanceOf(LearnstreamError);
    expect(refused.retriable).toBe(false);
    const own = new ValidationError('x');
    expect(toKafkaError(own)).toBe(own);
  });
  it('toRedisError: a failed command is a retriable DependencyError naming the command', () => {
    const e = toRedisError(new Error('Connection is closed.'), 'GET');
    expect(e).toBeInstanceOf(DependencyError);
    expect(e.message).toBe('redis GET failed: Connection is closed.');
    expect(isRetriable(e)).toBe(true);
  });
});
