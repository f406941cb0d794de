/**
 * What GET /v1/resources/:id/similar returns: the pipeline's similar-items list (content similarity plus
 * co-engagement, with reasons), or, when none was written yet, popular resources sharing a topic with it. Unknown
 * resource (neither a list nor a catalogue entry) → null, which the route turns into 404.
 */
import type { Reason, ServingReader } from '../../serving/types';

export interface SimilarResponse {
  resourceId: string;
  source: 'similar' | 'popular-in-topic';
  count: number;
  items: { resourceId: string; title?: string; type?: string; score: number; reasons: Reason[] }[];
}

export async function serveSimilar(store: ServingReader, resourceId: string, limit: number): Promise<SimilarResponse | null> {
  const [list, [self]] = await Promise.all([store.getSimilar(resourceId), store.getResources([resourceId])]);
  let source: SimilarResponse['source'] = 'similar';
  let candidates = list ?? [];
  if (!list) {
    if (!self) return null;
    source = 'popular-in-topic';
    const perTopic = await Promise.all(
      self.topics.slice(0, 8).map((t) => store.getPopular(limit * 3 + 1, t).then((ps) => ps.map((p) => ({ ...p, t })))),
    );
    candidates = perTopic.flat().map((p) => ({
      resourceId: p.resourceId,
      score: p.score,
      reasons: [{ code: 'popular-in-interest' as const, text: `Popular in ${p.t}`, ref: p.t }],
    }));
  }
  const seen = new Set([resourceId]);
  const unique = candidates.filter((c) => !seen.has(c.resourceId) && (seen.add(c.resourceId), true));
  const metas = await store.getResources(unique.map((c) => c.resourceId));
  const items: SimilarResponse['items'] = [];
  unique.forEach((c, i) => {
    const meta = metas[i];
    // No catalogue entry means deleted (deleteResource removes res:<id>); co-engagement lists written by the learner
    // stage can still name it until they are next rewritten.
    if (items.length >= limit || !meta || !meta.active) return;
    items.push({ resourceId: c.resourceId, title: meta.title, type: meta.type, score: c.score, reasons: c.reasons });
  });
  return { resourceId, source, count: items.length, items };
}
