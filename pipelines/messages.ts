/**
 * Records of the internal topics model.item-updates and model.item-factors. They are private to the pipeline (written
 * and read only by its stages, versioned with the code); the public event contracts are the Avro schemas in schemas/.
 * Gradients travel many to a record in a binary layout (`encodeDeltaBatch`) and rows in one too (`encodeItemRow`):
 * JSON + base64 per gradient was a tenth of the learner stage's CPU. Catalogue upserts and removals (rare) stay
 * JSON. Decoders still read the JSON forms, so topics written by an older version stay readable.
 */
import { b64ToF32, f32ToB64 } from '../consumers/state/codec';
import type { ItemGradient } from '../models/collab';
import type { HeldSignals, ItemMeta, ItemRow, ItemTable } from './model/item-table';
import type { TransitionRow } from '../models/recommender/signals';
import { InvariantError, ValidationError } from '../lib/errors';

/** Header that identifies where an item update came from, for exactly-once dedup at the item owner. */
export interface UpdateSource {
  /** `topic:partition` of the learner-stage input the update was derived from. */
  src: string;
  /** Offset of that input record. */
  off: string;
  /** Index of this update among those derived from the same input record. */
  seq: number;
}

export type ItemUpdate =
  | ({ kind: 'delta'; itemId: string } & Omit<ItemGradient, 'resourceId'> & UpdateSource)
  /**
   * The recommender's global signals learned from one engagement, for the owner of `itemId`: transitions itemId → to[k]
   * with weights w[k], and `pop` added to itemId's popularity (0 = none), at event time `t` (seconds).
   */
  | ({ kind: 'links'; itemId: string; to: string[]; w: number[]; pop: number; t: number } & UpdateSource)
  | { kind: 'upsert'; itemId: string; f?: Float32Array; b?: number; active: boolean; meta?: ItemMeta }
  | { kind: 'remove'; itemId: string };

export type DeltaUpdate = Extract<ItemUpdate, { kind: 'delta' }>;
export type LinksUpdate = Extract<ItemUpdate, { kind: 'links' }>;
/** What travels batched per target partition: gradients and signal updates, each with its own source position. */
export type BatchedUpdate = DeltaUpdate | LinksUpdate;

/** First byte of a binary record; JSON records start with '{' (0x7b). */
const DELTA_BATCH = 0x02;
const ROW = 0x03;
const MIXED_BATCH = 0x04;
const SIGNALS = 0x05;

/**
 * model.item-factors carries two records per item, each under its own key so that compaction keeps both: the row
 * (key = item id: factors, bias, count, catalogue facts) and the item's recommender signals (key = item id + this
 * suffix: transition row and popularity). A gradient moves only the first and a transition only the second; one record
 * with both re-sent the kilobytes of a transition row with every gradient of a sampled negative, and 128 bytes of
 * factors with every transition. Ids never contain control characters (schemas/validate.ts), so no item id ends so.
 */
export const SIGNALS_KEY_SUFFIX = '\u0000s';

/** The model.item-factors key of `itemId`'s signals record. */
export function signalsKey(itemId: string): string {
  return itemId + SIGNALS_KEY_SUFFIX;
}

/** The item a model.item-factors key names the signals of, or undefined for a row key. */
export function signalsKeyItem(key: string): string | undefined {
  return key.endsWith(SIGNALS_KEY_SUFFIX) ? key.slice(0, -SIGNALS_KEY_SUFFIX.length) : undefined;
}

/**
 * Gradients and signal updates in one record (0x04): u8 0x04, u16 dim, u32 count, u16 sources, per source u16 length
 * + utf8; then per update u8 tag (0 = gradient: the 0x02 entry layout; 1 = links: u16 source index, i64 offset, u32
 * seq, f64 t, f64 pop, u16 id length + utf8, u16 links, per link u16 length + utf8 + f64 weight).
 */
