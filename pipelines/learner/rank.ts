import type { Reason, RecommendedItem } from '../../lib/serving/types';
import type { ItemTable } from '../model/item-table';
import type { TopKResult } from './candidates';
import type { Learner } from './state';

/**
 * PROVISIONAL scorer until models/ranking is wired in: collaborative score (user · item + item bias), a boost for
 * resources matching the learner's declared interests, the learner's recent resources excluded; a reason per item.
 * Scoring itself runs in the batched candidate generator (candidates.ts); this module supplies the per-learner mask
 * (exclusions, boost) and turns the top-k into list items.
 */
export const INTEREST_BOOST = 2;

/** Applies the learner's exclusions (history) and interest boost to its mask row. */
export function applyProvisionalMask(l: Learner, table: ItemTable, row: Float32Array, interestBoost = INTEREST_BOOST): void {
  const seen = new Set<number>();
  for (const interest of l.interests) {
    const rows = table.rowsWithTopic(interest.toLowerCase());
    if (!rows) continue;
    for (const i of rows) {
      if (row[i] === -Infinity || seen.has(i)) continue;
      row[i] += interestBoost;
      seen.add(i);
    }
  }
  for (const id of l.history) {
    const i = table.indexOf(id);
    if (i >= 0) row[i] = -Infinity;
  }
}

function matchedInterest(l: Learner, topics: readonly string[] | undefined): string | undefined {
  if (!topics || l.interests.length === 0) return undefined;
  const lower = topics.map((t) => t.toLowerCase());
  return l.interests.find((x) => lower.includes(x.toLowerCase()));
}

/** List items for the top-k indices (best first), with reasons and the catalogue facts the API filters on. */
export function provisionalItems(l: Learner, table: ItemTable, top: TopKResult, topN: number): RecommendedItem[] {
  const out: RecommendedItem[] = [];
  const history = new Set(l.history);
  for (let r = 0; r < top.indices.length && out.length < topN; r++) {
    const i = top.indices[r];
    // state may have moved on while the batch was scored: never list a resource just engaged with or just removed
    if (table.active[i] !== 1 || history.has(table.ids[i])) continue;
    const meta = table.meta[i];
    const reasons: Reason[] = [];
    const topic = matchedInterest(l, meta?.topics);
    if (topic !== undefined) reasons.push({ code: 'matches-interest', text: `Matches your interest in ${topic}`, ref: topic });
    if (table.counts[i] === 0) reasons.push({ code: 'new-resource', text: 'New in the catalogue' });
    else reasons.push({ code: 'similar-learners', text: 'Learners with similar activity engaged with this' });
    out.push({
      resourceId: table.ids[i],
      score: top.scores[r],
      reasons,
      ...(meta?.type ? { type: meta.type } : {}),
      ...(meta?.topics ? { topics: meta.topics } : {}),
      ...(meta?.skills ? { skills: meta.skills } : {}),
    });
  }
  return out;
}
