import { randomUUID } from 'node:crypto';
import type { Kafka, KafkaMessage, Message, Producer } from 'kafkajs';
import { PoisonMessageError } from '../../lib/errors';
import type { Logger } from '../../lib/log';
import type { Emitter } from '../../lib/metrics/instrumentation';
import { DeadLetterWriter } from '../dead-letter';
import type { Checkpoint, CheckpointContext, CheckpointStore } from './checkpoint';
import { chunkHash, GroupLogReader, LAYOUT, type Head, type RestoreFallback } from './changelog-read';

/**
 * Stage state in a compacted Kafka changelog topic (issue 17, item 7; the Kafka Streams model), behind the runner's
 * CheckpointStore interface, so any instance on any host restores a partition group from Kafka alone: an empty state
 * dir is enough. The product's default state store (pipelines/main.ts `--state kafka`).
 *
 * Layout: partition g of `topic` holds group g of every stage. Keys:
 *   `<stage>/<g>/<tag>/<id>`  one record per row of a keyed collection of the state (COLLECTIONS: learners, their
 *                          knowledge beliefs, the knowledge model's item and skill terms, erasure markers, item-table
 *                          rows, catalogue content rows), value `{"o":<order>,"v":<row>}`; a tombstone when the row
 *                          left the state (erasure, removal). A commit writes only the rows whose JSON changed;
 *   `<stage>/<g>/m/<i>`    the rest of the state (every other field: weights, offsets of sources, tallies), JSON in
 *                          chunks of at most CHUNK characters, only the chunks whose text changed;
 *   `<stage>/<g>/head`     the input offsets the state reflects, the number of chunks and which collections were
 *                          split out (written last).
 * One Kafka transaction per put (transactional id `<prefix><stage>-<g>`): the changed rows, the chunks and the
 * offsets become visible together or not at all, and a new owner of the group fences a zombie one (its open
 * transaction is aborted when the new producer registers, before the restore reads). Restores read with
 * read_committed from the beginning of the partition, so compaction (newest value per key) keeps the topic at one
 * record per row plus the chunks.
 *
 * Rows keep their order: each row record carries an order key `o`, kept while the row stays where it was and
 * assigned between its neighbours' keys when it is new or moved, and a restore sorts by it. The item table's order
 * matters (negatives are sampled by row index: a replay after a restore must draw the ones the uninterrupted run
 * drew), and compaction moves a rewritten record to the end of the partition, so read order is not row order.
 *
 * The consumed offsets go into the same transaction twice: in the head record (what a restore seeks to) and, as in
 * Kafka Streams, committed to the stage's consumer group with sendOffsets (TxnOffsetCommit), so the group's committed
 * offsets, the lag tools read, move exactly with the state and never ahead of it; the runner commits nothing itself
 * (commitsOffsets). The head copy stays the restore's source: it is read with the state in one pass, and a group
 * whose offsets expired (offsets.retention) still restores exactly.
 *
 * Poison under a group's keys (a foreign producer's record, a corruption: nothing a put writes) is dead-lettered to
 * `<topic>.dlq` (reason `changelog-undecodable`, the usual x-dlq-* headers, counted; once per restore, like the
 * replicas' dead letters), never fatal (./changelog-read.ts has the rule): a head that does not decode gives way to the
 * previous one; a chunk is checked against the hash its head names for it (any string is a valid chunk, so this is
 * the only check that can see it) and the version with that hash is taken from the log; a row without its order key
 * gives way to its previous version; the next put rewrites each poisoned key, so compaction cannot leave the poison
 * as its only value. Where the good version is gone already (compaction), the group cannot be rebuilt from the
 * changelog: the restore answers no checkpoint, the stage replays its input from the start (exact while the input
 * topics hold every event), and says so (warning, learnstream_pipeline_checkpoint_restore_fallbacks_total, a note on
 * /readyz). The head names each split collection's row count for the same reason: fewer rows restored than it names
 * (a poisoned row's good version compacted away) is a replay, not a state short of a learner. Records under keys of
 * no group are not read at all. A head of the first layout (before LAYOUT 2: learners only split out, no order keys)
 * is read as no checkpoint: the stage replays its input from the start, which is exact, and its next put rewrites
 * every key. Heads written before the hashes (layout 2 without `hashes`) are read as before: the newest chunk
 * versions before the head, and a replay if they do not parse.
 */
