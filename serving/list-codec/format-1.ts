/**
 * List format 1: the list as one JSON object (always starting with `{`), parsed whole. Not written any more; still
 * read, as an upgrade leaves such values in Redis until the pipeline rewrites each learner's list.
 */
import type { RecommendationList, RecommendationView } from '../types';
import { viewOfList } from './view';

/** Format 1 (`text` starts with `{`): null when it is not a JSON list. */
export function decodeView1(text: string): RecommendationView | null {
  let list: RecommendationList | undefined;
  try {
    list = JSON.parse(text) as RecommendationList;
  } catch {
    return null;
  }
  return list && Array.isArray(list.items) ? viewOfList(list) : null;
}