export function encodeUpdateBatch(updates: readonly BatchedUpdate[]): Buffer {
  if (updates.every((u) => u.kind === 'delta')) return encodeDeltaBatch(updates);
  const first = updates.find((u) => u.kind === 'delta');
  const dim = first ? first.grad.length : 0;
  const sources = new Map<string, number>();
  const srcBytes: Buffer[] = [];
  const parts: Buffer[] = [];
  for (const u of updates) {
    if (!sources.has(u.src)) {
      sources.set(u.src, srcBytes.length);
      srcBytes.push(Buffer.from(u.src, 'utf8'));
    }
    const id = Buffer.from(u.itemId, 'utf8');
    if (u.kind === 'delta') {
      if (u.grad.length !== dim) throw new InvariantError(`gradient of ${u.grad.length} dims in a batch of ${dim}`);
      const b = Buffer.allocUnsafe(1 + deltaBytes(id, dim));
      writeDelta(b, b.writeUInt8(0, 0), u, sources.get(u.src)!, id);
      parts.push(b);
    } else {
      const to = u.to.map((x) => Buffer.from(x, 'utf8'));
      let size = 1 + 2 + 8 + 4 + 8 + 8 + 2 + id.length + 2;
      for (const x of to) size += 2 + x.length + 8;
      const b = Buffer.allocUnsafe(size);
      let o = b.writeUInt8(1, 0);
      o = b.writeUInt16LE(sources.get(u.src)!, o);
      o = b.writeBigInt64LE(BigInt(u.off), o);
      o = b.writeUInt32LE(u.seq, o);
      o = b.writeDoubleLE(u.t, o);
      o = b.writeDoubleLE(u.pop, o);
      o = b.writeUInt16LE(id.length, o);
      o += id.copy(b, o);
      o = b.writeUInt16LE(to.length, o);
      to.forEach((x, k) => {
        o = b.writeUInt16LE(x.length, o);
        o += x.copy(b, o);
        o = b.writeDoubleLE(u.w[k], o);
      });
      parts.push(b);
    }
  }
  const head = Buffer.allocUnsafe(headerBytes(srcBytes));
  writeBatchHeader(head, MIXED_BATCH, dim, updates.length, srcBytes);
  return Buffer.concat([head, ...parts]);
}

/** The header both batch layouts share: u8 kind, u16 dim, u32 count, u16 sources, per source u16 length + utf8. */
function headerBytes(srcBytes: readonly Buffer[]): number {
  let n = 1 + 2 + 4 + 2;
  for (const b of srcBytes) n += 2 + b.length;
  return n;
}

function writeBatchHeader(out: Buffer, kind: number, dim: number, count: number, srcBytes: readonly Buffer[]): number {
  let o = out.writeUInt8(kind, 0);
  o = out.writeUInt16LE(dim, o);
  o = out.writeUInt32LE(count, o);
  o = out.writeUInt16LE(srcBytes.length, o);
  for (const b of srcBytes) {
    o = out.writeUInt16LE(b.length, o);
    o += b.copy(out, o);
  }
  return o;
}

/** One gradient entry of a batch: u16 source index, i64 offset, u32 seq, u8 countsAsEvent, f64 timestamp, f64 gradBias, u16 id length + utf8, dim x f32. */
function deltaBytes(id: Buffer, dim: number): number {
  return 2 + 8 + 4 + 1 + 8 + 8 + 2 + id.length + 4 * dim;
}

function writeDelta(out: Buffer, at: number, d: DeltaUpdate, source: number, id: Buffer): number {
  let o = out.writeUInt16LE(source, at);
  o = out.writeBigInt64LE(BigInt(d.off), o);
  o = out.writeUInt32LE(d.seq, o);
  o = out.writeUInt8(d.countsAsEvent ? 1 : 0, o);
  o = out.writeDoubleLE(d.timestamp, o);
  o = out.writeDoubleLE(d.gradBias, o);
  o = out.writeUInt16LE(id.length, o);
  o += id.copy(out, o);
  return o + Buffer.from(d.grad.buffer, d.grad.byteOffset, d.grad.byteLength).copy(out, o);
}

