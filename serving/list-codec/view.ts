/** The lazy list view every format's reader returns (serving/types RecommendationView), and its conversions. */
import type { RecommendationList, RecommendationView, RecommendedItem } from '../types';

/** The list's own fields, as formats 2 and 3 store them before the items. */
export type Header = Pick<RecommendationList, 'userId' | 'modelVersion' | 'generatedAt' | 'eventTime' | 'source'>;

/**
 * The view both formats return: item i starts as its id and score with no reasons, and `fill` adds what the stored
 * item holds (or leaves it so, after telling onCorruptItem, when that is corrupt).
 */
export function viewOf(
  h: Header,
  ids: string[],
  score: (i: number) => number,
  fill: (i: number, item: RecommendedItem) => void,
): RecommendationView {
  const view: RecommendationView = {
    userId: h.userId,
    modelVersion: h.modelVersion,
    generatedAt: h.generatedAt,
    source: h.source,
    ids,
    score,
    item(i) {
      const item: RecommendedItem = { resourceId: ids[i], score: score(i), reasons: [] };
      fill(i, item);
      return item;
    },
  };
  if (h.eventTime !== undefined) view.eventTime = h.eventTime;
  return view;
}

/** A view over an already decoded list (format 1). The view owns `list`: callers pass a copy. */
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
