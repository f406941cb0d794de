/**
 * How a RecommendationList is stored as one value (the Redis `rec:<userId>` value), and the read path's lazy view of
 * it. The read API returns ~10 items of a top-100 list, so decoding all 100 items (reasons, copied catalogue facts) on
 * every request would cost more than everything else on the path.
 *
 * One module per storage format, and this dispatch. A stored value names its format in its first bytes, and only
 * those decide which reader runs (listFormat):
 *   `{`          format 1, one JSON object (format-1.ts; read only)
 *   `L2\n`       format 2, JSON lines (format-2.ts; read only, and written for tests and old baselines)
 *   4C 33 00     format 3, binary with a string table (format-3.ts: encodeList)
 *   4C 34 00     format 4, compact, numbers into a shared dictionary (format-4.ts: what the stores write)
 * Formats 1-3 are read from the value alone (decodeView); format 4 needs its dictionary's entries (decodeStoredView).
 */
import type { RecommendationList, RecommendationView } from '../types';
import { decodeView1 } from './format-1';
import { decodeView2, MAGIC2 } from './format-2';
import { decodeView3, MAGIC3 } from './format-3';
import { MAGIC4, parseCompact, viewOfCompact, type CompactList, type Entry } from './format-4';
import { listOfView } from './view';

export { encodeList } from './format-3';
export { encodeListFormat2 } from './format-2';
export { putVarint, varintSize } from './varint';
export { listOfView, viewOfList } from './view';

export type ListFormat = 1 | 2 | 3 | 4;

const OPEN_BRACE = 0x7b;
const startsWith = (b: Uint8Array, magic: readonly number[]) => b.length >= magic.length && magic.every((x, i) => b[i] === x);
const MAGIC2_BYTES = [...Buffer.from(MAGIC2, 'latin1')];

/** The format a stored value is in, from its first bytes alone; null when they name none. */
export function listFormat(raw: Uint8Array | string): ListFormat | null {
  if (typeof raw === 'string') return raw.startsWith('{') ? 1 : raw.startsWith(MAGIC2) ? 2 : null;
  if (startsWith(raw, MAGIC3)) return 3;
  if (startsWith(raw, MAGIC4)) return 4;
  if (raw.length > 0 && raw[0] === OPEN_BRACE) return 1;
  return startsWith(raw, MAGIC2_BYTES) ? 2 : null;
}

const asBuffer = (raw: Uint8Array): Buffer => (Buffer.isBuffer(raw) ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength));

/**
 * The view of a stored list, or null when the value is corrupt (no known format, a broken header, or a layout that
 * does not add up), or is format 4, whose numbers only its dictionary resolves (decodeStoredView). An item found
 * corrupt only when it is asked for is served without reasons and facts (`onCorruptItem` is told) rather than
 * failing the request: lists are derived data that the pipeline rewrites.
 * `raw` is the stored bytes (formats 1-3), or text (formats 1 and 2 only).
 */
export function decodeView(raw: Uint8Array | string, onCorruptItem: () => void = () => undefined): RecommendationView | null {
  switch (listFormat(raw)) {
    case 1:
      return decodeView1(typeof raw === 'string' ? raw : asBuffer(raw).toString('utf8'));
    case 2:
      return decodeView2(typeof raw === 'string' ? raw : asBuffer(raw).toString('utf8'), onCorruptItem);
    case 3:
      return decodeView3(asBuffer(raw as Uint8Array), onCorruptItem);
    default:
      return null;
  }
}

/** Format 4's dictionary as a reader needs it (serving/list-dictionary.ts ListDictionary). */
export interface ListEntries {
  /** Loads the entries `c` refers to that are not cached yet. */
  loadList(c: CompactList): Promise<void> | undefined;
  entry(ref: number): Entry | undefined;
}

/** The view of a stored value in any format: format 4 through `dict`, the others as decodeView reads them. */
export async function decodeStoredView(
  raw: Uint8Array,
  dict: ListEntries,
  onCorruptItem: () => void = () => undefined,
): Promise<RecommendationView | null> {
  if (listFormat(raw) !== 4) return decodeView(raw, onCorruptItem);
  const c = parseCompact(asBuffer(raw));
  if (!c) return null;
  await dict.loadList(c);
  return viewOfCompact(c, (ref) => dict.entry(ref), onCorruptItem);
}

/** The whole list, every item decoded; null when corrupt (see decodeView). */
export function decodeList(raw: Uint8Array | string, onCorruptItem?: () => void): RecommendationList | null {
  const view = decodeView(raw, onCorruptItem);
  return view && listOfView(view);
}