/** The header both batch layouts share: u8 kind, u16 dim, u32 count, u16 sources, per source u16 length + utf8. */
function batchHeader(buf: Buffer): { dim: number; n: number; sources: string[]; at: number } {
  const dim = buf.readUInt16LE(1);
  const n = buf.readUInt32LE(3);
  const nSrc = buf.readUInt16LE(7);
  let o = 9;
  const sources: string[] = [];
  for (let s = 0; s < nSrc; s++) {
    const len = buf.readUInt16LE(o);
    sources.push(buf.toString('utf8', o + 2, o + 2 + len));
    o += 2 + len;
  }
  return { dim, n, sources, at: o };
}

function decodeMixedBatch(buf: Buffer): ItemUpdate[] {
  const { dim, n, sources, at } = batchHeader(buf);
  let o = at;
  const out: ItemUpdate[] = [];
  for (let j = 0; j < n; j++) {
    const tag = buf[o];
    const src = sources[buf.readUInt16LE(o + 1)];
    const off = buf.readBigInt64LE(o + 3).toString();
    const seq = buf.readUInt32LE(o + 11);
    if (tag === 0) {
      const countsAsEvent = buf[o + 15] === 1;
      const timestamp = buf.readDoubleLE(o + 16);
      const gradBias = buf.readDoubleLE(o + 24);
      const len = buf.readUInt16LE(o + 32);
      const itemId = buf.toString('utf8', o + 34, o + 34 + len);
      o += 34 + len;
      out.push({ kind: 'delta', itemId, grad: f32At(buf, o, dim), gradBias, countsAsEvent, timestamp, src, off, seq });
      o += 4 * dim;
    } else if (tag === 1) {
      const t = buf.readDoubleLE(o + 15);
      const pop = buf.readDoubleLE(o + 23);
      const len = buf.readUInt16LE(o + 31);
      const itemId = buf.toString('utf8', o + 33, o + 33 + len);
      o += 33 + len;
      const m = buf.readUInt16LE(o);
      o += 2;
      const to: string[] = [];
      const w: number[] = [];
      for (let k = 0; k < m; k++) {
        const l = buf.readUInt16LE(o);
        to.push(buf.toString('utf8', o + 2, o + 2 + l));
        w.push(buf.readDoubleLE(o + 2 + l));
        o += 2 + l + 8;
      }
      out.push({ kind: 'links', itemId, to, w, pop, t, src, off, seq });
    } else throw new ValidationError(`unknown update tag ${tag} in an item-update batch`);
  }
  endOfBatch(buf, o);
  return out;
}

/** A batch must end where its last update does: a truncated or padded record is not one of ours. */
function endOfBatch(buf: Buffer, o: number): void {
  if (o !== buf.length) throw new RangeError(`item-update batch of ${buf.length} bytes ends at byte ${o}`);
}

/**
 * Many gradients in one record, each keeping its own identity (source, offset, seq) for the owner's dedup: nothing is
 * summed. Layout (little-endian): u8 0x02, u16 dim, u32 count, u16 sources, per source u16 length + utf8; then per
 * gradient u16 source index, i64 offset, u32 seq, u8 countsAsEvent, f64 timestamp, f64 gradBias, u16 id length +
 * utf8, dim x f32 (the gradient's exact bytes).
 */
export function encodeDeltaBatch(deltas: readonly DeltaUpdate[]): Buffer {
  const dim = deltas.length > 0 ? deltas[0].grad.length : 0;
  const sources = new Map<string, number>();
  const srcBytes: Buffer[] = [];
  const idBytes: Buffer[] = new Array<Buffer>(deltas.length);
  let size = 0;
  for (let j = 0; j < deltas.length; j++) {
    const d = deltas[j];
    if (d.grad.length !== dim) throw new InvariantError(`gradient of ${d.grad.length} dims in a batch of ${dim}`);
    if (!sources.has(d.src)) {
      sources.set(d.src, srcBytes.length);
      srcBytes.push(Buffer.from(d.src, 'utf8'));
    }
    idBytes[j] = Buffer.from(d.itemId, 'utf8');
    size += deltaBytes(idBytes[j], dim);
  }
  const out = Buffer.allocUnsafe(headerBytes(srcBytes) + size);
  let o = writeBatchHeader(out, DELTA_BATCH, dim, deltas.length, srcBytes);
  for (let j = 0; j < deltas.length; j++) o = writeDelta(out, o, deltas[j], sources.get(deltas[j].src)!, idBytes[j]);
  return out;
}

