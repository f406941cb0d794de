import type { Batch, Consumer, Kafka } from 'kafkajs';
import { errorMessage } from '../../lib/errors';
import type { Logger } from '../../lib/log';
import { closeReplicaConsumer } from './close';

/** Whether a replica is being kept up to date, and if not, why (the pipeline's /readyz shows it). */
export interface ReplicaHealth {
  ok: boolean;
  reason?: string;
}

export interface ReplicaConsumerOptions {
  kafka: Kafka;
  topic: string;
  groupId: string;
  logger: Logger;
  /** Name in logs and health reasons, e.g. "item replica". */
  what: string;
  /** Applies one batch; throwing fails the batch (kafkajs retries it, then the consumer crashes). */
  eachBatch: (batch: Batch) => Promise<void>;
  /** First delay before restarting a consumer kafkajs gave up on, doubled per failure up to 30 s. Default 1000 ms. */
  restartDelayMs?: number;
}

/**
 * The consumer behind a replica of a compacted topic (a private group read from the beginning, no commits), watched:
 * when it crashes the replica stops following its topic while the process lives on, which used to be invisible (lag
 * grew without end, /readyz said 200). A crash makes health() report the reason until a batch is applied again;
 * kafkajs restarts the consumer after retriable failures, and this restarts it (with backoff) after the others.
 */
export class ReplicaConsumer {
  private consumer: Consumer | null = null;
  private failure: string | null = null;
  private failures = 0;
  private stopping = false;
  private restartTimer: NodeJS.Timeout | null = null;

  constructor(private readonly o: ReplicaConsumerOptions) {}

  async start(): Promise<void> {
    const c = this.o.kafka.consumer({ groupId: this.o.groupId, maxWaitTimeInMs: 50, sessionTimeout: 10000, heartbeatInterval: 1000 });
    this.consumer = c;
    c.on(c.events.CRASH, (e) => this.crashed(e.payload.error, e.payload.restart));
    await c.connect();
    await c.subscribe({ topic: this.o.topic, fromBeginning: true });
    await c.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        await this.o.eachBatch(batch);
        if (this.failure) this.o.logger.info(`${this.o.what} consuming again`, { topic: this.o.topic });
        this.failure = null;
        this.failures = 0;
      },
    });
  }

  health(): ReplicaHealth {
    return this.failure ? { ok: false, reason: this.failure } : { ok: true };
  }

  private crashed(error: Error, restarting: boolean): void {
    if (this.stopping) return;
    this.failures++;
    this.failure = `${this.o.what} consumer of ${this.o.topic} crashed (${restarting ? 'kafkajs restarts it' : 'restarting it'}): ${errorMessage(error)}`;
    this.o.logger.error(`${this.o.what} consumer crashed`, {
      topic: this.o.topic,
      restarting,
      failures: this.failures,
      err: errorMessage(error),
    });
    if (restarting) return;
    const delay = Math.min(30_000, (this.o.restartDelayMs ?? 1000) * 2 ** (this.failures - 1));
    this.restartTimer = setTimeout(() => void this.restart(), delay);
    this.restartTimer.unref();
  }

  /** After a crash kafkajs will not restart from: a new consumer, from the beginning again (the replica is idempotent). */
  private async restart(): Promise<void> {
    this.restartTimer = null;
    const old = this.consumer;
    try {
      await old?.disconnect();
    } catch (err) {
      this.o.logger.debug(`${this.o.what}: disconnecting the crashed consumer failed`, { err });
    }
    if (this.stopping) return;
    try {
      await this.start();
    } catch (err) {
      this.crashed(err instanceof Error ? err : new Error(String(err)), false);
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = null;
    if (this.consumer) await closeReplicaConsumer(this.consumer, this.o.kafka, this.o.groupId, this.o.logger, this.o.what);
  }
}
