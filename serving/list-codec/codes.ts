/** The byte codes of reasons and sources in the binary list formats (3 and 4 share them). */
import type { Reason, RecommendationList } from '../types';

// The byte values are the stored format: append new codes, never renumber. Typed as a Record so that a code or
// source added to the types cannot be forgotten here.
export const REASON_BYTE: Record<Reason['code'], number> = {
  'similar-learners': 0,
  'matches-interest': 1,
  'right-level': 2,
  'next-after': 3,
  popular: 4,
  'popular-in-interest': 5,
  'content-similar': 6,
  'co-engaged': 7,
  'new-resource': 8,
  'because-you-did': 9,
  'due-for-review': 10,
};
export const SOURCE_BYTE: Record<RecommendationList['source'], number> = { personal: 0, 'cold-start:interests': 1, popular: 2 };
const byByte = <K extends string>(table: Record<K, number>): K[] => {
  const out: K[] = [];
  for (const [k, b] of Object.entries(table) as [K, number][]) out[b] = k;
  return out;
};
export const REASON_OF_BYTE = byByte(REASON_BYTE);
export const SOURCE_OF_BYTE = byByte(SOURCE_BYTE);
