/**
 * List format 2, text of JSON lines: `L2`, the header object, the ids array, the scores array, then one
 * `[reasons, type, topics, skills]` line per item (reasons = [[code, text, ref?], …], absent facts null). Not written
 * by the product any more; still read, as an upgrade leaves such values in Redis until the pipeline rewrites them.
 */
import type { Reason, RecommendationList, RecommendationView } from '../types';
import { viewOf, type Header } from './view';

export const MAGIC2 = 'L2\n';

type StoredReason = [Reason['code'], string] | [Reason['code'], string, string];
type StoredItem = [StoredReason[], string | null, string[] | null, string[] | null];

/**
 * Format 2, the previous encoding. Not written by the product any more: kept so tests, and the read benchmark's
 * baseline checkout, can store what an older pipeline wrote.
 */
export function encodeListFormat2(list: RecommendationList): string {
  const header: Header = {
    userId: list.userId,
    modelVersion: list.modelVersion,
    generatedAt: list.generatedAt,
    eventTime: list.eventTime,
    source: list.source,
  };
  let text = MAGIC2 + JSON.stringify(header);
  text += '\n' + JSON.stringify(list.items.map((it) => it.resourceId));
  text += '\n' + JSON.stringify(list.items.map((it) => it.score));
  for (const it of list.items) {
    const reasons = it.reasons.map((r): StoredReason => (r.ref === undefined ? [r.code, r.text] : [r.code, r.text, r.ref]));
    const line: StoredItem = [reasons, it.type ?? null, it.topics ?? null, it.skills ?? null];
    text += '\n' + JSON.stringify(line);
  }
  return text;
}

const tryParse = (text: string): unknown => {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
};

/** Format 2 (`raw` starts with MAGIC2). */
export function decodeView2(raw: string, onCorruptItem: () => void): RecommendationView | null {
  const headEnd = raw.indexOf('\n', MAGIC2.length);
  const idsEnd = headEnd < 0 ? -1 : raw.indexOf('\n', headEnd + 1);
  const scoresEnd = idsEnd < 0 ? -1 : raw.indexOf('\n', idsEnd + 1);
  if (idsEnd < 0) return null;
  const h = tryParse(raw.slice(MAGIC2.length, headEnd)) as Header | undefined;
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
  return viewOf(h, ids, score, (i, item) => {
    let line: StoredItem;
    try {
      line = JSON.parse(raw.slice(starts[i], starts[i + 1] - 1)) as StoredItem;
      if (!Array.isArray(line) || !Array.isArray(line[0])) throw new Error('item line is not [reasons, ...]');
    } catch {
      onCorruptItem();
      return;
    }
    const [reasons, type, topics, skills] = line;
    item.reasons = reasons.map(([code, text, ref]) => (ref === undefined ? { code, text } : { code, text, ref }));
    if (type !== null) item.type = type;
    if (topics !== null) item.topics = topics;
    if (skills !== null) item.skills = skills;
  });
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
