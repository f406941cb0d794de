import { randomUUID } from 'node:crypto';
import type { Kafka, KafkaMessage, Message, Producer } from 'kafkajs';
import { PoisonMessageError } from '../../lib/errors';
import type { Logger } from '../../lib/log';
import type { Emitter } from '../../lib/metrics/instrumentation';
import { DeadLetterWriter } from '../dead-letter';
import type { Checkpoint, CheckpointContext, CheckpointStore } from './checkpoint';

/**
 * Stage state in a compacted Kafka changelog topic (issue 17, item 7; the Kafka Streams model), behind the runner's
 * CheckpointStore interface, so any instance on any host restores a partition group from Kafka alone: an empty state
 * dir is enough.
 *
 * Layout: partition g of `topic` holds group g of every stage. Keys:
 *   `<stage>/<g>/l/<id>`   one record per entry of the state's `learners` array ([id, value] pairs), a tombstone when
 *                          the entry left the state (erasure): a commit writes only the entries that changed;
 *   `<stage>/<g>/k/<id>`   the same for the entries of `knowledge.learners` (the knowledge model's per-learner
 *                          beliefs): a learner who did not answer a quiz since is not rewritten;
 *   `<stage>/<g>/m/<i>`    the rest of the state (every other field), JSON in chunks of at most CHUNK bytes;
 *   `<stage>/<g>/head`     the input offsets the state reflects and the number of chunks (written last).
 * One Kafka transaction per put (transactional id `<prefix><stage>-<g>`): the changed entries, the chunks and the
 * offsets become visible together or not at all, and a new owner of the group fences a zombie one (its open
 * transaction is aborted when the new producer registers, before the restore reads). Restores read with
 * read_committed from the beginning of the partition, so compaction (newest value per key) keeps the topic at one
 * record per learner plus the chunks.
 *
 * The consumed offsets go into the same transaction twice: in the head record (what a restore seeks to) and, as in
 * Kafka Streams, committed to the stage's consumer group with sendOffsets (TxnOffsetCommit), so the group's committed
 * offsets, the lag tools read, move exactly with the state and never ahead of it; the runner commits nothing itself
 * (commitsOffsets). The head copy stays the restore's source: it is read with the state in one pass, and a group
 * whose offsets expired (offsets.retention) still restores exactly.
 *
 * A record under a group's keys that does not decode (not JSON, or a head without offsets: nothing this store
 * writes, so a foreign producer's or a corruption) is dead-lettered to `<topic>.dlq` (reason `changelog-undecodable`,
 * the usual x-dlq-* headers, counted; once per restore, like the replicas' dead letters) and skipped: the restore keeps that key's value from before it, which is the
 * one the last checkpoint wrote until compaction removes it. Records under keys of no group are not read at all.
 *
 * Not yet a commit of only what changed for the rest of the state (the knowledge model's population terms, the
 * synchronous item table, the item and catalogue stages' states): it is rewritten whole at every put. The item
 * table's rows keep their order in the chunks on purpose: negatives are sampled by row index, and a replay after a
 * restore must draw the ones the uninterrupted run drew.
 */
const CHUNK = 512 * 1024;
/**
 * At most this many key + value bytes per produce request: the broker refuses a record batch above its
 * message.max.bytes (1 MiB by default), and 2,000 learners of 200-resource histories are several MiB.
 */
const SEND_BYTES = 512 * 1024;

/** Consecutive runs of `messages` of at most `max` key + value bytes each (a larger single message alone). */
function* byBytes(messages: readonly Message[], max: number): Generator<Message[]> {
  let batch: Message[] = [];
  let bytes = 0;
  for (const m of messages) {
    const size =
      Buffer.byteLength(String(m.key ?? '')) + (typeof m.value === 'string' ? Buffer.byteLength(m.value) : (m.value?.length ?? 0));
    if (batch.length > 0 && bytes + size > max) {
      yield batch;
      batch = [];
      bytes = 0;
    }
    batch.push(m);
    bytes += size;
  }
  if (batch.length > 0) yield batch;
}

