import { dotAll } from '../../models/kernel/dot';
import { topK } from '../../models/kernel/topk';
import type { Reason, RecommendedItem } from '../../lib/serving/types';
import type { ItemTable } from '../model/item-table';
import type { Learner } from './state';

/**
 * Ranks every active item of the table for one learner: collaborative score (user · item + item bias), a boost for
 * resources matching the learner's declared interests, the learner's recent resources excluded. PROVISIONAL until
 * models/ranking lands (difficulty fit, prerequisites and diversity belong there); keeps a reason per item.
 */
// Scratch score buffer: ranking is synchronous and single-threaded, so one buffer serves every call (no 40 KB
// allocation per re-rank at 10,000 items).
let scratch = new Float32Array(1024);

export function rankLearner(l: Learner, table: ItemTable, topN: number, interestBoost = 2): RecommendedItem[] {
  const n = table.size;
  if (n === 0) return [];
  if (scratch.length < n) scratch = new Float32Array(Math.max(n, scratch.length * 2));
  const scores = scratch.subarray(0, n);
  dotAll(l.cf.vector, table.factors, n, table.dim, scores, table.bias);
  const active = table.active;
  for (let i = 0; i < n; i++) if (active[i] === 0) scores[i] = -Infinity;
  const matched = new Map<number, string>();
  for (const interest of l.interests) {
    const rows = table.rowsWithTopic(interest.toLowerCase());
    if (!rows) continue;
    for (const i of rows) {
      if (active[i] === 0 || matched.has(i)) continue;
      scores[i] += interestBoost;
      matched.set(i, interest);
    }
  }
  for (const id of l.history) {
    const i = table.indexOf(id);
    if (i >= 0) scores[i] = -Infinity;
  }
  const top = topK(scores, n, topN);
  const out: RecommendedItem[] = [];
  for (const i of top) {
    const meta = table.meta[i];
    const reasons: Reason[] = [];
    const topic = matched.get(i);
    if (topic !== undefined) {
      reasons.push({ code: 'matches-interest', text: `Matches your interest in ${topic}`, ref: topic });
    }
    if (table.counts[i] === 0) reasons.push({ code: 'new-resource', text: 'New in the catalogue' });
    else reasons.push({ code: 'similar-learners', text: 'Learners with similar activity engaged with this' });
    out.push({
      resourceId: table.ids[i],
      score: scores[i],
      reasons,
      ...(meta?.type ? { type: meta.type } : {}),
      ...(meta?.topics ? { topics: meta.topics } : {}),
      ...(meta?.skills ? { skills: meta.skills } : {}),
    });
  }
  return out;
}
