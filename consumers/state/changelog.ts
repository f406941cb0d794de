import { randomUUID } from 'node:crypto';
import type { Kafka, Message, Producer } from 'kafkajs';
import type { Checkpoint, CheckpointStore } from './checkpoint';

/**
 * Stage state in a compacted Kafka changelog topic (issue 17, item 7; the Kafka Streams model), behind the runner's
 * CheckpointStore interface, so any instance on any host restores a partition group from Kafka alone: an empty state
 * dir is enough.
 *
 * Layout: partition g of `topic` holds group g of every stage. Keys:
 *   `<stage>/<g>/l/<id>`   one record per entry of the state's `learners` array ([id, value] pairs), a tombstone when
 *                          the entry left the state (erasure): a commit writes only the entries that changed;
 *   `<stage>/<g>/m/<i>`    the rest of the state (every other field), JSON in chunks of at most CHUNK bytes;
 *   `<stage>/<g>/head`     the input offsets the state reflects and the number of chunks (written last).
 * One Kafka transaction per put (transactional id `<prefix><stage>-<g>`): the changed entries, the chunks and the
 * offsets become visible together or not at all, and a new owner of the group fences a zombie one (its open
 * transaction is aborted when the new producer registers, before the restore reads). Restores read with
 * read_committed from the beginning of the partition, so compaction (newest value per key) keeps the topic at one
 * record per learner plus the chunks.
 *
 * Not (yet) the Kafka Streams model in full: the consumed offsets are stored in the changelog's head record, not
 * committed to the consumer group with sendOffsets (equivalent atomicity for this runner, which restores offsets
 * from its checkpoint); the non-learner part of the state (knowledge model, synchronous item table, the other
 * stages' states) is rewritten whole at every put.
 */
const CHUNK = 512 * 1024;

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
}

export class KafkaChangelogStore implements CheckpointStore {
  private readonly producers = new Map<string, Promise<Producer>>();
  /** Per stage/group: entry id -> the JSON last written (what a put compares against), and the chunks written. */
  private readonly written = new Map<string, { entries: Map<string, string>; chunks: number }>();
  /** Records read by the last restore of each stage/group (diagnostics, the restore benchmark). */
  readonly restored = new Map<string, { records: number; seconds: number }>();

  constructor(private readonly o: ChangelogStoreOptions) {}

  private producer(stage: string, group: number): Promise<Producer> {
    const key = `${stage}/${group}`;
    let p = this.producers.get(key);
    if (!p) {
      const producer = this.o.kafka.producer({ transactionalId: `${this.o.transactionalPrefix}${stage}-${group}`, idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
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
    const consumer = this.o.kafka.consumer({ groupId, readUncommitted: false, allowAutoTopicCreation: false, maxBytesPerPartition: 8 * 1024 * 1024 });
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
            if (rest === 'head') head = value ? (JSON.parse(value) as Head) : null;
            else if (rest.startsWith('l/')) {
              if (value === null) entries.delete(rest.slice(2));
              else entries.set(rest.slice(2), value);
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
      await admin2.connect().then(() => admin2.deleteGroups([groupId])).catch(() => undefined);
      await admin2.disconnect().catch(() => undefined);
    }
    this.restored.set(`${stage}/${group}`, { records, seconds: (performance.now() - t0) / 1000 });
    const h = head as Head | null;
    if (!h) return null;
    let metaText = '';
    for (let i = 0; i < h.chunks; i++) metaText += chunks.get(i) ?? '';
    const state = (metaText ? JSON.parse(metaText) : {}) as Record<string, unknown>;
    const learners: [string, unknown][] = [];
    for (const [id, v] of entries) learners.push([id, JSON.parse(v)]);
    if (entries.size > 0 || 'learners' in state) state.learners = learners;
    this.written.set(`${stage}/${group}`, { entries, chunks: h.chunks });
    return { offsets: h.offsets, state: state as S, writtenAt: h.writtenAt };
  }

  async put<S>(stage: string, group: number, cp: Checkpoint<S>): Promise<void> {
    const key = `${stage}/${group}`;
    const prefix = `${key}/`;
    const partition = group % this.o.partitions;
    const before = this.written.get(key) ?? { entries: new Map<string, string>(), chunks: 0 };
    const { learners, ...rest } = cp.state as Record<string, unknown> & { learners?: [string, unknown][] };
    const messages: Message[] = [];
    const entries = new Map<string, string>();
    if (Array.isArray(learners)) {
      for (const [id, v] of learners) {
        const text = JSON.stringify(v);
        entries.set(id, text);
        if (before.entries.get(id) !== text) messages.push({ key: `${prefix}l/${id}`, value: text, partition });
      }
      for (const id of before.entries.keys()) if (!entries.has(id)) messages.push({ key: `${prefix}l/${id}`, value: null, partition });
    }
    const metaText = JSON.stringify(Array.isArray(learners) ? { ...rest, learners: [] } : rest);
    const chunks = Math.ceil(metaText.length / CHUNK);
    for (let i = 0; i < chunks; i++) messages.push({ key: `${prefix}m/${i}`, value: metaText.slice(i * CHUNK, (i + 1) * CHUNK), partition });
    for (let i = chunks; i < before.chunks; i++) messages.push({ key: `${prefix}m/${i}`, value: null, partition });
    const head: Head = { offsets: cp.offsets, writtenAt: cp.writtenAt, chunks };
    messages.push({ key: `${prefix}head`, value: JSON.stringify(head), partition });
    const producer = await this.producer(stage, group);
    const tx = await producer.transaction();
    try {
      for (let i = 0; i < messages.length; i += 2000) await tx.send({ topic: this.o.topic, messages: messages.slice(i, i + 2000) });
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
    for (const id of before?.entries.keys() ?? []) messages.push({ key: `${prefix}l/${id}`, value: null, partition });
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
  }
}