/** Every update in one model.item-updates record: a gradient batch, or one JSON update (upsert, remove, old delta). */
export function decodeItemUpdates(buf: Buffer): ItemUpdate[] {
  if (buf.length > 0 && buf[0] === MIXED_BATCH) return decodeMixedBatch(buf);
  if (buf.length === 0 || buf[0] !== DELTA_BATCH) return [decodeItemUpdate(buf)];
  const { dim, n, sources, at } = batchHeader(buf);
  let o = at;
  const out: ItemUpdate[] = new Array<ItemUpdate>(n);
  for (let j = 0; j < n; j++) {
    const src = sources[buf.readUInt16LE(o)];
    const off = buf.readBigInt64LE(o + 2).toString();
    const seq = buf.readUInt32LE(o + 10);
    const countsAsEvent = buf[o + 14] === 1;
    const timestamp = buf.readDoubleLE(o + 15);
    const gradBias = buf.readDoubleLE(o + 23);
    const len = buf.readUInt16LE(o + 31);
    const itemId = buf.toString('utf8', o + 33, o + 33 + len);
    o += 33 + len;
    out[j] = { kind: 'delta', itemId, grad: f32At(buf, o, dim), gradBias, countsAsEvent, timestamp, src, off, seq };
    o += 4 * dim;
  }
  endOfBatch(buf, o);
  return out;
}

/** A Float32Array copy of `dim` floats at byte `o` (a copy: record buffers are pooled and unaligned). */
function f32At(buf: Buffer, o: number, dim: number): Float32Array {
  // subarray past the end gives fewer bytes, not an error: a truncated record would read as zeros
  if (o + 4 * dim > buf.length) throw new RangeError(`${dim} floats at byte ${o} run past the end of a ${buf.length}-byte record`);
  const out = new Float32Array(dim);
  // a plain Uint8Array view, not buf.subarray: a Buffer subarray constructs a FastBuffer (the replica decodes ~17 rows per event)
  new Uint8Array(out.buffer).set(new Uint8Array(buf.buffer, buf.byteOffset + o, 4 * dim));
  return out;
}

export function encodeItemUpdate(u: ItemUpdate): Buffer {
  switch (u.kind) {
    case 'delta':
      return Buffer.from(
        JSON.stringify({
          k: 'd',
          i: u.itemId,
          g: f32ToB64(u.grad),
          gb: u.gradBias,
          c: u.countsAsEvent ? 1 : 0,
          t: u.timestamp,
          s: u.src,
          o: u.off,
          q: u.seq,
        }),
      );
    case 'upsert':
      return Buffer.from(JSON.stringify({ k: 'u', i: u.itemId, f: u.f ? f32ToB64(u.f) : undefined, b: u.b, a: u.active, m: u.meta }));
    case 'remove':
      return Buffer.from(JSON.stringify({ k: 'r', i: u.itemId }));
    case 'links':
      return encodeUpdateBatch([u]);
  }
}

export function decodeItemUpdate(buf: Buffer): ItemUpdate {
  const j = JSON.parse(buf.toString('utf8')) as Record<string, unknown> | null;
  // Anything else used to decode too: `{}` became a removal of the item "undefined", an unknown kind a removal.
  if (typeof j !== 'object' || j === null || typeof j.i !== 'string') throw new ValidationError('not an item update: no item id');
  const itemId = j.i;
  if (j.k === 'd')
    return {
      kind: 'delta',
      itemId,
      grad: b64ToF32(String(j.g)),
      gradBias: Number(j.gb),
      countsAsEvent: j.c === 1,
      timestamp: Number(j.t),
      src: String(j.s),
      off: String(j.o),
      seq: Number(j.q),
    };
  if (j.k === 'u')
    return {
      kind: 'upsert',
      itemId,
      f: typeof j.f === 'string' ? b64ToF32(j.f) : undefined,
      b: typeof j.b === 'number' ? j.b : undefined,
      active: j.a === true,
      meta: j.m as ItemMeta | undefined,
    };
  if (j.k === 'r') return { kind: 'remove', itemId };
  throw new ValidationError(`not an item update: unknown kind ${JSON.stringify(j.k)}`);
}

