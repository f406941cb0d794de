/**
 * List format 3, binary (what encodeList writes; the stores write format 4, format-4.ts, since issue #19). Format 2
 * cost ~17-20 KB per top-100 list (19 GiB at 1M learners) and building and writing its ~25 KB string was ~10% of the
 * learner stage's CPU: the same resource ids, reason texts, topics and skills were spelled out again and again. Format 3 stores every distinct string once and refers to it by
 * index. Layout (varint = unsigned LEB128 of at most 5 bytes, f64 = little-endian IEEE double, unaligned):
 *
 *   4C 33 00                 magic: 'L3' and a NUL (no format 1 or 2 value can contain a NUL byte)
 *   strings                  varint count, count × varint UTF-8 byte length, then the bytes of every string,
 *                            back to back (strings are referred to by their 0-based position)
 *   header                   varint userId, varint modelVersion (string indexes), u8 source (SOURCE_BYTE),
 *                            u8 flags (bit 0: eventTime present, other bits 0), f64 generatedAt, [f64 eventTime]
 *   ids                      varint n, then n varint string indexes: the resource ids, in list order
 *   scores                   n × f64 (doubles, so a score reads back exactly as written, NaN and ±Infinity included)
 *   items                    n × (varint byte length of the item, then the item:)
 *                              u8 reason count, per reason: u8 code (REASON_BYTE), varint text, varint ref + 1 (0 = none)
 *                              varint type + 1 (0 = absent)
 *                              varint topic count + 1 (0 = absent), that many varint string indexes
 *                              varint skill count + 1 (0 = absent), that many varint string indexes
 *
 * A reader checks the whole layout down to the item boundaries (any shortfall or excess = corrupt) and decodes the
 * header and the ids (what exclusion, filtering and paging need); a score is read when asked for (explain=true), an
 * item and the strings it refers to only when its reasons or copied facts are. The byte length in front of each item
 * lets the reader find item i without parsing items 0..i-1.
 */
import { isAscii } from 'node:buffer';
import type { Reason, RecommendationList, RecommendationView } from '../types';
import { REASON_BYTE, REASON_OF_BYTE, SOURCE_BYTE, SOURCE_OF_BYTE } from './codes';
import { putVarint, utf8Length, varintSize } from './varint';
import { viewOf, type Header } from './view';

export const MAGIC3 = [0x4c, 0x33, 0] as const;

// Scratch space reused across calls (encodeList is synchronous, so calls never interleave): a list is written into
// it and copied out once, instead of allocating per field.
let scratch = Buffer.allocUnsafe(64 * 1024);
let refScratch = new Int32Array(4096);

