/** A small catalogue, lists and popularity written through the ServingStore interface; shared by API tests. */
import type { ResourceMeta, ServingStore } from '../../serving/types';

export const T0 = Date.UTC(2026, 10, 1);

const res = (resourceId: string, type: string, topics: string[], skills: string[], active = true): ResourceMeta => ({
  resourceId,
  title: `Title of ${resourceId}`,
  type,
  topics,
  skills,
  difficulty: 0.5,
  active,
});

export const CATALOG: ResourceMeta[] = [
  res('r-alg-video', 'video', ['algebra'], ['linear-eq']),
  res('r-alg-quiz', 'quiz', ['algebra'], ['linear-eq']),
  res('r-geo-video', 'video', ['geometry'], ['angles']),
  res('r-geo-article', 'article', ['geometry'], ['area']),
  res('r-calc-course', 'course', ['calculus'], ['derivatives']),
  res('r-old', 'video', ['algebra'], ['linear-eq'], false),
];

export async function seed(store: ServingStore): Promise<void> {
  for (const r of CATALOG) await store.putResource(r);
  const pop: [string, number][] = [
    ['r-calc-course', 5],
    ['r-geo-article', 4],
    ['r-alg-quiz', 3],
    ['r-geo-video', 2],
    ['r-alg-video', 1],
  ];
  for (const [id, n] of pop) await store.incrementPopularity(id, n, CATALOG.find((c) => c.resourceId === id)!.topics, T0);
  await store.putRecommendations({
    userId: 'u-personal',
    modelVersion: 'mf-v1',
    generatedAt: T0 + 100,
    eventTime: T0 + 40,
    source: 'personal',
    items: ['r-alg-video', 'r-geo-video', 'r-alg-quiz', 'r-old', 'r-calc-course'].map((id, i) => {
      const c = CATALOG.find((x) => x.resourceId === id)!;
      return {
        resourceId: id,
        score: 0.9 - i * 0.1,
        reasons: [{ code: i === 0 ? 'similar-learners' : 'right-level', text: 'because', ref: 'x' }],
        type: c.type,
        topics: c.topics,
        skills: c.skills,
      };
    }),
  });
  await store.addCompleted('u-personal', ['r-geo-video']);
  await store.putProfileInterests('u-interests', ['geometry']);
  await store.putRecommendations({
    userId: 'u-cold',
    modelVersion: 'enc-v1',
    generatedAt: T0,
    source: 'cold-start:interests',
    items: [
      {
        resourceId: 'r-geo-article',
        score: 0.8,
        reasons: [{ code: 'matches-interest', text: 'Matches your interest in shapes', ref: 'shapes' }],
      },
    ],
  });
  await store.putKnowledge({
    userId: 'u-personal',
    updatedAt: T0,
    skills: [
      { skill: 'linear-eq', mastery: 0.7, uncertainty: 0.3, attempts: 12 },
      { skill: 'angles', mastery: 0.4, uncertainty: 0.9, attempts: 2 },
    ],
  });
  await store.putSimilar('r-alg-video', [
    { resourceId: 'r-alg-quiz', score: 0.93, reasons: [{ code: 'content-similar', text: 'Same topic: algebra', ref: 'algebra' }] },
    { resourceId: 'r-old', score: 0.9, reasons: [{ code: 'content-similar', text: 'x' }] },
    { resourceId: 'r-gone', score: 0.85, reasons: [{ code: 'co-engaged', text: 'x' }] },
  ]);
}
