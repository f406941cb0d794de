import type { Reason, RecommendationList, RecommendedItem } from '../../serving/types';
import type { Rng } from '../../models/random/prng';
import { ItemTable } from '../../pipelines/model/item-table';

/** Generated catalogue and lists with the shapes the pipeline writes (memory and read scenarios). */
export const TOPICS = Array.from({ length: 300 }, (_, i) => `topic-${i}`);
const TYPES = ['video', 'article', 'exercise', 'quiz', 'course'];

export function pick<T>(rng: Rng, a: T[]): T {
  return a[Math.floor(rng() * a.length)];
}

/** A fresh (non-interned, flat: short concatenations are copied) id string, as decoded events give the pipeline. */
export function freshId(prefix: string, i: number): string {
  return `${prefix}${i}`;
}

export function buildItems(n: number, dim: number, rng: Rng): ItemTable {
  const t = new ItemTable(dim, 1024);
  for (let i = 0; i < n; i++) {
    const f = new Float32Array(dim);
    for (let d = 0; d < dim; d++) f[d] = rng() - 0.5;
    t.set({
      itemId: `res-${i}`,
      factors: f,
      bias: 0,
      count: 1,
      lastT: 0,
      active: true,
      meta: {
        type: pick(rng, TYPES),
        topics: [pick(rng, TOPICS), pick(rng, TOPICS)],
        skills: [`skill-${i % 997}`],
        difficulty: rng(),
        title: `Resource number ${i} about ${pick(rng, TOPICS)}`,
      },
    });
  }
  return t;
}

/** A list shaped exactly as pipelines/learner/rank.ts produces it (reasons, type/topics/skills copied in). */
export function makeList(userId: string, topN: number, table: ItemTable, rng: Rng): RecommendationList {
  const items: RecommendedItem[] = [];
  for (let k = 0; k < topN; k++) {
    const i = Math.floor(rng() * table.size);
    const meta = table.meta[i]!;
    const reasons: Reason[] = [];
    if (rng() < 0.3) reasons.push({ code: 'matches-interest', text: `Matches your interest in ${meta.topics![0]}`, ref: meta.topics![0] });
    reasons.push({ code: 'similar-learners', text: 'Learners with similar activity engaged with this' });
    items.push({
      resourceId: table.ids[i],
      score: 3 - k * 0.01 - rng() * 0.001,
      reasons,
      type: meta.type,
      topics: meta.topics,
      skills: meta.skills,
    });
  }
  return { userId, items, modelVersion: 'bench-1', generatedAt: Date.now(), eventTime: Date.now(), source: 'personal' };
}