/** Catalogue facts change rarely and the same object is broadcast with every row update: serialise it once. */
const metaBytes = new WeakMap<ItemMeta, Buffer>();

function metaBuffer(m: ItemMeta): Buffer {
  let b = metaBytes.get(m);
  if (!b) metaBytes.set(m, (b = Buffer.from(JSON.stringify(m), 'utf8')));
  return b;
}

/**
 * `pos` = [item-updates partition, next offset] the owner had applied when it broadcast the row: replicas use it to
 * know how far behind the learner's own gradients they are. Layout (little-endian): u8 0x03, u16 dim, dim x f32,
 * f64 bias, f64 count, f64 lastT (NaN = none), u8 active, i32 pos partition (-1 = none), i64 pos offset, u32 meta
 * length (0 = none) + meta JSON, then optionally the signals block. The item stage now sends signals in their own
 * record ({@link encodeItemSignals}); rows that carry them (older owners, checkpoints) still decode.
 */
export function encodeItemRow(r: ItemRow, pos?: [number, string]): Buffer {
  const dim = r.factors.length;
  const meta = r.meta ? metaBuffer(r.meta) : undefined;
  const sigBuf = r.signals ? encodeRowSignals(r.signals) : undefined;
  const out = Buffer.allocUnsafe(1 + 2 + 4 * dim + 8 + 8 + 8 + 1 + 4 + 8 + 4 + (meta?.length ?? 0) + (sigBuf?.length ?? 0));
  let o = out.writeUInt8(ROW, 0);
  o = out.writeUInt16LE(dim, o);
  o += Buffer.from(r.factors.buffer, r.factors.byteOffset, r.factors.byteLength).copy(out, o);
  o = out.writeDoubleLE(r.bias, o);
  o = out.writeDoubleLE(r.count, o);
  o = out.writeDoubleLE(r.lastT, o);
  o = out.writeUInt8(r.active ? 1 : 0, o);
  o = out.writeInt32LE(pos ? pos[0] : -1, o);
  o = out.writeBigInt64LE(pos ? BigInt(pos[1]) : 0n, o);
  o = out.writeUInt32LE(meta?.length ?? 0, o);
  if (meta) o += meta.copy(out, o);
  if (sigBuf) sigBuf.copy(out, o);
  return out;
}

/**
 * The recommender's signals block of a row, after the meta (older readers stop before it): u8 1, f64 sumKey, f64
 * popularity key, u16 targets, per target u16 length + utf8 + f64 key.
 */
export function encodeRowSignals(sig: NonNullable<ItemRow['signals']>): Buffer {
  return encodeSignals(sig.to, null, sig.key, sig.to.length, sig.sumKey, sig.pop);
}

/**
 * The same bytes as {@link encodeRowSignals} straight from a table's row (targets as indices into `ids`), without
 * building the id and key arrays first: the item stage encodes every item whose signals moved, once per batch.
 * `head`: bytes left free before the block (see encodeSignals).
 */
export function encodeTableSignals(ids: readonly string[], row: TransitionRow | undefined, pop: number, head = 0): Buffer {
  return row ? encodeSignals(ids, row.to, row.key, row.len, row.sumKey, pop, head) : encodeSignals(ids, null, [], 0, -Infinity, pop, head);
}

/** Bytes of a signals record before its signals block: u8 0x05, i32 pos partition (-1 = none), i64 pos offset. */
const SIGNALS_HEAD = 1 + 4 + 8;

