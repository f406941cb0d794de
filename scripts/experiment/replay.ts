/**
 * Recomputes an experiment's attribution from Kafka (the system of record): the experiment stage's own processor
 * (pipelines/experiment/processor.ts) over learning.interactions, learning.quiz-attempts and privacy.erasures from
 * their beginning up to their end when the replay starts. The same counts the stage exports, with no dependency on
 * a running pipeline (within the topics' retention, config privacy.retentionMs).
 */
import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import type { Client } from '@confluentinc/schemaregistry';
import type { Config } from '../../lib/config';
import { createLogger } from '../../lib/log';
import { noopEmitter } from '../../lib/metrics/instrumentation';
import { topicName } from '../../schemas/topics';
import type { VariantTotals } from '../../models/experiments/tally';
import { createSecondaryDecode } from '../../consumers/decode/decoders';
import { ExperimentProcessor } from '../../pipelines/experiment/processor';

export async function replayTotals(config: Config, kafka: Kafka, registry: Client, timeoutMs = 120_000): Promise<VariantTotals[]> {
  const p = config.kafka.topicPrefix;
  const topics = {
    interactions: topicName('interactions', p),
    quizAttempts: topicName('quizAttempts', p),
    erasures: topicName('erasures', p),
  };
  const processor = new ExperimentProcessor({
    decode: createSecondaryDecode({ config, registry }),
    emit: noopEmitter,
    logger: createLogger({ level: 'error' }),
    topics,
  });
  const admin = kafka.admin();
  await admin.connect();
  const groupId = `${p}learnstream-experiment-report-${randomUUID()}`;
  const remaining = new Map<string, bigint>(); // `${topic}:${partition}` -> last offset to read
  const groups = new Set<number>();
  for (const topic of Object.values(topics)) {
    for (const o of await admin.fetchTopicOffsets(topic)) {
      const last = BigInt(o.high) - 1n;
      if (last >= BigInt(o.low)) remaining.set(`${topic}:${o.partition}`, last);
      if (!groups.has(o.partition)) processor.restore(o.partition, null);
      groups.add(o.partition);
    }
  }
  const consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false });
  try {
    if (remaining.size > 0) {
      await consumer.connect();
      await consumer.subscribe({ topics: Object.values(topics), fromBeginning: true });
      let done!: () => void;
      const finished = new Promise<void>((resolve) => (done = resolve));
      await consumer.run({
        autoCommit: false,
        eachMessage: async ({ topic, partition, message }) => {
          const k = `${topic}:${partition}`;
          const last = remaining.get(k);
          if (last === undefined || BigInt(message.offset) > last) return;
          await processor.apply(partition, {
            topic,
            partition,
            offset: message.offset,
            key: message.key,
            value: message.value,
            timestamp: Number(message.timestamp),
            headers: message.headers ?? {},
          });
          if (BigInt(message.offset) >= last) remaining.delete(k);
          if (remaining.size === 0) done();
        },
      });
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>(
        (_, reject) =>
          (timer = setTimeout(
            () => reject(new Error(`replay did not reach the end of ${[...remaining.keys()].join(', ')} within ${timeoutMs} ms`)),
            timeoutMs,
          )),
      );
      try {
        await Promise.race([finished, timeout]);
      } finally {
        clearTimeout(timer);
      }
    }
  } finally {
    await consumer.disconnect();
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect();
  }
  return processor.totals();
}
