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
export function rankLearner(l: Learner, table: ItemTable, topN: number, interestBoost = 2): RecommendedItem[] {
  const n = table.size;
  if (n === 0) return [];
  const scores = new Float32Array(n);
  dotAll(l.cf.vector, table.factors, n, table.dim, scores, table.bias);
  const interests = new Set(l.interests.map((s) => s.toLowerCase()));
  const matched = new Int32Array(n).fill(-1);
  for (let i = 0; i < n; i++) {
    if (table.active[i] === 0) {
      scores[i] = -Infinity;
      continue;
    }
    if (interests.size > 0) {
      const topics = table.meta[i]?.topics;
      if (topics) {
        const t = topics.findIndex((x) => interests.has(x.toLowerCase()));
        if (t >= 0) {
          scores[i] += interestBoost;
          matched[i] = t;
        }
      }
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
    if (matched[i] >= 0) {
      const topic = meta!.topics![matched[i]];
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