/**
 * An item's signals record on model.item-factors (key {@link signalsKey}), straight from a table's row: u8 0x05, i32
 * pos partition (-1 = none), i64 pos offset, then the signals block of {@link encodeRowSignals}. `pos` as in
 * {@link encodeItemRow}.
 */
export function encodeItemSignals(ids: readonly string[], row: TransitionRow | undefined, pop: number, pos?: [number, string]): Buffer {
  const out = encodeTableSignals(ids, row, pop, SIGNALS_HEAD);
  let o = out.writeUInt8(SIGNALS, 0);
  o = out.writeInt32LE(pos ? pos[0] : -1, o);
  out.writeBigInt64LE(pos ? BigInt(pos[1]) : 0n, o);
  return out;
}

/** Whether a model.item-factors value is a signals record (the replica tells them from rows by key, and checks this). */
export function isItemSignals(buf: Buffer): boolean {
  return buf.length > 0 && buf[0] === SIGNALS;
}

/** A signals record's owner position; throws RangeError where the record is too short or not a signals record. */
function signalsPosition(buf: Buffer): [number, string] | undefined {
  if (buf[0] !== SIGNALS || buf.length < SIGNALS_HEAD + 19 || buf[SIGNALS_HEAD] !== 1)
    throw new RangeError(`not a signals record (${buf.length} bytes, kind ${buf[0]})`);
  const p = buf.readInt32LE(1);
  return p < 0 ? undefined : [p, buf.readBigInt64LE(5).toString()];
}

/**
 * A signals record back: the signals (undefined when their totals equal `currentSignals`', the row the replica holds:
 * nothing to parse) and the owner position. Throws RangeError on a record that does not end where its block does.
 */
export function decodeItemSignals(
  buf: Buffer,
  currentSignals?: HeldSignals,
): { signals?: NonNullable<ItemRow['signals']>; pos?: [number, string] } {
  const pos = signalsPosition(buf);
  const { signals, end } = readSignals(buf, SIGNALS_HEAD, currentSignals);
  // a truncated or padded record is not one of ours (one skipped as unchanged is walked to its end all the same)
  const last = signals ? end : skipSignals(buf, SIGNALS_HEAD);
  if (last !== buf.length) throw new RangeError(`signals record of ${buf.length} bytes ends at byte ${last}`);
  return signals ? { signals, pos } : { pos };
}

/** A log key: finite, or -Infinity (none). NaN or +Infinity would poison every score the row feeds. */
const isLogKey = (x: number) => x === x && x !== Infinity;

/**
 * Checks a signals record whole without making a string or an array (the replica then applies it with
 * {@link applyItemSignals}): the layout, to its last byte, and its contents. Returns the owner position and totals,
 * and `problem` when the layout is ours but a value is not (a NaN key, an empty target id). Throws RangeError when the
 * layout is not.
 */
export function checkItemSignals(buf: Buffer): { pos?: [number, string]; sumKey: number; pop: number; problem?: string } {
  const pos = signalsPosition(buf);
  const sumKey = buf.readDoubleLE(SIGNALS_HEAD + 1);
  const pop = buf.readDoubleLE(SIGNALS_HEAD + 9);
  let problem = isLogKey(sumKey) && isLogKey(pop) ? undefined : 'non-numeric total';
  const m = buf.readUInt16LE(SIGNALS_HEAD + 17);
  let o = SIGNALS_HEAD + 19;
  for (let k = 0; k < m; k++) {
    const l = buf.readUInt16LE(o);
    if (l === 0) problem ??= 'transition without a target id';
    if (!isLogKey(buf.readDoubleLE(o + 2 + l))) problem ??= 'non-numeric transition key';
    o += 2 + l + 8;
  }
  if (o !== buf.length) throw new RangeError(`signals record of ${buf.length} bytes ends at byte ${o}`);
  return problem ? { pos, sumKey, pop, problem } : { pos, sumKey, pop };
}

let toScratch = new Int32Array(256);
let keyScratch = new Float64Array(256);

