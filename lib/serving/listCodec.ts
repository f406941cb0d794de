/**
 * How a RecommendationList is stored as one string (the Redis `rec:<userId>` value), and the read path's lazy view of
 * it. The read API returns ~10 items of a top-100 list, so parsing all 100 items (reasons, copied catalogue facts) on
 * every request cost more than everything else on the path: `JSON.parse` of the ~25 KB list was 28% of the API's CPU.
 *
 * Format 2, one string of JSON lines (JSON.stringify escapes newlines inside strings, so `\n` only separates lines):
 *
 *   L2
 *   {"userId":…,"modelVersion":…,"generatedAt":…,"eventTime":…,"source":…}
 *   ["r1","r2",…]                            resource ids, in list order
 *   [0.93,0.91,…]                            scores
 *   [reasons, type, topics, skills]          one line per item; reasons = [[code, text, ref?], …], an absent
 *   …                                        type/topics/skills is null
 *
 * A reader parses the header and the ids (what exclusion, filtering and paging need); the scores only when one is
 * asked for (explain=true), an item's line only when its reasons or copied facts are. Ids without escapes (any id
 * that is not made of quotes, backslashes or control characters) are split rather than parsed. Format 1 (lists written before this encoding: the list as
 * one JSON object, always starting with `{`) is still read; it is parsed whole, as before.
 */
import type { Reason, RecommendationList, RecommendationView, RecommendedItem } from './types';

const MAGIC = 'L2\n';

type Header = Pick<RecommendationList, 'userId' | 'modelVersion' | 'generatedAt' | 'eventTime' | 'source'>;
type StoredReason = [Reason['code'], string] | [Reason['code'], string, string];
type StoredItem = [StoredReason[], string | null, string[] | null, string[] | null];

export function encodeList(list: RecommendationList): string {
  const header: Header = {
    userId: list.userId,
    modelVersion: list.modelVersion,
    generatedAt: list.generatedAt,
    eventTime: list.eventTime,
    source: list.source,
  };
  let out = MAGIC + JSON.stringify(header);
  out += '\n' + JSON.stringify(list.items.map((it) => it.resourceId));
  out += '\n' + JSON.stringify(list.items.map((it) => it.score));
  for (const it of list.items) {
    const reasons = it.reasons.map((r): StoredReason => (r.ref === undefined ? [r.code, r.text] : [r.code, r.text, r.ref]));
    const line: StoredItem = [reasons, it.type ?? null, it.topics ?? null, it.skills ?? null];
    out += '\n' + JSON.stringify(line);
  }
  return out;
}

const tryParse = (text: string): unknown => {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
};

/**
 * The view of a stored list, or null when the value is corrupt (neither format, a broken header, or not one line per
 * item). An item line found corrupt only when it is asked for is served without reasons and facts (`onCorruptItem`
 * is told) rather than failing the request: lists are derived data that the pipeline rewrites.
 */
export function decodeView(raw: string, onCorruptItem: () => void = () => undefined): RecommendationView | null {
  if (raw.startsWith('{')) {
    const list = tryParse(raw) as RecommendationList | undefined;
    return list && Array.isArray(list.items) ? viewOfList(list) : null;
  }
  if (!raw.startsWith(MAGIC)) return null;
  const headEnd = raw.indexOf('\n', MAGIC.length);
  const idsEnd = headEnd < 0 ? -1 : raw.indexOf('\n', headEnd + 1);
  const scoresEnd = idsEnd < 0 ? -1 : raw.indexOf('\n', idsEnd + 1);
  if (idsEnd < 0) return null;
  const h = tryParse(raw.slice(MAGIC.length, headEnd)) as Header | undefined;
  const ids = parseIds(raw.slice(headEnd + 1, idsEnd));
  if (!h || !ids) return null;
  const n = ids.length;
  // Line start offsets (n + 1 entries, the last one past the end). Scanning for newlines is cheap next to parsing,
  // and proves there is a line per item.
  const starts = new Int32Array(n + 1);
  let at = scoresEnd;
  for (let i = 0; i < n; i++) {
    if (at < 0) return null;
    starts[i] = at + 1;
    at = raw.indexOf('\n', at + 1);
  }
  if (at >= 0) return null;
  starts[n] = raw.length + 1;
  let scores: unknown[] | null = null;
  const score = (i: number): number => {
    if (scores === null) {
      const parsed = tryParse(raw.slice(idsEnd + 1, scoresEnd < 0 ? undefined : scoresEnd));
      if (Array.isArray(parsed) && parsed.length === n) scores = parsed;
      else {
        onCorruptItem();
        scores = new Array<number>(n).fill(0);
      }
    }
    // JSON has no NaN or Infinity: such a score was written as null and comes back as null, as with format 1.
    return scores[i] as number;
  };
  const view: RecommendationView = {
    userId: h.userId,
    modelVersion: h.modelVersion,
    generatedAt: h.generatedAt,
    source: h.source,
    ids,
    score,
    item(i) {
      const item: RecommendedItem = { resourceId: ids[i], score: score(i), reasons: [] };
      let line: StoredItem;
      try {
        line = JSON.parse(raw.slice(starts[i], starts[i + 1] - 1)) as StoredItem;
        if (!Array.isArray(line) || !Array.isArray(line[0])) throw new Error('item line is not [reasons, ...]');
      } catch {
        onCorruptItem();
        return item;
      }
      const [reasons, type, topics, skills] = line;
      item.reasons = reasons.map(([code, text, ref]) => (ref === undefined ? { code, text } : { code, text, ref }));
      if (type !== null) item.type = type;
      if (topics !== null) item.topics = topics;
      if (skills !== null) item.skills = skills;
      return item;
    },
  };
  if (h.eventTime !== undefined) view.eventTime = h.eventTime;
  return view;
}

/**
 * The ids line. JSON.stringify writes an array of strings as `["a","b"]` with no spaces; a string without a backslash
 * has no escapes (a quote, backslash or control character would have one), so its text is the id and `","` can only
 * be a separator: splitting gives exactly what JSON.parse would, several times faster.
 */
function parseIds(line: string): string[] | undefined {
  if (line === '[]') return [];
  if (!line.includes('\\') && line.startsWith('["') && line.endsWith('"]')) return line.slice(2, -2).split('","');
  const v = tryParse(line);
  return Array.isArray(v) && v.every((id): id is string => typeof id === 'string') ? v : undefined;
}

/** The whole list, every item decoded; null when corrupt (see decodeView). */
export function decodeList(raw: string, onCorruptItem?: () => void): RecommendationList | null {
  const view = decodeView(raw, onCorruptItem);
  return view && listOfView(view);
}

/** A view over an already decoded list (format 1, the in-memory store). The view owns `list`: callers pass a copy. */
export function viewOfList(list: RecommendationList): RecommendationView {
  const view: RecommendationView = {
    userId: list.userId,
    modelVersion: list.modelVersion,
    generatedAt: list.generatedAt,
    source: list.source,
    ids: list.items.map((it) => it.resourceId),
    score: (i) => list.items[i].score,
    item: (i) => list.items[i],
  };
  if (list.eventTime !== undefined) view.eventTime = list.eventTime;
  return view;
}

export function listOfView(view: RecommendationView): RecommendationList {
  const list: RecommendationList = {
    userId: view.userId,
    items: view.ids.map((_, i) => view.item(i)),
    modelVersion: view.modelVersion,
    generatedAt: view.generatedAt,
    source: view.source,
  };
  if (view.eventTime !== undefined) list.eventTime = view.eventTime;
  return list;
}