interface Head {
  offsets: Record<string, string>;
  writtenAt: number;
  chunks: number;
}

export interface ChangelogStoreOptions {
  kafka: Kafka;
  /** The compacted changelog topic (created by the caller, as many partitions as the input topics). */
  topic: string;
  partitions: number;
  /** Transactional ids are `<transactionalPrefix><stage>-<group>`. */
  transactionalPrefix: string;
  /**
   * Whether a restore writes the records it skips to `<topic>.dlq` (created by the caller). Default true; false for
   * readers that only inspect (tests, benchmarks), which would write the same dead letters again at every read.
   */
  deadLetters?: boolean;
  /** Dead letters are counted through it (learnstream_pipeline_dead_letters_total). */
  emit?: Emitter;
  logger?: Logger;
}

/** Why a changelog record does not decode, or null: what a restore may apply. */
function undecodable(rest: string, value: string | null): string | null {
  if (value === null) return null;
  if (rest.startsWith('m/')) return null; // a slice of one JSON text: checked whole, after the read
  let v: unknown;
  try {
    v = JSON.parse(value);
  } catch (err) {
    return `changelog record does not decode: ${(err as Error).message}`;
  }
  if (rest === 'head') {
    const h = v as Partial<Head> | null;
    if (!h || typeof h !== 'object' || !h.offsets || typeof h.offsets !== 'object' || !Number.isSafeInteger(h.chunks))
      return 'changelog head without offsets and chunks';
  }
  return null;
}

export class KafkaChangelogStore implements CheckpointStore {
  readonly commitsOffsets = true;
  private readonly producers = new Map<string, Promise<Producer>>();
  /** Per stage/group: entry (`l/<id>`, `k/<id>`) -> the JSON last written (what a put compares against), and the chunks written. */
  private readonly written = new Map<string, { entries: Map<string, string>; chunks: number }>();
  /** Records read by the last restore of each stage/group (diagnostics, the restore benchmark). */
  readonly restored = new Map<string, { records: number; seconds: number }>();

  private deadLetters: { writer: DeadLetterWriter; producer: Promise<Producer> } | null = null;

  constructor(private readonly o: ChangelogStoreOptions) {}

  private async deadLetter(partition: number, m: KafkaMessage, why: string): Promise<void> {
    if (this.o.deadLetters === false) {
      this.o.logger?.warn('changelog record skipped', { topic: this.o.topic, partition, offset: m.offset, why });
      return;
    }
    if (!this.deadLetters) {
      const producer = this.o.kafka.producer({ idempotent: true, allowAutoTopicCreation: false });
      const connected = producer.connect().then(() => producer);
      this.deadLetters = {
        producer: connected,
        writer: new DeadLetterWriter({ sink: { send: async (r) => (await connected).send(r) }, emit: this.o.emit, logger: this.o.logger }),
      };
    }
    await this.deadLetters.writer.write(
      { topic: this.o.topic, partition, message: m },
      new PoisonMessageError('changelog-undecodable', why),
    );
  }

  private producer(stage: string, group: number): Promise<Producer> {
    const key = `${stage}/${group}`;
    let p = this.producers.get(key);
    if (!p) {
      const producer = this.o.kafka.producer({
        transactionalId: `${this.o.transactionalPrefix}${stage}-${group}`,
        idempotent: true,
        maxInFlightRequests: 1,
        allowAutoTopicCreation: false,
      });
      p = producer.connect().then(() => producer);
      this.producers.set(key, p);
    }
    return p;
  }

