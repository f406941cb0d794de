import type { IHeaders, KafkaMessage, Message } from 'kafkajs';
import { DependencyError, type PoisonMessageError } from '../lib/errors';
import { createLogger, type Logger } from '../lib/log';
import { noopEmitter, type Emitter } from '../lib/metrics/instrumentation';
import { dlqName } from '../schemas/topics';

/** Where dead letters go: a kafkajs Producer, or a Transaction so the DLQ write commits with the consumed offsets. */
export interface DeadLetterSink {
  send(record: { topic: string; messages: Message[] }): Promise<unknown>;
}

export interface DeadLetterOptions {
  sink: DeadLetterSink;
  /** Receives `deadLetter {topic, reason}` per message (counted as learnstream_pipeline_dead_letters_total). */
  emit?: Emitter;
  logger?: Logger;
  /** The error message is cut to this many characters in x-dlq-message. Default 1000. */
  maxMessageChars?: number;
  /**
   * At most one warning line per (topic, reason) in this many ms; the next line says how many were suppressed in
   * between. Every dead letter is still counted (learnstream_pipeline_dead_letters_total) and in the DLQ with its
   * headers. Default 10000; 0 = a line per dead letter.
   */
  logIntervalMs?: number;
  /** Clock for the log rate limit, epoch ms. Default Date.now. */
  now?: () => number;
}

export interface SourceMessage {
  topic: string;
  partition: number;
  message: Pick<KafkaMessage, 'key' | 'value' | 'offset' | 'timestamp' | 'headers'>;
}

export const DLQ_HEADERS = {
  reason: 'x-dlq-reason',
  errorClass: 'x-dlq-error-class',
  message: 'x-dlq-message',
  topic: 'x-original-topic',
  partition: 'x-original-partition',
  offset: 'x-original-offset',
  timestamp: 'x-original-timestamp',
} as const;

/**
 * Writes a poison message to `<topic>.dlq`: the ORIGINAL key and value bytes (so it can be inspected or replayed
 * after a fix), the original headers, and x-dlq-* / x-original-* headers saying why and where it came from.
 * Poison input never makes it throw; only a failing DLQ write does (DependencyError, retriable), and then the caller
 * must not commit the offset, or the message would be lost.
 */
export class DeadLetterWriter {
  private readonly emit: Emitter;
  private readonly log: Logger;
  private readonly maxChars: number;
  private readonly logInterval: number;
  private readonly now: () => number;
  /** `topic reason` -> when its last line was written and how many dead letters went unlogged since. */
  private readonly lastLine = new Map<string, { at: number; suppressed: number }>();

  constructor(private readonly opts: DeadLetterOptions) {
    this.emit = opts.emit ?? noopEmitter;
    this.log = opts.logger ?? createLogger({ base: { component: 'dead-letter' } });
    this.maxChars = opts.maxMessageChars ?? 1000;
    this.logInterval = opts.logIntervalMs ?? 10_000;
    this.now = opts.now ?? Date.now;
  }

  async write(src: SourceMessage, err: PoisonMessageError, sink: DeadLetterSink = this.opts.sink): Promise<void> {
    const headers: IHeaders = {};
    for (const [k, v] of Object.entries(src.message.headers ?? {}))
      if (!k.startsWith('x-dlq-') && !k.startsWith('x-original-') && v !== undefined) headers[k] = v;
    Object.assign(headers, {
      [DLQ_HEADERS.reason]: err.reason,
      [DLQ_HEADERS.errorClass]: err.name,
      [DLQ_HEADERS.message]: err.message.slice(0, this.maxChars),
      [DLQ_HEADERS.topic]: src.topic,
      [DLQ_HEADERS.partition]: String(src.partition),
      [DLQ_HEADERS.offset]: src.message.offset,
      [DLQ_HEADERS.timestamp]: src.message.timestamp,
    });
    const topic = dlqName(src.topic);
    try {
      await sink.send({ topic, messages: [{ key: src.message.key, value: src.message.value, headers }] });
    } catch (cause) {
      throw new DependencyError('kafka', `cannot write dead letter to ${topic}: ${(cause as Error).message}`, {
        cause,
        context: { topic: src.topic, partition: src.partition, offset: src.message.offset },
      });
    }
    this.emit.emit('deadLetter', { topic: src.topic, reason: err.reason });
    this.warn(src, err);
  }

  /** One line per (topic, reason) per logInterval: a poison producer wrote 542 lines into one test log. */
  private warn(src: SourceMessage, err: PoisonMessageError): void {
    const key = `${src.topic} ${err.reason}`;
    const t = this.now();
    const last = this.lastLine.get(key);
    if (last && this.logInterval > 0 && t - last.at < this.logInterval) {
      last.suppressed++;
      return;
    }
    const suppressed = last?.suppressed ?? 0;
    this.lastLine.set(key, { at: t, suppressed: 0 });
    this.log.warn(`dead-lettered (${err.reason})`, {
      topic: src.topic,
      partition: src.partition,
      offset: src.message.offset,
      reason: err.reason,
      error: err.message.slice(0, 200),
      ...(suppressed > 0 ? { suppressed, suppressedSinceMs: t - last!.at } : {}),
    });
  }
}
