/**
 * List format 4, compact (what the serving stores write since issue #19): ~1 KB per top-100 list instead of format
 * 3's ~7 KB. A list is ids, scores and reasons; format 3 spelled every id, reason text, type, topic and skill out in
 * each learner's value, although they are the same few thousand strings across all learners. Format 4 keeps each
 * distinct item (resource id + its copied catalogue facts), reason (code, text, ref) and model version once, in a
 * shared dictionary (serving/list-dictionary.ts: a Redis hash, append-only, its entries never change), and a list
 * holds their dictionary numbers. Scores are quantised to 16 bits between the list's own minimum and maximum, which
 * are kept exactly: the order is the stored order (never re-derived from the scores), a score reads back within
 * (max - min) / 65535 of what was written.
 *
 * Layout (varint = unsigned LEB128 of at most 5 bytes, f64 = little-endian IEEE double, unaligned):
 *
 *   4C 34 00       magic: 'L4' and a NUL (formats 1 and 2 hold no NUL, format 3 starts 4C 33 00)
 *   varint         userId byte length, then its UTF-8 bytes
 *   varint         modelVersion (dictionary number of a ['m', version] entry)
 *   u8             source (SOURCE_BYTE), u8 flags (bit 0: eventTime present, bit 1: scores as f64; other bits 0)
 *   f64            generatedAt, [f64 eventTime]
 *   varint n       items
 *   scores         bit 1 set: n × f64 (a list with a NaN or ±Infinity score); else, n > 0: f64 min, f64 max,
 *                  n × u16 q (score = min + q × (max - min) / 65535)
 *   items          n × (varint item entry, u8 reason count, that many varint reason entries)
 *
 * Dictionary entries (JSON text): ['i', resourceId, type | null, topics | null, skills | null], ['r', code, text]
 * or ['r', code, text, ref], ['m', modelVersion].
 */
import type { Reason, RecommendationList, RecommendationView, RecommendedItem } from '../types';
import { SOURCE_BYTE, SOURCE_OF_BYTE } from './codes';
import { putVarint, varintSize } from './varint';

export const MAGIC4 = [0x4c, 0x34, 0] as const;

export type ItemEntry = { kind: 'i'; resourceId: string; type?: string; topics?: string[]; skills?: string[] };
export type ReasonEntry = { kind: 'r'; reason: Reason };
export type ModelEntry = { kind: 'm'; version: string };
export type Entry = ItemEntry | ReasonEntry | ModelEntry;

export function entryOfItem(it: RecommendedItem): string {
  return JSON.stringify(['i', it.resourceId, it.type ?? null, it.topics ?? null, it.skills ?? null]);
}
export function entryOfReason(r: Reason): string {
  return JSON.stringify(r.ref === undefined ? ['r', r.code, r.text] : ['r', r.code, r.text, r.ref]);
}
export function entryOfModel(version: string): string {
  return JSON.stringify(['m', version]);
}

/** A dictionary entry parsed, or null when it is not one (corrupt). */
export function parseEntry(text: string): Entry | null {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  if (!Array.isArray(v)) return null;
  const a = v as unknown[];
  const str = (x: unknown): x is string => typeof x === 'string';
  const strs = (x: unknown): x is string[] | null => x === null || (Array.isArray(x) && x.every(str));
  const [tag, x1, x2, x3, x4] = a;
  if (tag === 'i' && a.length === 5 && str(x1) && (x2 === null || str(x2)) && strs(x3) && strs(x4)) {
    const e: ItemEntry = { kind: 'i', resourceId: x1 };
    if (x2 !== null) e.type = x2;
    if (x3 !== null) e.topics = x3;
    if (x4 !== null) e.skills = x4;
    return e;
  }
  if (tag === 'r' && (a.length === 3 || a.length === 4) && str(x1) && str(x2) && (a.length === 3 || str(x3))) {
    const code = x1 as Reason['code'];
    return { kind: 'r', reason: a.length === 3 ? { code, text: x2 } : { code, text: x2, ref: x3 as string } };
  }
  if (tag === 'm' && a.length === 2 && str(x1)) return { kind: 'm', version: x1 };
  return null;
}

/** The dictionary numbers a list refers to, in the order encodeCompact consumes them. */
export interface ListRefs {
  model: number;
  /** Per item: its item entry. */
  items: ArrayLike<number>;
  /** Every reason entry of every item, items in order. */
  reasons: ArrayLike<number>;
}