/** A list as format 3 (see the top of this file). */
export function encodeList(list: RecommendationList): Buffer {
  const index = new Map<string, number>();
  const strings: string[] = [];
  // Pass 1: every string reference, as the string's table index, in the order pass 2 writes them.
  let refs = refScratch;
  let nRefs = 0;
  let nReasons = 0;
  const intern = (s: string): void => {
    let i = index.get(s);
    if (i === undefined) {
      i = strings.push(s) - 1;
      index.set(s, i);
    }
    if (nRefs === refs.length) {
      const grown = new Int32Array(refs.length * 2);
      grown.set(refs);
      refs = refScratch = grown;
    }
    refs[nRefs++] = i;
  };
  intern(list.userId);
  intern(list.modelVersion);
  for (const it of list.items) intern(it.resourceId);
  for (const it of list.items) {
    if (it.reasons.length > 255) throw new RangeError(`list ${list.userId}: more than 255 reasons on ${it.resourceId}`);
    nReasons += it.reasons.length;
    for (const r of it.reasons) {
      intern(r.text);
      if (r.ref !== undefined) intern(r.ref);
    }
    if (it.type !== undefined) intern(it.type);
    if (it.topics !== undefined) for (const t of it.topics) intern(t);
    if (it.skills !== undefined) for (const s of it.skills) intern(s);
  }
  let textBytes = 0;
  const lengths = new Array<number>(strings.length);
  for (let i = 0; i < strings.length; i++) textBytes += lengths[i] = utf8Length(strings[i]);

  // Pass 2 writes into a buffer known to be large enough: every varint ≤ 5 bytes, every item ≤ 4 + 1 + 2 × reasons
  // bytes + its references, each length prefix ≤ 5.
  const n = list.items.length;
  const bound = 64 + 5 * strings.length + textBytes + 5 * nRefs + 2 * nReasons + 40 * n;
  if (scratch.length < bound) scratch = Buffer.allocUnsafe(Math.max(bound, 2 * scratch.length));
  const buf = scratch;
  let r = 0;
  buf[0] = 0x4c;
  buf[1] = 0x33;
  buf[2] = 0;
  let at = putVarint(buf, 3, strings.length);
  for (const len of lengths) at = putVarint(buf, at, len);
  // One write of all the text: one call into the runtime instead of one per string.
  at += buf.write(strings.join(''), at, 'utf8');
  at = putVarint(buf, at, refs[r++]);
  at = putVarint(buf, at, refs[r++]);
  buf[at++] = SOURCE_BYTE[list.source];
  buf[at++] = list.eventTime === undefined ? 0 : 1;
  at = buf.writeDoubleLE(list.generatedAt, at);
  if (list.eventTime !== undefined) at = buf.writeDoubleLE(list.eventTime, at);
  at = putVarint(buf, at, n);
  for (let i = 0; i < n; i++) at = putVarint(buf, at, refs[r++]);
  for (const it of list.items) at = buf.writeDoubleLE(it.score, at);
  const many = (xs: string[] | undefined): void => {
    if (xs === undefined) {
      buf[at++] = 0;
      return;
    }
    at = putVarint(buf, at, xs.length + 1);
    for (let k = 0; k < xs.length; k++) at = putVarint(buf, at, refs[r++]);
  };
  for (const it of list.items) {
    // The item behind a 1-byte length (items are nearly always < 128 bytes), moved up when it needs more.
    const start = at++;
    buf[at++] = it.reasons.length;
    for (const reason of it.reasons) {
      buf[at++] = REASON_BYTE[reason.code];
      at = putVarint(buf, at, refs[r++]);
      at = reason.ref === undefined ? putVarint(buf, at, 0) : putVarint(buf, at, refs[r++] + 1);
    }
    at = it.type === undefined ? putVarint(buf, at, 0) : putVarint(buf, at, refs[r++] + 1);
    many(it.topics);
    many(it.skills);
    const len = at - start - 1;
    const w = varintSize(len);
    if (w > 1) buf.copyWithin(start + w, start + 1, at);
    putVarint(buf, start, len);
    at += w - 1;
  }
  const encoded = Buffer.allocUnsafe(at);
  buf.copy(encoded, 0, 0, at);
  // A rare huge list does not keep huge scratch space alive.
  if (scratch.length > 1 << 20) scratch = Buffer.allocUnsafe(64 * 1024);
  if (refScratch.length > 1 << 16) refScratch = new Int32Array(4096);
  return encoded;
}

/** Thrown by Reader at any read past its end or any impossible value; caught by the decoder, never escapes. */
const CORRUPT = new Error('corrupt list value');

class Reader {
  constructor(
    readonly b: Buffer,
    public at: number,
    readonly end: number,
  ) {}
  u8(): number {
    if (this.at >= this.end) throw CORRUPT;
    return this.b[this.at++];
  }
  varint(): number {
    let v = 0;
    for (let shift = 0; shift <= 28; shift += 7) {
      const byte = this.u8();
      v += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return v;
    }
    throw CORRUPT;
  }
  f64(): number {
    if (this.at + 8 > this.end) throw CORRUPT;
    const v = this.b.readDoubleLE(this.at);
    this.at += 8;
    return v;
  }
  skip(n: number): number {
    const at = this.at;
    if (n > this.end - at) throw CORRUPT;
    this.at += n;
    return at;
  }
}