const CHUNK = 256 * 1024;
/**
 * At most this many key + value bytes per produce request: the broker refuses a record batch above its
 * message.max.bytes (1 MiB by default), and 2,000 learners of 200-resource histories are several MiB.
 */
const SEND_BYTES = 512 * 1024;

/** A keyed collection inside a stage's state, written one record per row: `path` from the state's root. */
interface Collection {
  tag: string;
  path: readonly [string] | readonly [string, string];
  /** The row's id, unique within the collection (undefined: the collection is written whole, in the chunks). */
  id(row: unknown): string | undefined;
}

const pairId = (row: unknown): string | undefined => (Array.isArray(row) && typeof row[0] === 'string' ? row[0] : undefined);

/**
 * Every keyed collection of the stages' states (pipelines/learner/state.ts, item/processor.ts, catalog/processor.ts,
 * experiment/processor.ts): whatever grows with learners or items. A state without one of these paths keeps its
 * fields in the chunks; the tags are part of the topic's layout.
 */
const COLLECTIONS: readonly Collection[] = [
  { tag: 'l', path: ['learners'], id: pairId },
  { tag: 'k', path: ['knowledge', 'learners'], id: pairId },
  { tag: 'ki', path: ['knowledge', 'items'], id: pairId },
  { tag: 'ks', path: ['knowledge', 'skills'], id: pairId },
  { tag: 'e', path: ['erased'], id: pairId },
  {
    tag: 'r',
    path: ['items', 'rows'],
    id: (r) => (r && typeof r === 'object' && typeof (r as { id?: unknown }).id === 'string' ? (r as { id: string }).id : undefined),
  },
  { tag: 'c', path: ['content', 'rows'], id: pairId },
];
const TAGS = new Set(COLLECTIONS.map((c) => c.tag));

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The collection's array in `state`, or undefined. */
function at(state: Obj, c: Collection): unknown[] | undefined {
  const parent = c.path.length === 1 ? state : state[c.path[0]];
  if (!isObj(parent)) return undefined;
  const v = parent[c.path[c.path.length - 1]];
  return Array.isArray(v) ? v : undefined;
}

/** Sets the collection's array in `meta`, copying the parent object the first time (never the caller's state). */
function setAt(meta: Obj, c: Collection, rows: unknown[], copied: Set<string>): void {
  if (c.path.length === 1) {
    meta[c.path[0]] = rows;
    return;
  }
  const [p, k] = c.path;
  if (!copied.has(p)) {
    meta[p] = { ...(meta[p] as Obj) };
    copied.add(p);
  }
  (meta[p] as Obj)[k] = rows;
}

/**
 * Order keys for `ids` (in row order), strictly increasing: a row keeps its previous key while the keys kept so far
 * stay increasing (appends and removals keep every key), the others get keys evenly between their kept neighbours;
 * when doubles run out between two neighbours, every row is renumbered.
 */
export function orderKeys(ids: readonly string[], previous: (id: string, index: number) => number | undefined): number[] {
  const n = ids.length;
  const keys = new Array<number>(n).fill(Number.NaN);
  let last = -Infinity;
  for (let i = 0; i < n; i++) {
    const k = previous(ids[i], i);
    if (k !== undefined && k > last) keys[i] = last = k;
  }
  for (let i = 0; i < n;) {
    if (!Number.isNaN(keys[i])) {
      i++;
      continue;
    }
    let j = i;
    while (j < n && Number.isNaN(keys[j])) j++;
    const lo = i > 0 ? keys[i - 1] : undefined;
    const hi = j < n ? keys[j] : undefined;
    const m = j - i;
    for (let x = 0; x < m; x++)
      keys[i + x] =
        lo === undefined && hi === undefined
          ? i + x
          : hi === undefined
            ? lo! + x + 1
            : lo === undefined
              ? hi - (m - x)
              : lo + ((hi - lo) * (x + 1)) / (m + 1);
    for (let x = i; x <= j && x < n; x++) if (x > 0 && !(keys[x] > keys[x - 1])) return ids.map((_, y) => y); // precision exhausted: renumber
    i = j;
  }
  return keys;
}

