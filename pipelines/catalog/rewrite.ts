import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import type { Logger } from '../../lib/log';
import type { CatalogProcessor } from './processor';

export interface CatalogRewriteResult {
  records: number;
  resources: number;
  similar: number;
  seconds: number;
}

/**
 * Rewrites the catalogue stage's part of the serving view (issue 17, item 4). Catalogue entries and curriculum nodes
 * hold facts the stage does not keep as state (title, type, topics, prerequisites), but the compacted
 * catalog.resources topic does: it is replayed from the beginning to the end offsets of the moment, with a throwaway
 * consumer group (no commits, deleted afterwards), each record through CatalogProcessor.rewriteFacts (serving-store
 * writes only: no re-embedding, nothing sent to the item owner). Then content vectors and similar-items lists from
 * the content index (the stage's checkpointed state). Co-engagement, which similar lists blend in, lived in the lost
 * store: it regrows from traffic.
 *
 * Every instance replays the whole topic (idempotent writes of the newest fact per resource). A live upsert consumed
 * while the replay runs can be overwritten by the replay's older copy of the same resource until its next upsert: the
 * window is the replay's length (seconds for 10,000 resources).
 */
export async function rewriteCatalogView(
  kafka: Kafka,
  topic: string,
  groupPrefix: string,
  catalog: CatalogProcessor,
  logger: Logger,
  opts: { progress?: (pending: number) => void } = {},
): Promise<CatalogRewriteResult> {
  const t0 = performance.now();
  const admin = kafka.admin();
  await admin.connect();
  const groupId = `${groupPrefix}catalog-rewrite-${randomUUID()}`;
  let records = 0;
  const ids = new Set<string>();
  try {
    const ends = new Map((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, BigInt(o.high)]));
    const starts = new Map((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, BigInt(o.low)]));
    const open = new Set(catalog.holdsState ? [...ends].filter(([p, end]) => end > (starts.get(p) ?? 0n)).map(([p]) => p) : []);
    // Records to replay at most (compaction leaves fewer): the progress figure counts down from it.
    let pending = 0;
    for (const p of open) pending += Number((ends.get(p) ?? 0n) - (starts.get(p) ?? 0n));
    opts.progress?.(pending);
    if (open.size > 0) {
      const consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false });
      await consumer.connect();
      try {
        let done!: () => void;
        const finished = new Promise<void>((r) => (done = r));
        await consumer.subscribe({ topic, fromBeginning: true });
        await consumer.run({
          autoCommit: false,
          eachBatch: async (payload) => {
            const batch = payload.batch;
            const end = ends.get(batch.partition) ?? 0n;
            for (const m of batch.messages) {
              if (BigInt(m.offset) >= end) break;
              const id = await catalog.rewriteFacts({
                topic,
                partition: batch.partition,
                offset: m.offset,
                key: m.key,
                value: m.value,
                timestamp: Number(m.timestamp),
                headers: m.headers ?? {},
              });
              records++;
              if (id) ids.add(id);
            }
            opts.progress?.(Math.max(0, pending - records));
            await payload.heartbeat();
            const last = batch.messages.length > 0 ? BigInt(batch.messages[batch.messages.length - 1].offset) + 1n : 0n;
            if (last >= end && open.delete(batch.partition) && open.size === 0) done();
          },
        });
        // Bounded: a partition whose last offsets hold no record (e.g. transaction markers) never reports its end.
        let timer: NodeJS.Timeout | undefined;
        const timedOut = await Promise.race([
          finished.then(() => false),
          new Promise<boolean>((r) => (timer = setTimeout(() => r(true), 120_000))),
        ]);
        clearTimeout(timer);
        if (timedOut) logger.warn('catalogue replay stopped after 120 s before reaching every end offset', { topic, records });
      } finally {
        await consumer.disconnect();
      }
      await admin.deleteGroups([groupId]).catch(() => undefined);
    }
  } finally {
    await admin.disconnect();
  }
  const similar = await catalog.rewriteSimilarAll();
  const seconds = (performance.now() - t0) / 1000;
  logger.info('catalogue serving view rewritten', { records, resources: ids.size, similar, seconds: Number(seconds.toFixed(2)) });
  return { records, resources: ids.size, similar, seconds };
}