/** Format 3 (`b` starts with its magic). */
export function decodeView3(b: Buffer, onCorruptItem: () => void): RecommendationView | null {
  const r = new Reader(b, 3, b.length);
  let str: (i: number) => string;
  let h: Header;
  let ids: string[];
  let scoresAt: number;
  let itemAt: Int32Array;
  try {
    const count = r.varint();
    if (count > r.end - r.at) throw CORRUPT; // each length takes at least a byte
    // Where each string's bytes are (start, end); decoded on first use, once per view.
    const spans = new Int32Array(count + 1);
    let total = 0;
    for (let i = 0; i < count; i++) {
      spans[i] = total;
      total += r.varint();
    }
    const textAt = r.skip(total);
    spans[count] = total;
    // Nearly always all ASCII: then one decode of the whole table, and each string is a slice of it.
    const ascii = isAscii(b.subarray(textAt, textAt + total)) ? b.toString('latin1', textAt, textAt + total) : null;
    const decoded: (string | undefined)[] = new Array<string | undefined>(count);
    str = (i) => {
      if (!(i < count)) throw CORRUPT;
      return (decoded[i] ??=
        ascii !== null ? ascii.slice(spans[i], spans[i + 1]) : b.toString('utf8', textAt + spans[i], textAt + spans[i + 1]));
    };
    const userId = str(r.varint());
    const modelVersion = str(r.varint());
    const source = SOURCE_OF_BYTE[r.u8()];
    const flags = r.u8();
    if (source === undefined || (flags & ~1) !== 0) throw CORRUPT;
    h = { userId, modelVersion, source, generatedAt: r.f64() };
    if (flags & 1) h.eventTime = r.f64();
    const n = r.varint();
    if (n > r.end - r.at) throw CORRUPT;
    ids = new Array<string>(n);
    for (let i = 0; i < n; i++) ids[i] = str(r.varint());
    scoresAt = r.skip(8 * n);
    // Item i is bytes itemAt[i] .. itemAt[i + 1] - (its length prefix); the ends are checked here, the contents when asked.
    itemAt = new Int32Array(2 * n);
    for (let i = 0; i < n; i++) {
      const len = r.varint();
      itemAt[2 * i] = r.skip(len);
      itemAt[2 * i + 1] = r.at;
    }
    if (r.at !== r.end) throw CORRUPT;
  } catch (err) {
    if (err === CORRUPT) return null;
    throw err;
  }
  const score = (i: number): number => b.readDoubleLE(scoresAt + 8 * i);
  return viewOf(h, ids, score, (i, item) => {
    const ir = new Reader(b, itemAt[2 * i], itemAt[2 * i + 1]);
    const many = (): string[] | undefined => {
      const c = ir.varint();
      if (c === 0) return undefined;
      const xs = new Array<string>(c - 1);
      for (let k = 0; k < c - 1; k++) xs[k] = str(ir.varint());
      return xs;
    };
    try {
      const reasons: Reason[] = new Array<Reason>(ir.u8());
      for (let k = 0; k < reasons.length; k++) {
        const code = REASON_OF_BYTE[ir.u8()];
        if (code === undefined) throw CORRUPT;
        const text = str(ir.varint());
        const ref = ir.varint();
        reasons[k] = ref === 0 ? { code, text } : { code, text, ref: str(ref - 1) };
      }
      const typeRef = ir.varint();
      const type = typeRef === 0 ? undefined : str(typeRef - 1);
      const topics = many();
      const skills = many();
      if (ir.at !== ir.end) throw CORRUPT;
      item.reasons = reasons;
      if (type !== undefined) item.type = type;
      if (topics) item.topics = topics;
      if (skills) item.skills = skills;
    } catch (err) {
      if (err !== CORRUPT) throw err;
      onCorruptItem();
    }
  });
}