/**
 * Sets row `i`'s signals in `table` from a signals record that passed {@link checkItemSignals}: straight from the
 * bytes, a target that sits where the row already holds it taking that index (no string made), any other looked up
 * (a placeholder for an unknown one). The same table as decodeItemSignals + ItemTable.setSignals, without their arrays
 * (a replica applies several per event).
 */
export function applyItemSignals(table: ItemTable, i: number, buf: Buffer): void {
  const m = buf.readUInt16LE(SIGNALS_HEAD + 17);
  if (toScratch.length < m) {
    toScratch = new Int32Array(Math.max(m, 2 * toScratch.length));
    keyScratch = new Float64Array(toScratch.length);
  }
  const held = table.signals.row(i);
  let o = SIGNALS_HEAD + 19;
  for (let k = 0; k < m; k++) {
    const l = buf.readUInt16LE(o);
    let j = held && k < held.len ? held.to[k] : -1;
    if (j < 0 || !asciiAt(buf, o + 2, l, table.ids[j])) j = table.ensureRef(buf.toString('utf8', o + 2, o + 2 + l));
    toScratch[k] = j;
    keyScratch[k] = buf.readDoubleLE(o + 2 + l);
    o += 2 + l + 8;
  }
  table.signals.setRow(i, toScratch.subarray(0, m), keyScratch.subarray(0, m), buf.readDoubleLE(SIGNALS_HEAD + 1));
  table.signals.setPopularityKey(i, buf.readDoubleLE(SIGNALS_HEAD + 9));
}

/** UTF-8 bytes of each target (ids are nearly always ASCII: counted and copied in JS, no native call per id). */
let lenScratch = new Int32Array(256);

/** `head`: bytes left free before the block (a signals record writes its header there: no second copy). */
function encodeSignals(
  ids: readonly string[],
  to: ArrayLike<number> | null,
  key: ArrayLike<number>,
  n: number,
  sumKey: number,
  pop: number,
  head = 0,
): Buffer {
  if (lenScratch.length < n) lenScratch = new Int32Array(Math.max(n, 2 * lenScratch.length));
  let len = head + 1 + 8 + 8 + 2;
  for (let k = 0; k < n; k++) {
    const x = to ? ids[to[k]] : ids[k];
    let b = x.length;
    for (let c = 0; c < x.length; c++)
      if (x.charCodeAt(c) > 0x7f) {
        b = -1;
        break;
      }
    lenScratch[k] = b;
    len += 2 + (b >= 0 ? b : Buffer.byteLength(x, 'utf8')) + 8;
  }
  const out = Buffer.allocUnsafe(len);
  let o = out.writeUInt8(1, head);
  o = out.writeDoubleLE(sumKey, o);
  o = out.writeDoubleLE(pop, o);
  o = out.writeUInt16LE(n, o);
  for (let k = 0; k < n; k++) {
    const x = to ? ids[to[k]] : ids[k];
    let b = lenScratch[k];
    if (b >= 0) for (let c = 0; c < b; c++) out[o + 2 + c] = x.charCodeAt(c);
    else b = out.write(x, o + 2, 'utf8');
    out.writeUInt16LE(b, o);
    o = out.writeDoubleLE(key[k], o + 2 + b);
  }
  return out;
}

export function rowPosition(buf: Buffer): [number, string] | undefined {
  if (buf[0] === SIGNALS) return decodeItemSignals(buf).pos;
  if (buf[0] !== ROW) return (JSON.parse(buf.toString('utf8')) as { p?: [number, string] }).p;
  const o = 3 + 4 * buf.readUInt16LE(1) + 25;
  const p = buf.readInt32LE(o);
  return p < 0 ? undefined : [p, buf.readBigInt64LE(o + 4).toString()];
}

/**
 * `previousMeta`: the previous row's meta when its bytes are unchanged (the replica keeps the object, so ItemTable's
 * topic and prerequisite indexes are not rebuilt for every factor update).
 */
