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
import type { Reason, RecommendationList, RecommendedItem, ResourceMeta, ServingReader } from '../../serving/types';
import { hasSharedCatalog } from './catalog-cache';

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
  /** The experiment and variant the list was ranked under, as stored with it (api/recommend/experiment.ts decides). */
  ref: RecommendationList['ref'] | null;
}

/** Reasons and the catalogue facts a list copied in: decoded only for the candidates that need them. */
type Detail = Pick<RecommendedItem, 'reasons' | 'type' | 'topics' | 'skills'>;

/**
 * Candidates of one source, by index: the ids at once, `score(i)` and `detail(i)` on demand. For the cached list that is the
 * store's lazy view, so a page of 10 from a top-100 list decodes the reasons of 10 items, not 100.
 */
interface Candidates {
  source: ServedSource;
  ids: readonly string[];
  score(i: number): number;
  detail(i: number): Detail;
}

interface Chosen {
  from: Candidates;
  i: number;
  meta: ResourceMeta | null;
  /** Decoded when filtering needed the copied facts, else null (decoded in present() if reasons are asked for). */
  detail: Detail | null;
}

/** Popular candidates fetched per fallback step: enough that filters still fill a page, bounded. */
const popularDepth = (limit: number) => Math.min(500, Math.max(50, limit * 10));

export async function serveRecommendations(store: ServingReader, q: RecommendationQuery): Promise<ServedRecommendations> {
  const [list, completed] = await Promise.all([store.getRecommendationView(q.userId), store.getCompleted(q.userId)]);
  const seen = new Set<string>(completed);
  // Behind the API's catalogue cache: its shared, frozen entries (nothing here mutates them), not a copy per read.
  const catalog = hasSharedCatalog(store) ? (ids: string[]) => store.getSharedResources(ids) : (ids: string[]) => store.getResources(ids);
  const chosen: Chosen[] = [];

  // Catalogue entries are fetched in chunks (one MGET each) only until the page is full: an unfiltered page of 10 from
  // a 100-item list costs one MGET of 20 keys, not 100.
  const chunk = Math.max(20, q.limit * 2);
  const take = async (c: Candidates) => {
    const fresh: number[] = [];
    for (let i = 0; i < c.ids.length; i++) if (!seen.has(c.ids[i])) fresh.push(i);
    for (let start = 0; start < fresh.length && chosen.length < q.limit; start += chunk) {
      const part = fresh.slice(start, start + chunk);
      const metas = await catalog(part.map((i) => c.ids[i]));
      part.forEach((i, k) => {
        const resourceId = c.ids[i];
        if (chosen.length >= q.limit || seen.has(resourceId)) return;
        const meta = metas[k];
        if (meta && !meta.active) return;
        // The copied facts are only needed where there is no catalogue entry.
        const detail = meta ? null : c.detail(i);
        if (!matches(meta, detail, q)) return;
        seen.add(resourceId);
        chosen.push({ from: c, i, meta, detail });
      });
    }
  };

  if (list && list.ids.length > 0)
    await take({ source: list.source, ids: list.ids, score: (i) => list.score(i), detail: (i) => list.item(i) });
  if (chosen.length < q.limit) {
    const interests = (await store.getProfileInterests(q.userId)) ?? [];
    const depth = popularDepth(q.limit);
    const perInterest = await Promise.all(
      interests.slice(0, 16).map((topic) => store.getPopular(depth, topic).then((ps) => ps.map((p) => ({ ...p, topic })))),
    );
    // Interleave the interests so one broad interest does not crowd out the others.
    const merged: { resourceId: string; score: number; topic: string }[] = [];
    for (let i = 0; i < depth; i++) {
      for (const ps of perInterest) {
        const p = ps[i];
        if (p) merged.push(p);
      }
    }
    await take({
      source: 'popular-in-interest',
      ids: merged.map((p) => p.resourceId),
      score: (i) => merged[i].score,
      detail: (i) => ({ reasons: [{ code: 'popular-in-interest', text: `Popular in ${merged[i].topic}`, ref: merged[i].topic }] }),
    });
  }
  if (chosen.length < q.limit) {
    const ps = await store.getPopular(popularDepth(q.limit));
    await take({
      source: 'popular',
      ids: ps.map((p) => p.resourceId),
      score: (i) => ps[i].score,
      detail: () => ({ reasons: [{ code: 'popular', text: 'Popular with learners right now' }] }),
    });
  }

  const items = chosen.map((c) => present(c, q.explain));
  const source: ServedSource = items[0]?.source ?? (list && list.ids.length > 0 ? list.source : 'popular');
  return {
    userId: q.userId,
    source,
    fallback: source !== 'personal',
    modelVersion: list?.modelVersion ?? null,
    generatedAt: list?.generatedAt ?? null,
    eventTime: list?.eventTime ?? null,
    count: items.length,
    items,
    ref: list?.ref ?? null,
  };
}

