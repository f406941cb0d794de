import { createHash } from 'node:crypto';
import type { KafkaMessage } from 'kafkajs';

/**
 * Reading one partition group's records of the changelog (./changelog.ts) in log order, and deciding what a restore
 * may use: which head, which version of each chunk, which rows, and which records are poison (foreign or corrupt:
 * nothing a put of this store writes) to dead-letter. Pure: the records come in, the verdict goes out; the Kafka
 * reading and the dead-letter producer stay in ./changelog.ts.
 *
 * The rule (docs/operations.md, "Poison on the changelog"): poison is dead-lettered, never fatal, and loses nothing
 * while the log still holds the last good version of what it shadows:
 * - a head that does not decode: the previous head is used (every put writes its head last, so the newest head that
 *   decodes is the newest checkpoint);
 * - a chunk `m/<i>`: any string is a valid slice of the state's JSON, so a chunk is checked against the hash its head
 *   names for it; the version in the log with that hash is used (the versions since the previous head are kept for
 *   that), a newer one that does not match is dead-lettered and the next put rewrites the key;
 * - a row without its order key: its previous version is used, the next put rewrites it.
 * When the good version is gone (compaction keeps only the newest record per key, which may be the poison), the
 * group's state cannot be rebuilt from the changelog: the verdict is a fallback, and the stage replays its input from
 * the start, as for a head of an older layout (exact while the input topics still hold every event).
 */

/** The changelog's layout; a head of another one is not read (the stage replays its input instead). */
export const LAYOUT = 2;

export interface Head {
  offsets: Record<string, string>;
  writtenAt: number;
  chunks: number;
  /** LAYOUT; absent in the first layout's heads. */
  layout?: number;
  /** Tags of the collections written as row records (the others, if any, are in the chunks). */
  split?: string[];
  /**
   * Hash of each chunk's text (chunkHash), in order: a restore takes for `m/<i>` the version in the log with this
   * hash, whatever was written under the key after it. Absent in heads written before hashes were (then the newest
   * value of each chunk key is used, and a state that does not parse is replayed).
   */
  hashes?: string[];
  /** Rows per split tag. A restore that finds other counts (a poisoned row whose good version is gone) replays. */
  counts?: Record<string, number>;
}

/** What a head names a chunk by: its text's hash (sha-1, base64: against corruption and foreign writers, not attacks). */
export function chunkHash(text: string): string {
  return createHash('sha1').update(text).digest('base64');
}

/** A `Written` text no put produces: the next put rewrites that key (its newest record in the log is poison). */
export const REWRITE = '\u0000rewrite';

/** Why a group's state cannot be rebuilt from the changelog (the restore then replays the input from the start). */
export type RestoreFallback = 'chunk-missing' | 'head-lost' | 'rows-missing' | 'state-undecodable';

/** A row record's order key and the row's JSON text, or null when it is not one (a first-layout value, a foreign one). */
export function rowRecord(value: string): [number, string] | null {
  // what put writes: `{"o":<number>,"v":<row>}`; the row's text is cut out as written, so an unchanged row compares equal
  if (!value.startsWith('{"o":')) return null;
  const comma = value.indexOf(',"v":');
  if (comma < 0 || !value.endsWith('}')) return null;
  const o = Number(value.slice(5, comma));
  return Number.isFinite(o) ? [o, value.slice(comma + 5, -1)] : null;
}

/** A head record's value decoded, or why it is not one. */
function decodeHead(value: string): Head | string {
  let h: Partial<Head> | null;
  try {
    h = JSON.parse(value) as Partial<Head> | null;
  } catch (err) {
    return `changelog record does not decode: ${(err as Error).message}`;
  }
  if (!h || typeof h !== 'object' || !h.offsets || typeof h.offsets !== 'object' || !Number.isSafeInteger(h.chunks) || h.chunks! < 0)
    return 'changelog head without offsets and chunks';
  if (h.hashes !== undefined && (!Array.isArray(h.hashes) || h.hashes.length !== h.chunks || h.hashes.some((x) => typeof x !== 'string')))
    return 'changelog head whose chunk hashes do not match its chunk count';
  return h as Head;
}

export interface Letter {
  m: KafkaMessage;
  why: string;
}

interface ChunkRec {
  value: string;
  hash: string;
  m: KafkaMessage;
}