  async get<S>(stage: string, group: number): Promise<Checkpoint<S> | null> {
    // Registering the group's transactional producer first aborts a transaction a killed owner left open, which would
    // otherwise hold back read_committed reads until it timed out. A fresh one at every restore: a group that moved to
    // another instance and back finds our old producer fenced by that instance, and every later put would fail.
    const stale = this.producers.get(`${stage}/${group}`);
    if (stale) {
      this.producers.delete(`${stage}/${group}`);
      await stale.then((p) => p.disconnect()).catch(() => undefined);
    }
    await this.producer(stage, group);
    const t0 = performance.now();
    const partition = group % this.o.partitions;
    const admin = this.o.kafka.admin();
    await admin.connect();
    let high: bigint;
    try {
      const offs = await admin.fetchTopicOffsets(this.o.topic);
      const o = offs.find((x) => x.partition === partition);
      high = BigInt(o?.high ?? '0');
      if (!o || BigInt(o.low) >= high) return null;
    } finally {
      await admin.disconnect();
    }
    const prefix = `${stage}/${group}/`;
    const entries = new Map<string, string>();
    const chunks = new Map<number, string>();
    let head: Head | null = null;
    let records = 0;
    const groupId = `${this.o.transactionalPrefix}restore-${randomUUID()}`;
    const consumer = this.o.kafka.consumer({
      groupId,
      readUncommitted: false,
      allowAutoTopicCreation: false,
      maxBytesPerPartition: 8 * 1024 * 1024,
    });
    await consumer.connect();
    try {
      let done!: () => void;
      const finished = new Promise<void>((r) => (done = r));
      let last = -1n;
      // The partition's tail is a transaction marker (not delivered): the last record is at most two below `high`.
      const check = () => {
        if (last >= high - 2n) done();
      };
      const idle = setInterval(check, 200);
      await consumer.subscribe({ topic: this.o.topic, fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatch: async (payload) => {
          const batch = payload.batch;
          if (batch.partition !== partition) return;
          for (const m of batch.messages) {
            records++;
            last = BigInt(m.offset);
            const key = m.key?.toString('utf8') ?? '';
            if (!key.startsWith(prefix)) continue;
            const rest = key.slice(prefix.length);
            const value = m.value?.toString('utf8') ?? null;
            const bad = undecodable(rest, value);
            if (bad) {
              await this.deadLetter(batch.partition, m, bad);
              continue;
            }
            if (rest === 'head') head = value ? (JSON.parse(value) as Head) : null;
            else if (rest.startsWith('l/') || rest.startsWith('k/')) {
              if (value === null) entries.delete(rest);
              else entries.set(rest, value);
            } else if (rest.startsWith('m/')) {
              if (value === null) chunks.delete(Number(rest.slice(2)));
              else chunks.set(Number(rest.slice(2)), value);
            }
          }
          await payload.heartbeat();
          check();
        },
      });
      await finished;
      clearInterval(idle);
    } finally {
      await consumer.disconnect();
      const admin2 = this.o.kafka.admin();
      await admin2
        .connect()
        .then(() => admin2.deleteGroups([groupId]))
        .catch(() => undefined);
      await admin2.disconnect().catch(() => undefined);
    }
    this.restored.set(`${stage}/${group}`, { records, seconds: (performance.now() - t0) / 1000 });
    const h = head as Head | null;
    if (!h) return null;
    let metaText = '';
    for (let i = 0; i < h.chunks; i++) metaText += chunks.get(i) ?? '';
    const state = (metaText ? JSON.parse(metaText) : {}) as Record<string, unknown> & { knowledge?: { learners?: unknown } };
    const learners: [string, unknown][] = [];
    const knowledge: [string, unknown][] = [];
    for (const [k, v] of entries) (k.startsWith('l/') ? learners : knowledge).push([k.slice(2), JSON.parse(v)]);
    if (learners.length > 0 || 'learners' in state) state.learners = learners;
    if (knowledge.length > 0 && state.knowledge && typeof state.knowledge === 'object') state.knowledge.learners = knowledge;
    this.written.set(`${stage}/${group}`, { entries, chunks: h.chunks });
    return { offsets: h.offsets, state: state as S, writtenAt: h.writtenAt };
  }

