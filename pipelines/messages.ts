/**
 * Records of the internal topics model.item-updates and model.item-factors. They are private to the pipeline (written
 * and read only by its stages, versioned with the code), so they are compact JSON with Float32 vectors as base64
 * bytes; the public event contracts are the Avro schemas in schemas/.
 */
import { b64ToF32, f32ToB64 } from './state/codec';
import type { ItemGradient } from '../models/collab';
import type { ItemMeta, ItemRow } from './model/item-table';

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
  | { kind: 'upsert'; itemId: string; f?: Float32Array; b?: number; active: boolean; meta?: ItemMeta }
  | { kind: 'remove'; itemId: string };

export function encodeItemUpdate(u: ItemUpdate): Buffer {
  switch (u.kind) {
    case 'delta':
      return Buffer.from(JSON.stringify({ k: 'd', i: u.itemId, g: f32ToB64(u.grad), gb: u.gradBias, c: u.countsAsEvent ? 1 : 0, t: u.timestamp, s: u.src, o: u.off, q: u.seq }));
    case 'upsert':
      return Buffer.from(JSON.stringify({ k: 'u', i: u.itemId, f: u.f ? f32ToB64(u.f) : undefined, b: u.b, a: u.active, m: u.meta }));
    case 'remove':
      return Buffer.from(JSON.stringify({ k: 'r', i: u.itemId }));
  }
}

export function decodeItemUpdate(buf: Buffer): ItemUpdate {
  const j = JSON.parse(buf.toString('utf8')) as Record<string, unknown>;
  const itemId = String(j.i);
  if (j.k === 'd') return { kind: 'delta', itemId, grad: b64ToF32(String(j.g)), gradBias: Number(j.gb), countsAsEvent: j.c === 1, timestamp: Number(j.t), src: String(j.s), off: String(j.o), seq: Number(j.q) };
  if (j.k === 'u') return { kind: 'upsert', itemId, f: typeof j.f === 'string' ? b64ToF32(j.f) : undefined, b: typeof j.b === 'number' ? j.b : undefined, active: j.a === true, meta: j.m as ItemMeta | undefined };
  return { kind: 'remove', itemId };
}

/**
 * `pos` = [item-updates partition, next offset] the owner had applied when it broadcast the row: replicas use it to
 * know how far behind the learner's own gradients they are.
 */
export function encodeItemRow(r: ItemRow, pos?: [number, string]): Buffer {
  return Buffer.from(JSON.stringify({ f: f32ToB64(r.factors), b: r.bias, n: r.count, t: Number.isNaN(r.lastT) ? null : r.lastT, a: r.active, m: r.meta, p: pos }));
}

export function rowPosition(buf: Buffer): [number, string] | undefined {
  return (JSON.parse(buf.toString('utf8')) as { p?: [number, string] }).p;
}

export function decodeItemRow(itemId: string, buf: Buffer): ItemRow & { pos?: [number, string] } {
  const j = JSON.parse(buf.toString('utf8')) as { f: string; b: number; n: number; t: number | null; a: boolean; m?: ItemMeta; p?: [number, string] };
  return { itemId, factors: b64ToF32(j.f), bias: j.b, count: j.n, lastT: j.t ?? Number.NaN, active: j.a, meta: j.m, pos: j.p };
}