/** The verdict on one group's records. `letters`: what to dead-letter, whatever the verdict. */
export type GroupVerdict = { letters: Letter[] } & (
  | { kind: 'none' }
  | { kind: 'older-layout'; stale: string[] }
  | { kind: 'fallback'; reason: RestoreFallback; detail: string; stale: string[] }
  | {
      kind: 'state';
      head: Head;
      /** The chunks' texts, REWRITE for those the next put must write again. */
      chunks: string[];
      meta: Record<string, unknown>;
      /** `<tag>/<id>` -> [order key, the row's JSON] (REWRITE as the text: the next put writes it again). */
      rows: Map<string, [number, string]>;
      /** Parsed rows per tag, [order key, row], in read order. */
      byTag: Map<string, [number, unknown][]>;
      /** Keys (after the group's prefix) the next put tombstones unless it writes them. */
      stale: string[];
    }
);

/** One group's records, fed in log order (`add`), judged at the end (`finish`). */
export class GroupLogReader {
  /** Chunk versions since the last accepted head, per index, oldest first: the next head picks its ones by hash. */
  private pending = new Map<number, ChunkRec[]>();
  /** The newest record of each chunk key (null: a tombstone). */
  private readonly latest = new Map<number, ChunkRec | null>();
  /** The newest head that decodes, with the chunk versions it names (null: one is not in the log). */
  private accepted: { head: Head; chunks: ChunkRec[] | null; missing?: string } | null = null;
  /** A head that did not decode came after the accepted one (or there is none). */
  private badHead = false;
  /** Per row key: its newest well-formed record, and a misshapen one written after it. */
  private readonly rowRecs = new Map<string, { good?: [number, string]; bad?: KafkaMessage }>();
  private readonly letters: Letter[] = [];
  private readonly lettered = new Set<string>();

  constructor(private readonly tags: ReadonlySet<string>) {}

  private letter(m: KafkaMessage, why: string): void {
    if (this.lettered.has(m.offset)) return;
    this.lettered.add(m.offset);
    this.letters.push({ m, why });
  }

  /** One record under the group's prefix: `rest` is its key after the prefix. */
  add(rest: string, value: string | null, m: KafkaMessage): void {
    if (rest === 'head') this.head(value, m);
    else if (rest.startsWith('m/')) this.chunk(rest, value, m);
    else this.row(rest, value, m);
  }

  private head(value: string | null, m: KafkaMessage): void {
    if (value === null) {
      // delete(): the group's checkpoint is gone (its rows and chunks were tombstoned in the same transaction)
      this.accepted = null;
      this.badHead = false;
      this.pending = new Map();
      return;
    }
    const h = decodeHead(value);
    if (typeof h === 'string') {
      this.letter(m, h);
      this.badHead = true;
      return;
    }
    this.badHead = false;
    let chunks: ChunkRec[] | null = [];
    let missing: string | undefined;
    for (let i = 0; i < h.chunks; i++) {
      let found: ChunkRec | undefined;
      if (h.hashes) {
        const want = h.hashes[i];
        const versions = this.pending.get(i) ?? [];
        for (let v = versions.length - 1; v >= 0 && !found; v--) if (versions[v].hash === want) found = versions[v];
        // a chunk the put did not rewrite: the previous head's version
        if (!found && this.accepted?.chunks?.[i]?.hash === want) found = this.accepted.chunks[i];
      } else found = this.latest.get(i) ?? undefined; // a head without hashes: the newest version before it
      if (!found) {
        missing = `chunk ${i} of ${h.chunks}${h.hashes ? ` (hash ${h.hashes[i]})` : ''} is not in the log`;
        chunks = null;
        break;
      }
      chunks.push(found);
    }
    this.accepted = { head: h, chunks, ...(missing ? { missing } : {}) };
    this.pending = new Map();
  }

  private chunk(rest: string, value: string | null, m: KafkaMessage): void {
    const digits = rest.slice(2);
    if (!/^\d{1,9}$/.test(digits)) {
      if (value !== null) this.letter(m, 'changelog chunk key without an index');
      return;
    }
    const i = Number(digits);
    if (value === null) {
      this.latest.set(i, null);
      return;
    }
    const rec: ChunkRec = { value, hash: chunkHash(value), m };
    this.latest.set(i, rec);
    let list = this.pending.get(i);
    if (!list) this.pending.set(i, (list = []));
    list.push(rec);
  }

