/**
 * What GET /v1/learners/:userId/recommendations returns. Reads the serving store only (never waits on training):
 *
 *   1. the learner's cached list (source `personal`, or `cold-start:interests` written by the pipeline from the
 *      learner's declared interests via content similarity);
 *   2. if there is none, or the filters leave the page short: popular within the learner's declared interests
 *      (`popular-in-interest`), then popular overall (`popular`).
 *
 * Server-side filters (type, topic, skill) and the exclusion of completed and inactive resources apply to every
 * source. An unknown learner gets a labelled fallback, never an error. Each item says which source it came from.
 */
import type { Reason, ResourceMeta, ServingStore } from '../../lib/serving/types';

export type ServedSource = 'personal' | 'cold-start:interests' | 'popular-in-interest' | 'popular';

export interface RecommendationQuery {
  userId: string;
  limit: number;
  type?: string;
  topic?: string;
  skill?: string;
  explain: boolean;
}

export interface ServedItem {
  resourceId: string;
  title?: string;
  type?: string;
  topics?: string[];
  skills?: string[];
  source: ServedSource;
  score?: number;
  reasons?: Reason[];
}

export interface ServedRecommendations {
  userId: string;
  /** Where the first item came from; `personal` unless a fallback was needed. */
  source: ServedSource;
  fallback: boolean;
  modelVersion: string | null;
  generatedAt: number | null;
  eventTime: number | null;
  count: number;
  items: ServedItem[];
}

interface Candidate {
  resourceId: string;
  score: number;
  reasons: Reason[];
  source: ServedSource;
  type?: string;
  topics?: string[];
  skills?: string[];
}

/** Popular candidates fetched per fallback step: enough that filters still fill a page, bounded. */
const popularDepth = (limit: number) => Math.min(500, Math.max(50, limit * 10));

export async function serveRecommendations(store: ServingStore, q: RecommendationQuery): Promise<ServedRecommendations> {
  const [list, completed] = await Promise.all([store.getRecommendations(q.userId), store.getCompleted(q.userId)]);
  const seen = new Set<string>(completed);
  const chosen: { c: Candidate; meta: ResourceMeta | null }[] = [];

  // Catalogue entries are fetched in chunks (one MGET each) only until the page is full: an unfiltered page of 10 from
  // a 100-item list costs one MGET of 20 keys, not 100.
  const chunk = Math.max(20, q.limit * 2);
  const take = async (candidates: Candidate[]) => {
    const fresh = candidates.filter((c) => !seen.has(c.resourceId));
    for (let start = 0; start < fresh.length && chosen.length < q.limit; start += chunk) {
      const part = fresh.slice(start, start + chunk);
      const metas = await store.getResources(part.map((c) => c.resourceId));
      part.forEach((c, i) => {
        if (chosen.length >= q.limit || seen.has(c.resourceId)) return;
        const meta = metas[i];
        if (!matches(c, meta, q)) return;
        seen.add(c.resourceId);
        chosen.push({ c, meta });
      });
    }
  };

  if (list && list.items.length > 0) {
    await take(list.items.map((it) => ({ ...it, source: list.source })));
  }
  if (chosen.length < q.limit) {
    const interests = (await store.getProfileInterests(q.userId)) ?? [];
    const depth = popularDepth(q.limit);
    const perInterest = await Promise.all(interests.slice(0, 16).map((topic) => store.getPopular(depth, topic).then((ps) => ps.map((p) => ({ ...p, topic })))));
    // Interleave the interests so one broad interest does not crowd out the others.
    const merged: Candidate[] = [];
    for (let i = 0; i < depth; i++) {
      for (const ps of perInterest) {
        const p = ps[i];
        if (p) merged.push({ resourceId: p.resourceId, score: p.score, source: 'popular-in-interest', reasons: [{ code: 'popular-in-interest', text: `Popular in ${p.topic}`, ref: p.topic }] });
      }
    }
    await take(merged);
  }
  if (chosen.length < q.limit) {
    const ps = await store.getPopular(popularDepth(q.limit));
    await take(ps.map((p) => ({ resourceId: p.resourceId, score: p.score, source: 'popular', reasons: [{ code: 'popular', text: 'Popular with learners right now' }] })));
  }

  const items = chosen.map(({ c, meta }) => present(c, meta, q.explain));
  const source: ServedSource = items[0]?.source ?? (list && list.items.length > 0 ? list.source : 'popular');
  return {
    userId: q.userId,
    source,
    fallback: source !== 'personal',
    modelVersion: list?.modelVersion ?? null,
    generatedAt: list?.generatedAt ?? null,
    eventTime: list?.eventTime ?? null,
    count: items.length,
    items,
  };
}

/** Filters use the catalogue entry when there is one (fresher than facts copied into a list), else the copied facts. */
function matches(c: Candidate, meta: ResourceMeta | null, q: RecommendationQuery): boolean {
  if (meta && !meta.active) return false;
  const type = meta?.type ?? c.type;
  const topics = meta?.topics ?? c.topics ?? [];
  const skills = meta?.skills ?? c.skills ?? [];
  if (q.type !== undefined && type !== q.type) return false;
  if (q.topic !== undefined && !topics.includes(q.topic)) return false;
  if (q.skill !== undefined && !skills.includes(q.skill)) return false;
  return true;
}

function present(c: Candidate, meta: ResourceMeta | null, explain: boolean): ServedItem {
  const item: ServedItem = { resourceId: c.resourceId, source: c.source };
  const title = meta?.title;
  const type = meta?.type ?? c.type;
  const topics = meta?.topics ?? c.topics;
  const skills = meta?.skills ?? c.skills;
  if (title !== undefined) item.title = title;
  if (type !== undefined) item.type = type;
  if (topics !== undefined) item.topics = topics;
  if (skills !== undefined) item.skills = skills;
  if (explain) {
    item.score = Number.isFinite(c.score) ? c.score : 0;
    item.reasons = c.reasons;
  }
  return item;
}