/** Whether every score is finite (then they are quantised). */
function finiteScores(list: RecommendationList): boolean {
  for (const it of list.items) if (!Number.isFinite(it.score)) return false;
  return true;
}

/** `list` as format 4, with the dictionary numbers of its entries. */
export function encodeCompact(list: RecommendationList, refs: ListRefs): Buffer {
  const n = list.items.length;
  const userLen = Buffer.byteLength(list.userId, 'utf8');
  const quantised = finiteScores(list);
  let size = 3 + varintSize(userLen) + userLen + varintSize(refs.model) + 2 + 8 + (list.eventTime === undefined ? 0 : 8) + varintSize(n);
  size += quantised ? (n > 0 ? 16 + 2 * n : 0) : 8 * n;
  let k = 0;
  for (let i = 0; i < n; i++) {
    const it = list.items[i];
    if (it.reasons.length > 255) throw new RangeError(`list ${list.userId}: more than 255 reasons on ${it.resourceId}`);
    size += varintSize(refs.items[i]) + 1;
    for (let j = 0; j < it.reasons.length; j++) size += varintSize(refs.reasons[k++]);
  }
  const buf = Buffer.allocUnsafe(size);
  buf[0] = MAGIC4[0];
  buf[1] = MAGIC4[1];
  buf[2] = MAGIC4[2];
  let at = putVarint(buf, 3, userLen);
  at += buf.write(list.userId, at, 'utf8');
  at = putVarint(buf, at, refs.model);
  buf[at++] = SOURCE_BYTE[list.source];
  buf[at++] = (list.eventTime === undefined ? 0 : 1) | (quantised ? 0 : 2);
  at = buf.writeDoubleLE(list.generatedAt, at);
  if (list.eventTime !== undefined) at = buf.writeDoubleLE(list.eventTime, at);
  at = putVarint(buf, at, n);
  if (!quantised) for (const it of list.items) at = buf.writeDoubleLE(it.score, at);
  else if (n > 0) {
    let min = Infinity;
    let max = -Infinity;
    for (const it of list.items) {
      if (it.score < min) min = it.score;
      if (it.score > max) max = it.score;
    }
    at = buf.writeDoubleLE(min, at);
    at = buf.writeDoubleLE(max, at);
    const span = max - min;
    // A span that overflows (e.g. -MAX_VALUE .. MAX_VALUE) is Infinity: every score then reads back as min or max.
    for (const it of list.items) at = buf.writeUInt16LE(span > 0 ? Math.round(((it.score - min) / span) * 65535) : 0, at);
  }
  k = 0;
  for (let i = 0; i < n; i++) {
    const it = list.items[i];
    at = putVarint(buf, at, refs.items[i]);
    buf[at++] = it.reasons.length;
    for (let j = 0; j < it.reasons.length; j++) at = putVarint(buf, at, refs.reasons[k++]);
  }
  return buf;
}

/** Format 4 parsed down to dictionary numbers: what decodeCompact needs resolved before it builds the view. */
export interface CompactList {
  userId: string;
  model: number;
  source: RecommendationList['source'];
  generatedAt: number;
  eventTime?: number;
  score(i: number): number;
  /** Item entry of item i. */
  items: number[];
  /** Reasons of item i: reasons[reasonAt[i]] .. reasons[reasonAt[i + 1] - 1]. */
  reasons: number[];
  reasonAt: number[];
}

export function isCompact(raw: Uint8Array): boolean {
  return raw.length >= 3 && raw[0] === MAGIC4[0] && raw[1] === MAGIC4[1] && raw[2] === MAGIC4[2];
}

/** Thrown at any read past the end or impossible value; caught by parseCompact, never escapes. */
const CORRUPT = new Error('corrupt list value');