/** Filters use the catalogue entry when there is one (fresher than facts copied into a list), else the copied facts. */
function matches(meta: ResourceMeta | null, copied: Detail | null, q: RecommendationQuery): boolean {
  if (meta && !meta.active) return false;
  const type = meta?.type ?? copied?.type;
  const topics = meta?.topics ?? copied?.topics ?? [];
  const skills = meta?.skills ?? copied?.skills ?? [];
  if (q.type !== undefined && type !== q.type) return false;
  if (q.topic !== undefined && !topics.includes(q.topic)) return false;
  if (q.skill !== undefined && !skills.includes(q.skill)) return false;
  return true;
}

/**
 * Served items whose catalogue facts (title, type, topics, skills) are exactly those of a shared, frozen catalogue
 * entry: recommendationsJson then writes the entry's cached JSON text for them instead of stringifying them again.
 */
const factsOf = new WeakMap<ServedItem, ResourceMeta>();
/** JSON text of an entry's facts, `"title":…,"type":…,"topics":[…],"skills":[…]`; valid as long as the frozen entry lives. */
const factsJson = new WeakMap<ResourceMeta, string>();

function present({ from, i, meta, detail }: Chosen, explain: boolean): ServedItem {
  const item: ServedItem = { resourceId: from.ids[i], source: from.source };
  if (
    meta &&
    Object.isFrozen(meta) &&
    meta.title !== undefined &&
    meta.type !== undefined &&
    meta.topics !== undefined &&
    meta.skills !== undefined
  ) {
    item.title = meta.title;
    item.type = meta.type;
    item.topics = meta.topics;
    item.skills = meta.skills;
    factsOf.set(item, meta);
    if (explain) {
      const score = from.score(i);
      item.score = Number.isFinite(score) ? score : 0;
      item.reasons = (detail ?? from.detail(i)).reasons ?? [];
    }
    return item;
  }
  const d = detail ?? (explain ? from.detail(i) : null);
  const title = meta?.title;
  const type = meta?.type ?? d?.type;
  const topics = meta?.topics ?? d?.topics;
  const skills = meta?.skills ?? d?.skills;
  if (title !== undefined) item.title = title;
  if (type !== undefined) item.type = type;
  if (topics !== undefined) item.topics = topics;
  if (skills !== undefined) item.skills = skills;
  if (explain) {
    const score = from.score(i);
    item.score = Number.isFinite(score) ? score : 0;
    item.reasons = d?.reasons ?? [];
  }
  return item;
}

/**
 * The JSON text of `out`, character for character what JSON.stringify(out) writes (test/unit/api-serve.test.ts), with
 * each item's catalogue facts taken from the text cached per catalogue entry: the page's JSON was the read route's
 * largest cost after the HTTP writes themselves (bench read --profile).
 */
/** `tag`: the list's recommId, experiment and variant (api/recommend/experiment.ts), sent after `count`. */
export function recommendationsJson(out: Omit<ServedRecommendations, 'ref'>, tag?: object): string {
  let items = '';
  for (let k = 0; k < out.items.length; k++) {
    const it = out.items[k];
    const meta = factsOf.get(it);
    let facts: string | undefined;
    if (meta) {
      facts = factsJson.get(meta);
      if (facts === undefined) {
        facts = JSON.stringify({ title: meta.title, type: meta.type, topics: meta.topics, skills: meta.skills }).slice(1, -1);
        factsJson.set(meta, facts);
      }
    }
    if (facts === undefined) {
      items += (k ? ',' : '') + JSON.stringify(it);
      continue;
    }
    let text = `{"resourceId":${JSON.stringify(it.resourceId)},"source":${JSON.stringify(it.source)},${facts}`;
    if (it.score !== undefined) text += `,"score":${JSON.stringify(it.score)}`;
    if (it.reasons !== undefined) text += `,"reasons":${JSON.stringify(it.reasons)}`;
    items += (k ? ',' : '') + text + '}';
  }
  const head = JSON.stringify({
    userId: out.userId,
    source: out.source,
    fallback: out.fallback,
    modelVersion: out.modelVersion,
    generatedAt: out.generatedAt,
    eventTime: out.eventTime,
    count: out.count,
    ...tag,
  });
  return `${head.slice(0, -1)},"items":[${items}]}`;
}