  private row(rest: string, value: string | null, m: KafkaMessage): void {
    if (value === null) {
      this.rowRecs.delete(rest);
      return;
    }
    const slash = rest.indexOf('/');
    const rec = slash > 0 && this.tags.has(rest.slice(0, slash)) ? rowRecord(value) : null;
    if (rec) this.rowRecs.set(rest, { good: rec });
    else {
      const e = this.rowRecs.get(rest) ?? {};
      e.bad = m;
      this.rowRecs.set(rest, e);
    }
  }

  /** Every key the group holds in the log (the next put tombstones the ones its state does not have). */
  private allKeys(): string[] {
    const keys = [...this.rowRecs.keys()];
    for (const [i, r] of this.latest) if (r) keys.push(`m/${i}`);
    return keys;
  }

  finish(): GroupVerdict {
    const letters = this.letters;
    const a = this.accepted;
    if (!a) {
      if (this.badHead)
        return {
          kind: 'fallback',
          reason: 'head-lost',
          detail: 'no head of the group decodes (the last good one is no longer in the log)',
          stale: this.allKeys(),
          letters,
        };
      return { kind: 'none', letters };
    }
    const h = a.head;
    if (h.layout !== LAYOUT) return { kind: 'older-layout', stale: this.allKeys(), letters };
    // Chunk records after the accepted head are foreign (a put writes its chunks before its head, in one transaction),
    // and so is a newest chunk record the head does not name.
    for (const versions of this.pending.values())
      for (const r of versions) this.letter(r.m, 'changelog chunk written after the newest head (not part of a checkpoint)');
    const stale = new Set<string>();
    const rewrite = new Set<number>();
    if (!a.chunks)
      return {
        kind: 'fallback',
        reason: 'chunk-missing',
        detail: a.missing ?? 'a chunk is not in the log',
        stale: this.allKeys(),
        letters,
      };
    const named = a.chunks;
    for (const [i, r] of this.latest) {
      if (i >= h.chunks) {
        if (r) {
          this.letter(r.m, `changelog chunk ${i} beyond the head's ${h.chunks}`);
          stale.add(`m/${i}`);
        }
      } else if (!r || r.hash !== named[i].hash) {
        if (r) this.letter(r.m, `changelog chunk ${i} is not the version its head names${h.hashes ? ' (hash mismatch)' : ''}`);
        rewrite.add(i);
      }
    }
    const chunks = named.map((c) => c.value);
    let meta: Record<string, unknown>;
    try {
      const text = chunks.join('');
      const parsed: unknown = text ? JSON.parse(text) : {};
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
      meta = parsed as Record<string, unknown>;
    } catch (err) {
      return {
        kind: 'fallback',
        reason: 'state-undecodable',
        detail: `the chunks of the head do not parse: ${(err as Error).message}`,
        stale: this.allKeys(),
        letters,
      };
    }
    const split = new Set(h.split ?? []);
    const rows = new Map<string, [number, string]>();
    const byTag = new Map<string, [number, unknown][]>();
    const counts = new Map<string, number>();
    for (const [rest, e] of this.rowRecs) {
      const tag = rest.slice(0, Math.max(0, rest.indexOf('/')));
      if (e.bad) this.letter(e.bad, `changelog row without its order key (${tag || rest})`);
      if (!e.good || !split.has(tag)) {
        stale.add(rest);
        continue;
      }
      let row: unknown;
      try {
        row = JSON.parse(e.good[1]);
      } catch {
        stale.add(rest);
        continue;
      }
      rows.set(rest, e.bad ? [e.good[0], REWRITE] : e.good);
      let list = byTag.get(tag);
      if (!list) byTag.set(tag, (list = []));
      list.push([e.good[0], row]);
      counts.set(tag, (counts.get(tag) ?? 0) + 1);
    }
    if (h.counts) {
      const off = [...split].filter((t) => (h.counts![t] ?? 0) !== (counts.get(t) ?? 0));
      if (off.length > 0)
        return {
          kind: 'fallback',
          reason: 'rows-missing',
          detail: off.map((t) => `${t}: ${counts.get(t) ?? 0} rows of ${h.counts![t] ?? 0}`).join(', '),
          stale: this.allKeys(),
          letters,
        };
    }
    return {
      kind: 'state',
      head: h,
      chunks: chunks.map((c, i) => (rewrite.has(i) ? REWRITE : c)),
      meta,
      rows,
      byTag,
      stale: [...stale],
      letters,
    };
  }
}
