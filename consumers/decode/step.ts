/**
 * The decode/validate step every consumer runs first: bytes -> typed event, or dead letter. A message that can
 * never be processed must not stop its partition, and a good message must never be dead-lettered because the
 * registry or the broker had a bad moment; so poison goes to the DLQ and yields null, while dependency failures
 * throw (retriable) and the caller retries without committing.
 */
import type { Client } from '@confluentinc/schemaregistry';
import type { KafkaMessage } from 'kafkajs';
import { LearnstreamError, PoisonMessageError } from '../../lib/errors';
import type { Emitter } from '../../lib/metrics/instrumentation';
import { EventDeserializer, type Decoded, type DeserializerOptions, type Tombstone } from '../../lib/serde';
import { DeadLetterWriter, type DeadLetterSink } from '../dead-letter';

export { DeadLetterWriter, DLQ_HEADERS, type DeadLetterSink, type SourceMessage } from '../dead-letter';
export type { Decoded, Tombstone, PoisonReason } from '../../lib/serde';

export type DecodeResult = Decoded | Tombstone;

export interface DecodeStep {
  /**
   * Decodes one message. Returns the event (or a tombstone on a compacted topic), or null after the message was
   * dead-lettered. Throws only DependencyError (registry or DLQ write unavailable: retry, do not commit).
   * `sink` overrides the dead-letter sink for this call (pass the consumer's Transaction for exactly-once).
   */
  (topic: string, partition: number, message: KafkaMessage, sink?: DeadLetterSink): Promise<DecodeResult | null>;
  readonly deserializer: EventDeserializer;
  readonly deadLetters: DeadLetterWriter;
}

export interface DecodeStepOptions extends DeserializerOptions {
  registry: Client;
  /** Full topic prefix (config.kafka.topicPrefix + any test prefix). */
  topicPrefix: string;
  /** Default dead-letter sink: usually the stage's producer. */
  sink: DeadLetterSink;
  emit?: Emitter;
}

export function createDecodeStep(opts: DecodeStepOptions): DecodeStep {
  const deserializer = new EventDeserializer(opts.registry, opts.topicPrefix, opts);
  const deadLetters = new DeadLetterWriter({ sink: opts.sink, emit: opts.emit });
  const step = async (topic: string, partition: number, message: KafkaMessage, sink?: DeadLetterSink): Promise<DecodeResult | null> => {
    try {
      return await deserializer.decode(topic, message.value, message.key);
    } catch (err) {
      if (err instanceof LearnstreamError && !(err instanceof PoisonMessageError)) throw err;
      // Anything else thrown while decoding is about this message's bytes (an avsc corner case, a validator bug):
      // dead-letter it rather than crash-loop the partition on it.
      const poison =
        err instanceof PoisonMessageError
          ? err
          : new PoisonMessageError('decode-crashed', `unexpected error while decoding: ${(err as Error)?.message ?? String(err)}`, {
              cause: err,
            });
      await deadLetters.write({ topic, partition, message }, poison, sink);
      return null;
    }
  };
  return Object.assign(step, { deserializer, deadLetters });
}