  async put<S>(stage: string, group: number, cp: Checkpoint<S>, ctx?: CheckpointContext): Promise<void> {
    const key = `${stage}/${group}`;
    const prefix = `${key}/`;
    const partition = group % this.o.partitions;
    const before = this.written.get(key) ?? { entries: new Map<string, string>(), chunks: 0 };
    const { learners, ...rest } = cp.state as Record<string, unknown> & { learners?: [string, unknown][] };
    const messages: Message[] = [];
    const entries = new Map<string, string>();
    const split = (kind: 'l' | 'k', list: [string, unknown][]) => {
      for (const [id, v] of list) {
        const text = JSON.stringify(v);
        entries.set(`${kind}/${id}`, text);
        if (before.entries.get(`${kind}/${id}`) !== text) messages.push({ key: `${prefix}${kind}/${id}`, value: text, partition });
      }
    };
    const meta: Record<string, unknown> = { ...rest };
    if (Array.isArray(learners)) {
      split('l', learners);
      meta.learners = [];
    }
    // The knowledge model's per-learner beliefs (learner stage): one record per learner too, so a checkpoint writes
    // only the learners who answered since; its population terms (items, skills, weights) stay in the chunks.
    const k = rest.knowledge as { learners?: unknown } | undefined;
    if (k && typeof k === 'object' && Array.isArray(k.learners)) {
      split('k', k.learners as [string, unknown][]);
      meta.knowledge = { ...k, learners: [] };
    }
    for (const id of before.entries.keys()) if (!entries.has(id)) messages.push({ key: `${prefix}${id}`, value: null, partition });
    const metaText = JSON.stringify(meta);
    const chunks = Math.ceil(metaText.length / CHUNK);
    for (let i = 0; i < chunks; i++)
      messages.push({ key: `${prefix}m/${i}`, value: metaText.slice(i * CHUNK, (i + 1) * CHUNK), partition });
    for (let i = chunks; i < before.chunks; i++) messages.push({ key: `${prefix}m/${i}`, value: null, partition });
    const head: Head = { offsets: cp.offsets, writtenAt: cp.writtenAt, chunks };
    messages.push({ key: `${prefix}head`, value: JSON.stringify(head), partition });
    const producer = await this.producer(stage, group);
    const tx = await producer.transaction();
    try {
      for (const batch of byBytes(messages, SEND_BYTES)) await tx.send({ topic: this.o.topic, messages: batch });
      if (ctx && Object.keys(cp.offsets).length > 0)
        await tx.sendOffsets({ consumerGroupId: ctx.consumerGroupId, topics: offsetTopics(cp.offsets) });
      await tx.commit();
    } catch (err) {
      await tx.abort().catch(() => undefined);
      throw err;
    }
    this.written.set(key, { entries, chunks });
  }

  async delete(stage: string, group: number): Promise<void> {
    const key = `${stage}/${group}`;
    const before = this.written.get(key);
    const prefix = `${key}/`;
    const partition = group % this.o.partitions;
    const messages: Message[] = [{ key: `${prefix}head`, value: null, partition }];
    for (const id of before?.entries.keys() ?? []) messages.push({ key: `${prefix}${id}`, value: null, partition });
    for (let i = 0; i < (before?.chunks ?? 0); i++) messages.push({ key: `${prefix}m/${i}`, value: null, partition });
    const producer = await this.producer(stage, group);
    const tx = await producer.transaction();
    await tx.send({ topic: this.o.topic, messages });
    await tx.commit();
    this.written.delete(key);
  }

  async close(): Promise<void> {
    for (const p of this.producers.values()) await (await p).disconnect().catch(() => undefined);
    this.producers.clear();
    await this.deadLetters?.producer.then((p) => p.disconnect()).catch(() => undefined);
    this.deadLetters = null;
  }
}

/** `topic:partition` -> next offset, as TxnOffsetCommit wants it. */
function offsetTopics(offsets: Record<string, string>): { topic: string; partitions: { partition: number; offset: string }[] }[] {
  const byTopic = new Map<string, { partition: number; offset: string }[]>();
  for (const [k, offset] of Object.entries(offsets)) {
    const i = k.lastIndexOf(':');
    const topic = k.slice(0, i);
    if (!byTopic.has(topic)) byTopic.set(topic, []);
    byTopic.get(topic)!.push({ partition: Number(k.slice(i + 1)), offset });
  }
  return [...byTopic].map(([topic, partitions]) => ({ topic, partitions }));
}