/** A format 4 value parsed (null when it does not add up). */
export function parseCompact(b: Buffer): CompactList | null {
  let at = 3;
  const end = b.length;
  const u8 = (): number => {
    if (at >= end) throw CORRUPT;
    return b[at++];
  };
  const varint = (): number => {
    if (at >= end) throw CORRUPT;
    let byte = b[at++];
    if (byte < 0x80) return byte; // nearly every number of a list: one byte, or
    let v = byte & 0x7f;
    for (let mul = 0x80; mul <= 0x10000000; mul *= 0x80) {
      if (at >= end) throw CORRUPT;
      byte = b[at++];
      v += (byte & 0x7f) * mul;
      if (byte < 0x80) return v;
    }
    throw CORRUPT;
  };
  const f64 = (): number => {
    if (at + 8 > end) throw CORRUPT;
    const v = b.readDoubleLE(at);
    at += 8;
    return v;
  };
  try {
    const userLen = varint();
    if (userLen > end - at) throw CORRUPT;
    const userId = b.toString('utf8', at, at + userLen);
    at += userLen;
    const model = varint();
    const source = SOURCE_OF_BYTE[u8()];
    const flags = u8();
    if (source === undefined || (flags & ~3) !== 0) throw CORRUPT;
    const generatedAt = f64();
    const eventTime = flags & 1 ? f64() : undefined;
    const n = varint();
    if (n > end - at) throw CORRUPT;
    let score: (i: number) => number;
    if (flags & 2) {
      const scoresAt = at;
      if (8 * n > end - at) throw CORRUPT;
      at += 8 * n;
      score = (i) => b.readDoubleLE(scoresAt + 8 * i);
    } else if (n > 0) {
      const min = f64();
      const max = f64();
      const span = max - min;
      const qAt = at;
      if (2 * n > end - at) throw CORRUPT;
      at += 2 * n;
      score = (i) => {
        const q = b.readUInt16LE(qAt + 2 * i);
        // The ends exactly as written (min + span can round away from max).
        return q === 65535 ? max : q === 0 ? min : min + (q / 65535) * span;
      };
    } else score = () => 0;
    const items = new Array<number>(n);
    const reasonAt = new Array<number>(n + 1);
    const reasons: number[] = [];
    for (let i = 0; i < n; i++) {
      items[i] = varint();
      const c = u8();
      reasonAt[i] = reasons.length;
      for (let j = 0; j < c; j++) reasons.push(varint());
    }
    reasonAt[n] = reasons.length;
    if (at !== end) throw CORRUPT;
    const out: CompactList = { userId, model, source, generatedAt, score, items, reasons, reasonAt };
    if (eventTime !== undefined) out.eventTime = eventTime;
    return out;
  } catch (err) {
    if (err === CORRUPT) return null;
    throw err;
  }
}

/** Every dictionary number `c` refers to (for one batched look-up of those not cached yet). */
export function refsOf(c: CompactList): number[] {
  const out = [c.model];
  for (const x of c.items) out.push(x);
  for (const x of c.reasons) out.push(x);
  return out;
}

/**
 * The view of a parsed list, its numbers resolved by `entry` (cached, parsed entries). null when the model entry is
 * missing or of the wrong kind (the list is unusable); an item whose entries are missing or wrong is served without
 * reasons and facts (onCorruptItem told), or left out of nothing: its id is needed, so a missing item entry makes
 * the whole list corrupt.
 */
export function viewOfCompact(
  c: CompactList,
  entry: (ref: number) => Entry | undefined,
  onCorruptItem: () => void,
): RecommendationView | null {
  const m = entry(c.model);
  if (m?.kind !== 'm') return null;
  const n = c.items.length;
  const ids = new Array<string>(n);
  const itemEntries = new Array<ItemEntry>(n);
  for (let i = 0; i < n; i++) {
    const e = entry(c.items[i]);
    if (e?.kind !== 'i') return null;
    itemEntries[i] = e;
    ids[i] = e.resourceId;
  }
  const view: RecommendationView = {
    userId: c.userId,
    modelVersion: m.version,
    generatedAt: c.generatedAt,
    source: c.source,
    ids,
    score: (i) => c.score(i),
    item(i) {
      const e = itemEntries[i];
      const item: RecommendedItem = { resourceId: e.resourceId, score: c.score(i), reasons: [] };
      const reasons: Reason[] = [];
      for (let k = c.reasonAt[i]; k < c.reasonAt[i + 1]; k++) {
        const r = entry(c.reasons[k]);
        if (r?.kind !== 'r') {
          onCorruptItem();
          return item;
        }
        // Copies: the view's items belong to the caller, the cached entries to the dictionary.
        reasons.push(
          r.reason.ref === undefined
            ? { code: r.reason.code, text: r.reason.text }
            : { code: r.reason.code, text: r.reason.text, ref: r.reason.ref },
        );
      }
      item.reasons = reasons;
      if (e.type !== undefined) item.type = e.type;
      if (e.topics !== undefined) item.topics = e.topics.slice();
      if (e.skills !== undefined) item.skills = e.skills.slice();
      return item;
    },
  };
  if (c.eventTime !== undefined) view.eventTime = c.eventTime;
  return view;
}