export function decodeItemRow(
  itemId: string,
  buf: Buffer,
  previousMeta?: { bytes: Buffer; meta: ItemMeta },
  currentSignals?: HeldSignals,
): ItemRow & { pos?: [number, string]; metaBytes?: Buffer } {
  if (buf[0] !== ROW) {
    const j = JSON.parse(buf.toString('utf8')) as {
      f: string;
      b: number;
      n: number;
      t: number | null;
      a: boolean;
      m?: ItemMeta;
      p?: [number, string];
    };
    return { itemId, factors: b64ToF32(j.f), bias: j.b, count: j.n, lastT: j.t ?? Number.NaN, active: j.a, meta: j.m, pos: j.p };
  }
  const dim = buf.readUInt16LE(1);
  let o = 3;
  const factors = f32At(buf, o, dim);
  o += 4 * dim;
  const bias = buf.readDoubleLE(o);
  const count = buf.readDoubleLE(o + 8);
  const lastT = buf.readDoubleLE(o + 16);
  const active = buf[o + 24] === 1;
  const p = buf.readInt32LE(o + 25);
  const pos: [number, string] | undefined = p < 0 ? undefined : [p, buf.readBigInt64LE(o + 29).toString()];
  const metaLen = buf.readUInt32LE(o + 37);
  o += 41;
  let meta: ItemMeta | undefined;
  let bytes: Buffer | undefined;
  if (metaLen > 0) {
    const view = buf.subarray(o, o + metaLen);
    if (previousMeta && previousMeta.bytes.equals(view)) {
      meta = previousMeta.meta;
      bytes = previousMeta.bytes;
    } else {
      meta = JSON.parse(view.toString('utf8')) as ItemMeta;
      bytes = Buffer.from(view);
    }
  }
  o += metaLen;
  const signals = o < buf.length && buf[o] === 1 ? readSignals(buf, o, currentSignals).signals : undefined;
  return { itemId, factors, bias, count, lastT, active, meta, pos, metaBytes: bytes, ...(signals ? { signals } : {}) };
}

/**
 * The signals block at `o` (u8 1 there), and the byte after it; signals undefined when its totals equal
 * `currentSignals`' (the row the replica holds: the targets need no parsing; `end` is then `o`).
 */
function readSignals(buf: Buffer, o: number, currentSignals?: HeldSignals): { signals?: NonNullable<ItemRow['signals']>; end: number } {
  const sumKey = buf.readDoubleLE(o + 1);
  const pop = buf.readDoubleLE(o + 9);
  if (currentSignals && currentSignals.sumKey === sumKey && currentSignals.pop === pop) return { end: o };
  const m = buf.readUInt16LE(o + 17);
  o += 19;
  const to: string[] = [];
  const key: number[] = [];
  // a target at the same place in the row held (most of a changed row) reuses the held id string: no string is
  // made, and ItemTable.setSignals finds it by identity
  const held = currentSignals?.targets;
  for (let k = 0; k < m; k++) {
    const l = buf.readUInt16LE(o);
    const h = held && k < held.len ? held.ids[held.to[k]] : undefined;
    to.push(h !== undefined && asciiAt(buf, o + 2, l, h) ? h : buf.toString('utf8', o + 2, o + 2 + l));
    key.push(buf.readDoubleLE(o + 2 + l));
    o += 2 + l + 8;
  }
  return { signals: { to, key, sumKey, pop }, end: o };
}

/** The byte after the signals block at `o`, its targets skipped. */
function skipSignals(buf: Buffer, o: number): number {
  const m = buf.readUInt16LE(o + 17);
  o += 19;
  for (let k = 0; k < m; k++) o += 2 + buf.readUInt16LE(o) + 8;
  return o;
}

/** Whether the `len` bytes at `o` are exactly `s` as ASCII (a non-ASCII `s` answers false: the caller decodes). */
function asciiAt(buf: Buffer, o: number, len: number, s: string): boolean {
  if (s.length !== len || o + len > buf.length) return false;
  for (let c = 0; c < len; c++) {
    const ch = s.charCodeAt(c);
    if (ch > 0x7f || ch !== buf[o + c]) return false;
  }
  return true;
}
