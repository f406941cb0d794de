/**
 * The decode guard of the internal topics (model.item-updates, model.item-factors, model.content-vectors): their
 * records are the pipeline's own binary or JSON formats (pipelines/messages.ts, content-messages.ts), not Avro, so the
 * shared decode step does not apply; but a record that does not decode must be poison there too, never fatal. 26
 * bytes of text on model.item-updates used to stop the item stage for good (every restart hit the same record), and
 * on model.item-factors the replica's consumer, while the process looked healthy.
 *
 * Each guard returns the decoded value or throws PoisonMessageError with a stable reason; callers send the record to
 * `<topic>.dlq` (consumers/dead-letter.ts) and move on. Beyond "does it parse", the checks are the ones that would
 * otherwise corrupt state quietly: vectors of the wrong dimension, non-finite numbers, ids missing.
 */
import { PoisonMessageError } from '../lib/errors';
import { decodeContentVector } from './content-messages';
import { checkItemSignals, decodeItemRow, decodeItemUpdates, isItemSignals, type ItemUpdate } from './messages';
import type { HeldSignals, ItemMeta, ItemRow } from './model/item-table';

/** Reason codes of internal dead letters (the x-dlq-reason header and the metric's `reason` label). */
export type InternalPoisonReason = 'internal-undecodable' | 'internal-invalid' | 'missing-key';

/** A unit vector's squared norm is 1 up to float32 rounding; anything further off is not one of ours. */
const UNIT_TOLERANCE = 1e-3;

function undecodable(what: string, err: unknown): PoisonMessageError {
  return new PoisonMessageError('internal-undecodable', `${what} does not decode: ${err instanceof Error ? err.message : String(err)}`, {
    cause: err,
  });
}

function invalid(what: string, problem: string): PoisonMessageError {
  return new PoisonMessageError('internal-invalid', `${what}: ${problem}`);
}

const finite = (x: number | undefined) => x === undefined || Number.isFinite(x);
const OFFSET = /^-?\d+$/;

function checkUpdate(u: ItemUpdate, dim: number): string | null {
  if (typeof u.itemId !== 'string' || u.itemId.length === 0) return 'update without an item id';
  switch (u.kind) {
    case 'delta':
      if (u.grad.length !== dim) return `gradient of ${u.grad.length} dims, the model has ${dim}`;
      if (!u.grad.every(Number.isFinite) || !finite(u.gradBias) || !finite(u.timestamp)) return 'non-finite gradient';
      if (!u.src || !OFFSET.test(u.off) || !Number.isInteger(u.seq) || u.seq < 0) return 'delta without a valid (source, offset, seq)';
      return null;
    case 'links':
      if (u.to.length !== u.w.length || !u.w.every(Number.isFinite) || !finite(u.pop) || !finite(u.t)) return 'malformed links';
      if (!u.src || !OFFSET.test(u.off) || !Number.isInteger(u.seq) || u.seq < 0) return 'links without a valid (source, offset, seq)';
      return null;
    case 'upsert':
      if (u.f && (u.f.length !== dim || !u.f.every(Number.isFinite)))
        return `upsert factor of ${u.f.length} dims or non-finite, the model has ${dim}`;
      if (!finite(u.b)) return 'non-finite bias';
      return null;
    case 'remove':
      return null;
    default:
      return `unknown update kind ${String((u as { kind?: unknown }).kind)}`;
  }
}

/** Every update of one model.item-updates record, checked against the model's dimension; all or nothing. */
export function guardItemUpdates(value: Buffer, dim: number): ItemUpdate[] {
  let updates: ItemUpdate[];
  try {
    updates = decodeItemUpdates(value);
  } catch (err) {
    throw undecodable('item-update record', err);
  }
  for (const u of updates) {
    const problem = checkUpdate(u, dim);
    if (problem) throw invalid('item-update record', problem);
  }
  return updates;
}

/** Every value finite (a loop: `every` with a callback per factor was measurable at ~10 rows per event). */
function allFinite(v: Float32Array): boolean {
  for (let k = 0; k < v.length; k++) if (!Number.isFinite(v[k])) return false;
  return true;
}

/** One model.item-factors row (not a tombstone), checked against the table's dimension. */
export function guardItemRow(
  itemId: string,
  value: Buffer,
  dim: number,
  previousMeta?: { bytes: Buffer; meta: ItemMeta },
  currentSignals?: HeldSignals,
): ReturnType<typeof decodeItemRow> {
  let row: ReturnType<typeof decodeItemRow>;
  try {
    row = decodeItemRow(itemId, value, previousMeta, currentSignals);
  } catch (err) {
    throw undecodable('item-factor row', err);
  }
  const r: ItemRow = row;
  if (!(r.factors instanceof Float32Array) || r.factors.length !== dim)
    throw invalid('item-factor row', `factor of ${r.factors?.length ?? 'no'} dims, the table has ${dim}`);
  if (!allFinite(r.factors) || !Number.isFinite(r.bias) || !Number.isFinite(r.count) || r.count < 0)
    throw invalid('item-factor row', 'non-finite factor, bias or count');
  if (typeof r.active !== 'boolean') throw invalid('item-factor row', 'no active flag');
  return row;
}

/**
 * One model.item-factors signals record (under an item's signals key, not a tombstone), checked whole without being
 * decoded (pipelines/messages.ts applyItemSignals sets it from the bytes). `skip`: its totals equal
 * `currentSignals`', the signals the replica holds (a re-broadcast): nothing to apply.
 */
export function guardItemSignals(value: Buffer, currentSignals?: HeldSignals): { pos?: [number, string]; skip: boolean } {
  if (!isItemSignals(value)) throw invalid('item-factor signals', 'not a signals record under a signals key');
  let rec: ReturnType<typeof checkItemSignals>;
  try {
    rec = checkItemSignals(value);
  } catch (err) {
    throw undecodable('item-factor signals', err);
  }
  if (rec.problem) throw invalid('item-factor signals', rec.problem);
  const skip = currentSignals !== undefined && currentSignals.sumKey === rec.sumKey && currentSignals.pop === rec.pop;
  return rec.pos ? { pos: rec.pos, skip } : { skip };
}

/**
 * One model.content-vectors value (not a tombstone): whole float32s, all finite, unit length (the catalogue stage
 * publishes the encoder's normalised vectors, EmbedFn's contract), and of the table's dimension once it has one (the
 * first vector fixes it, so a stray value must never be the first).
 */
export function guardContentVector(value: Buffer, dim: number): Float32Array {
  if (value.length % 4 !== 0) throw invalid('content vector', `${value.length} bytes is not a whole number of float32s`);
  const v = decodeContentVector(value);
  if (dim > 0 && v.length !== dim) throw invalid('content vector', `${v.length} dims, the table has ${dim}`);
  let sq = 0;
  for (const x of v) sq += x * x;
  if (!Number.isFinite(sq) || Math.abs(sq - 1) > UNIT_TOLERANCE) throw invalid('content vector', `not a unit vector (squared norm ${sq})`);
  return v;
}

/** The record's key as the replicas use it (the resource or item id); none is poison on a compacted topic. */
export function guardKey(key: Buffer | null, topic: string): string {
  const id = key?.toString('utf8');
  if (!id) throw new PoisonMessageError('missing-key', `record on ${topic} has no key`);
  return id;
}