/** `text` in slices of at most `max` UTF-16 units, never splitting a surrogate pair (a lone half would not encode). */
function chunksOf(text: string, max: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length;) {
    let end = Math.min(text.length, i + max);
    const c = text.charCodeAt(end - 1);
    if (end < text.length && c >= 0xd800 && c <= 0xdbff) end--;
    out.push(text.slice(i, end));
    i = end;
  }
  return out;
}

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

/** A row's order key and JSON text as last written or read, and the row itself when it came frozen (reusable). */
type RowWritten = [order: number, text: string, frozen?: unknown];

/** What the last put wrote, or the last restore read, for one stage/group: what the next put compares against. */
interface Written {
  /** `<tag>/<id>` -> [order key, the row's JSON]. */
  rows: Map<string, RowWritten>;
  chunks: string[];
  /** Keys read by a restore that no put of this layout wrote (an older layout's): tombstoned by the next put. */
  stale: Set<string>;
}

/** One restore: records read and where its time went (diagnostics, the restore benchmark). */
export interface RestoreStats {
  records: number;
  seconds: number;
  /** Until the first record arrived: the partition's offsets, the throwaway consumer group's join, the first fetch. */
  firstRecordSeconds: number;
  /** From the first record to the last one read (fetching, kafkajs decoding, the per-record reading). */
  readSeconds: number;
  /** Judging the records and building the state (parsing every row, ordering, the state's collections). */
  buildSeconds: number;
}

