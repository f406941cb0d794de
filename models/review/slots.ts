import type { RecommendedItem } from '../ranking/types';

/** Where due reviews enter a served list. */
export interface ReviewSlotOptions {
  /** Reserved slots for due reviews; 0 = off. Default 2. */
  slots: number;
  /** ... within the first this many positions of the list. Default 10. */
  within: number;
}

export const DEFAULT_REVIEW_SLOTS: ReviewSlotOptions = { slots: 2, within: 10 };

/** A due review offered to the list: the resource as a list item (facts copied in) and its retrievability now. */
export interface DueReview {
  item: Omit<RecommendedItem, 'score' | 'reasons'>;
  retrievability: number;
}

/**
 * The list with up to `slots` due reviews (most forgotten first) in the first `within` positions: one already there
 * keeps its place and gains the reason; the others take the last reserved positions of the head (the items there move
 * down, nothing is dropped but the list's tail beyond its length). A list without due reviews is returned as is.
 */
export function withReviewSlots(
  items: RecommendedItem[],
  due: readonly DueReview[],
  o: ReviewSlotOptions = DEFAULT_REVIEW_SLOTS,
): RecommendedItem[] {
  if (o.slots <= 0 || due.length === 0 || o.within <= 0) return items;
  const chosen = due.slice(0, o.slots);
  const reason = (d: DueReview) => ({
    code: 'due-for-review' as const,
    text: `Due for review: about ${Math.round(d.retrievability * 100)}% chance you still recall it`,
  });
  const head = Math.min(o.within, items.length + chosen.length);
  const inHead = new Map<string, DueReview>();
  const outside: DueReview[] = [];
  for (const d of chosen) {
    const at = items.findIndex((it) => it.resourceId === d.item.resourceId);
    if (at >= 0 && at < o.within) inHead.set(d.item.resourceId, d);
    else outside.push(d);
  }
  const moved = new Set(outside.map((d) => d.item.resourceId));
  const rest = items
    .filter((it) => !moved.has(it.resourceId))
    .map((it) => {
      const d = inHead.get(it.resourceId);
      return d ? { ...it, reasons: [reason(d), ...it.reasons] } : it;
    });
  const keep = Math.max(0, head - outside.length);
  const out = rest.slice(0, keep);
  // a reserved slot takes the score of the position it fills, so the list's scores stay non-increasing
  const fill = out.length > 0 ? out[out.length - 1].score : (rest[0]?.score ?? 0);
  for (const d of outside) out.push({ ...d.item, score: fill, reasons: [reason(d)] });
  out.push(...rest.slice(keep));
  // the list keeps its length: what the reviews pushed past the end drops off
  return out.slice(0, Math.max(items.length, chosen.length));
}