/** What one put wrote (the last put of each stage/group; diagnostics and the checkpoint benchmark). */
export interface PutStats {
  /** Row records written or tombstoned. */
  rows: number;
  /** Records in the transaction: rows, changed chunks, head. */
  records: number;
  /** Key + value bytes of those records. */
  bytes: number;
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

export class KafkaChangelogStore implements CheckpointStore {
  readonly commitsOffsets = true;
  private readonly producers = new Map<string, Promise<Producer>>();
  /** Per stage/group: what the last put wrote or the last restore read (what the next put compares against). */
  private readonly written = new Map<string, Written>();
  /** What the last put of each stage/group wrote (diagnostics, the checkpoint benchmark). */
  readonly lastPut = new Map<string, PutStats>();
  /** Records read by the last restore of each stage/group (diagnostics, the restore benchmark). */
  readonly restored = new Map<string, RestoreStats>();
  /**
   * Restores since this store was made whose changelog state could not be rebuilt, so the group replayed its input
   * from the start (the newest 20): the pipeline's /readyz shows them as notes.
   */
  readonly fallbacks: { stage: string; group: number; reason: RestoreFallback; detail: string; at: number }[] = [];

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
    const key = `${stage}/${group}`;
    this.written.delete(key);
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
    const prefix = `${key}/`;
    const reader = new GroupLogReader(TAGS);
    const prefixBytes = Buffer.from(prefix, 'utf8');
    let records = 0;
    let firstAt: number | undefined;
    const groupId = `${this.o.transactionalPrefix}restore-${randomUUID()}`;
    const consumer = this.o.kafka.consumer({
      groupId,
      readUncommitted: false,
      allowAutoTopicCreation: false,
      // 8 MiB fetches: 32 MiB ones read a 100k-learner group (125 MB) no faster (1.6-2.2 s either way, load 7)
      maxBytesPerPartition: 8 * 1024 * 1024,
    });
    await consumer.connect();
    let readAt = 0;
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
          firstAt ??= performance.now();
          for (const m of batch.messages) {
            records++;
            last = BigInt(m.offset);
            // the key's prefix compared as bytes: the partition also holds the other stages' groups
            const kb = m.key;
            if (!kb || kb.length < prefixBytes.length || kb.compare(prefixBytes, 0, prefixBytes.length, 0, prefixBytes.length) !== 0)
              continue;
            reader.add(kb.toString('utf8', prefixBytes.length), m.value?.toString('utf8') ?? null, m);
          }
          await payload.heartbeat();
          check();
        },
      });
      await finished;
      readAt = performance.now();
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
    const verdict = reader.finish();
    const stats = (): RestoreStats => {
      const end = performance.now();
      const first = firstAt ?? readAt;
      return {
        records,
        seconds: (end - t0) / 1000,
        firstRecordSeconds: (first - t0) / 1000,
        readSeconds: (readAt - first) / 1000,
        buildSeconds: (end - readAt) / 1000,
      };
    };
    for (const l of verdict.letters) await this.deadLetter(partition, l.m, l.why);
    if (verdict.kind !== 'state') {
      this.restored.set(key, stats());
      // Every key this group holds: the next put (of the state rebuilt by the replay) tombstones the ones it does not write.
      const stale = new Set(verdict.kind === 'none' ? [] : verdict.stale.map((r) => `${prefix}${r}`));
      this.written.set(key, { rows: new Map(), chunks: [], stale });
      if (verdict.kind === 'older-layout')
        this.o.logger?.warn('changelog head of an older layout: replaying the input instead', { topic: this.o.topic, stage, group });
      if (verdict.kind === 'fallback') this.fallback(stage, group, verdict.reason, verdict.detail);
      return null;
    }
    const h = verdict.head;
    const state = verdict.meta;
    this.written.set(key, { rows: verdict.rows, chunks: verdict.chunks, stale: new Set(verdict.stale.map((r) => `${prefix}${r}`)) });
    const split = new Set(h.split ?? []);
    const copied = new Set<string>();
    for (const c of COLLECTIONS) {
      if (!split.has(c.tag) || !at(state, c)) continue;
      const list = (verdict.byTag.get(c.tag) ?? []).sort((x, y) => x[0] - y[0]);
      setAt(
        state,
        c,
        list.map((x) => x[1]),
        copied,
      );
    }
    this.restored.set(key, stats());
    return { offsets: h.offsets, state: state as S, writtenAt: h.writtenAt };
  }

  /** The group's state cannot be rebuilt from the changelog: said (log, metric, `fallbacks`), and the input replayed. */
  private fallback(stage: string, group: number, reason: RestoreFallback, detail: string): void {
    this.o.logger?.warn('changelog state of the group cannot be rebuilt: replaying its input from the start', {
      topic: this.o.topic,
      stage,
      group,
      reason,
      detail,
    });
    this.o.emit?.emit('checkpoint.restoreFallback', { stage, group, reason });
    this.fallbacks.push({ stage, group, reason, detail, at: Date.now() });
    if (this.fallbacks.length > 20) this.fallbacks.shift();
  }

  async put<S>(stage: string, group: number, cp: Checkpoint<S>, ctx?: CheckpointContext): Promise<void> {
    const key = `${stage}/${group}`;
    const prefix = `${key}/`;
    const partition = group % this.o.partitions;
    const before: Written = this.written.get(key) ?? { rows: new Map(), chunks: [], stale: new Set<string>() };
    const messages: Message[] = [];
    const rows = new Map<string, RowWritten>();
    const meta: Obj = { ...(cp.state as Obj) };
    const copied = new Set<string>();
    const split: string[] = [];
    const counts: Record<string, number> = {};
    let kept = 0;
    for (const c of COLLECTIONS) {
      const list = at(meta, c);
      if (!list) continue;
      // a row without an id, or two with the same one, cannot be a record of its own: the collection stays in the chunks
      const rks = new Array<string>(list.length);
      const seen = new Set<string>();
      let ok = true;
      for (let i = 0; i < list.length && ok; i++) {
        const id = c.id(list[i]);
        if (id === undefined || seen.has(id)) ok = false;
        else {
          seen.add(id);
          rks[i] = `${c.tag}/${id}`;
        }
      }
      if (!ok) continue;
      const wases = rks.map((rk) => before.rows.get(rk));
      const keys = orderKeys(rks, (_, i) => wases[i]?.[0]);
      for (let i = 0; i < list.length; i++) {
        const row = list[i];
        const rk = rks[i];
        const was = wases[i];
        if (was) kept++;
        // a frozen row handed again is unchanged (the CheckpointStore contract): its text is the one written then
        const frozen = Object.isFrozen(row);
        const text = frozen && was !== undefined && was[2] === row ? was[1] : JSON.stringify(row);
        rows.set(rk, frozen ? [keys[i], text, row] : [keys[i], text]);
        if (!was || was[0] !== keys[i] || was[1] !== text)
          messages.push({ key: `${prefix}${rk}`, value: `{"o":${keys[i]},"v":${text}}`, partition });
      }
      setAt(meta, c, [], copied);
      split.push(c.tag);
      counts[c.tag] = list.length;
    }
    // rows that left the state (none when every row written before is still there)
    if (kept < before.rows.size)
      for (const rk of before.rows.keys()) if (!rows.has(rk)) messages.push({ key: `${prefix}${rk}`, value: null, partition });
    const rowRecords = messages.length;
    const chunks = chunksOf(JSON.stringify(meta), CHUNK);
    chunks.forEach((text, i) => {
      if (before.chunks[i] !== text) messages.push({ key: `${prefix}m/${i}`, value: text, partition });
    });
    for (let i = chunks.length; i < before.chunks.length; i++) messages.push({ key: `${prefix}m/${i}`, value: null, partition });
    const written = new Set(messages.map((m) => String(m.key)));
    // an older layout's keys (read by the restore): what this put did not overwrite goes
    for (const k of before.stale) if (!written.has(k)) messages.push({ key: k, value: null, partition });
    const head: Head = {
      offsets: cp.offsets,
      writtenAt: cp.writtenAt,
      chunks: chunks.length,
      layout: LAYOUT,
      split,
      hashes: chunks.map(chunkHash),
      counts,
    };
    messages.push({ key: `${prefix}head`, value: JSON.stringify(head), partition });
    // everything of `cp` is encoded above, before the first await: the caller's state moves on while this writes
    await ctx?.after;
    const producer = await this.producer(stage, group);
    const tx = await producer.transaction();
    try {
      for (const batch of byBytes(messages, SEND_BYTES)) await tx.send({ topic: this.o.topic, messages: batch });
      if (ctx?.consumerGroupId && Object.keys(cp.offsets).length > 0)
        await tx.sendOffsets({ consumerGroupId: ctx.consumerGroupId, topics: offsetTopics(cp.offsets) });
      await tx.commit();
    } catch (err) {
      await tx.abort().catch(() => undefined);
      throw err;
    }
    this.written.set(key, { rows, chunks, stale: new Set() });
    let bytes = 0;
    for (const m of messages) bytes += Buffer.byteLength(String(m.key)) + (typeof m.value === 'string' ? Buffer.byteLength(m.value) : 0);
    this.lastPut.set(key, { rows: rowRecords, records: messages.length, bytes });
  }

  async delete(stage: string, group: number): Promise<void> {
    const key = `${stage}/${group}`;
    const before = this.written.get(key);
    const prefix = `${key}/`;
    const partition = group % this.o.partitions;
    const keys = new Set([`${prefix}head`, ...(before?.stale ?? [])]);
    for (const rk of before?.rows.keys() ?? []) keys.add(`${prefix}${rk}`);
    for (let i = 0; i < (before?.chunks.length ?? 0); i++) keys.add(`${prefix}m/${i}`);
    const producer = await this.producer(stage, group);
    const tx = await producer.transaction();
    try {
      for (const batch of byBytes(
        [...keys].map((k) => ({ key: k, value: null, partition })),
        SEND_BYTES,
      ))
        await tx.send({ topic: this.o.topic, messages: batch });
      await tx.commit();
    } catch (err) {
      await tx.abort().catch(() => undefined);
      throw err;
    }
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
