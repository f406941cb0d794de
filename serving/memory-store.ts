/**
 * In-memory ServingStore: same contract as the Redis store (test/contracts/serving-store.contract.ts runs against both), for
 * unit tests and single-process demos. Values are deep-copied in and out so callers can never mutate stored state,
 * just as with Redis. Lists are kept encoded (serving/list-codec/format-4.ts with an in-process dictionary, as the Redis store writes them), so every test
 * that reads a list through this store also goes through the codec.
 */
import { decayedScore, decayWeight, DEFAULT_HALF_LIFE_MS } from './decay';
import { listOfView } from './list-codec';
import { parseCompact, viewOfCompact } from './list-codec/format-4';
import { ListDictionary, memoryDictionaryBackend } from './list-dictionary';
import type { ContentVectors, CurriculumNode, CurriculumStore } from './curriculum';
import type {
  KnowledgeState,
  ReviewState,
  PopularityIncrement,
  RecommendationList,
  RecommendationView,
  ResourceMeta,
  ServingStore,
  SimilarItem,
} from './types';

export interface MemoryStoreOptions {
  /** Popularity half-life in ms. Default 7 days. */
  popularityHalfLifeMs?: number;
  /** Clock in epoch ms. Default Date.now. */
  now?: () => number;
}

const copy = <T>(v: T): T => structuredClone(v);

export class MemoryServingStore implements ServingStore, CurriculumStore {
  private readonly curriculum = new Map<string, CurriculumNode>();
  private readonly skillIndex = new Map<string, Set<string>>();
  private readonly vectors = new Map<string, Float32Array>();
  private vectorVersion = 0;
  private readonly lists = new Map<string, Buffer>();
  private readonly refs = new Map<string, { experiment: string; variant: string }>();
  private readonly resources = new Map<string, ResourceMeta>();
  private readonly similar = new Map<string, SimilarItem[]>();
  private readonly knowledge = new Map<string, KnowledgeState>();
  private readonly reviews = new Map<string, ReviewState>();
  private readonly completed = new Map<string, Set<string>>();
  private readonly interests = new Map<string, string[]>();
  /** '' = overall ranking, otherwise a topic. */
  private readonly popularity = new Map<string, Map<string, number>>();
  private readonly co = new Map<string, Map<string, number>>();
  private readonly coChanged = new Set<string>();
  private readonly halfLifeMs: number;
  private readonly now: () => number;
  private closed = false;
  private readonly dict = new ListDictionary(memoryDictionaryBackend());

  constructor(opts: MemoryStoreOptions = {}) {
    this.halfLifeMs = opts.popularityHalfLifeMs ?? DEFAULT_HALF_LIFE_MS;
    this.now = opts.now ?? Date.now;
  }

  putRecommendations(list: RecommendationList): Promise<void> {
    // Like Redis' rtag:<userId>: written with a tagged list, left as it was by an untagged one.
    if (list.ref) this.refs.set(list.userId, { ...list.ref });
    return this.dict.write(list, (value) => {
      this.lists.set(list.userId, value);
      return Promise.resolve();
    });
  }
  putRecommendationLists(lists: readonly RecommendationList[]): Promise<void> {
    for (const list of lists) if (list.ref) this.refs.set(list.userId, { ...list.ref });
    return this.dict.writeMany(lists, (values) => {
      lists.forEach((list, j) => this.lists.set(list.userId, values[j]));
      return Promise.resolve();
    });
  }
  async getRecommendations(userId: string): Promise<RecommendationList | null> {
    const view = await this.getRecommendationView(userId);
    const out = view && listOfView(view);
    if (out && view.ref) out.ref = { ...view.ref };
    return out;
  }
  async getRecommendationView(userId: string): Promise<RecommendationView | null> {
    const l = this.lists.get(userId);
    const c = l ? parseCompact(l) : null;
    if (!c) return null;
    await this.dict.loadList(c);
    const view = viewOfCompact(c, this.dict.entry, () => undefined);
    const ref = this.refs.get(userId);
    if (view && ref) (view as { ref?: RecommendationList['ref'] }).ref = { ...ref };
    return view;
  }
  putResource(meta: ResourceMeta): Promise<void> {
    this.resources.set(meta.resourceId, copy(meta));
    return Promise.resolve();
  }
  getResources(ids: string[]): Promise<(ResourceMeta | null)[]> {
    return Promise.resolve(
      ids.map((id) => {
        const r = this.resources.get(id);
        return r ? copy(r) : null;
      }),
    );
  }
  deleteResource(resourceId: string): Promise<void> {
    this.resources.delete(resourceId);
    this.similar.delete(resourceId);
    this.co.delete(resourceId);
    for (const ranking of this.popularity.values()) ranking.delete(resourceId);
    return Promise.resolve();
  }
  putSimilar(resourceId: string, items: SimilarItem[]): Promise<void> {
    this.similar.set(resourceId, copy(items));
    return Promise.resolve();
  }
  getSimilar(resourceId: string): Promise<SimilarItem[] | null> {
    const s = this.similar.get(resourceId);
    return Promise.resolve(s ? copy(s) : null);
  }
  putKnowledge(state: KnowledgeState): Promise<void> {
    this.knowledge.set(state.userId, copy(state));
    return Promise.resolve();
  }
  getKnowledge(userId: string): Promise<KnowledgeState | null> {
    const k = this.knowledge.get(userId);
    return Promise.resolve(k ? copy(k) : null);
  }
  putReviews(state: ReviewState): Promise<void> {
    this.reviews.set(state.userId, copy(state));
    return Promise.resolve();
  }
  getReviews(userId: string): Promise<ReviewState | null> {
    const r = this.reviews.get(userId);
    return Promise.resolve(r ? copy(r) : null);
  }
  addCompleted(userId: string, resourceIds: string[]): Promise<void> {
    if (resourceIds.length === 0) return Promise.resolve();
    let set = this.completed.get(userId);
    if (!set) this.completed.set(userId, (set = new Set<string>()));
    for (const id of resourceIds) set.add(id);
    return Promise.resolve();
  }
  async addCompletedMany(entries: ReadonlyMap<string, readonly string[]>): Promise<void> {
    for (const [userId, ids] of entries) await this.addCompleted(userId, [...ids]);
  }
  getCompleted(userId: string): Promise<Set<string>> {
    return Promise.resolve(new Set(this.completed.get(userId) ?? []));
  }
  incrementPopularity(resourceId: string, by: number, topics: string[], at?: number): Promise<void> {
    return this.incrementPopularityMany([{ resourceId, by, topics, at }]);
  }
  incrementPopularityMany(increments: readonly PopularityIncrement[]): Promise<void> {
    this.writePopularity(increments, (old, w) => (old ?? 0) + w);
    return Promise.resolve();
  }
  raisePopularityMany(entries: readonly PopularityIncrement[]): Promise<void> {
    this.writePopularity(entries, (old, w) => Math.max(old ?? -Infinity, w));
    return Promise.resolve();
  }
  /** Each entry's decayed weight into the global ('') and per-topic rankings, combined with what is there by `combine`. */
  private writePopularity(entries: readonly PopularityIncrement[], combine: (old: number | undefined, w: number) => number): void {
    for (const { resourceId, by, topics, at } of entries) {
      const w = by * decayWeight(at ?? this.now(), this.halfLifeMs);
      for (const key of ['', ...new Set(topics)]) {
        let ranking = this.popularity.get(key);
        if (!ranking) this.popularity.set(key, (ranking = new Map<string, number>()));
        ranking.set(resourceId, combine(ranking.get(resourceId), w));
      }
    }
  }
  raiseCoEngagement(pairs: { a: string; b: string; by: number }[]): Promise<void> {
    for (const { a, b, by } of pairs) {
      for (const [x, y] of [
        [a, b],
        [b, a],
      ]) {
        let row = this.co.get(x);
        if (!row) this.co.set(x, (row = new Map<string, number>()));
        row.set(y, Math.max(row.get(y) ?? -Infinity, by));
        this.coChanged.add(x);
      }
    }
    return Promise.resolve();
  }
  getPopular(limit: number, topic?: string, now?: number): Promise<{ resourceId: string; score: number }[]> {
    const ranking = this.popularity.get(topic ?? '');
    if (!ranking || limit <= 0) return Promise.resolve([]);
    const t = now ?? this.now();
    const top = [...ranking.entries()]
      // Same order as Redis ZREVRANGE: score descending, then member descending (lexicographic).
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? 1 : a[0] > b[0] ? -1 : 0))
      .slice(0, limit)
      .map(([resourceId, s]) => ({ resourceId, score: decayedScore(s, t, this.halfLifeMs) }));
    return Promise.resolve(top);
  }
  incrementCoEngagement(pairs: { a: string; b: string; by: number }[]): Promise<void> {
    for (const { a, b, by } of pairs) {
      for (const [x, y] of [
        [a, b],
        [b, a],
      ]) {
        let row = this.co.get(x);
        if (!row) this.co.set(x, (row = new Map<string, number>()));
        row.set(y, (row.get(y) ?? 0) + by);
        this.coChanged.add(x);
      }
    }
    return Promise.resolve();
  }
  getCoEngaged(resourceId: string, limit: number): Promise<{ resourceId: string; score: number }[]> {
    const row = this.co.get(resourceId);
    if (!row || limit <= 0) return Promise.resolve([]);
    const top = [...row.entries()].sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? 1 : x[0] > y[0] ? -1 : 0)).slice(0, limit);
    return Promise.resolve(top.map(([id, score]) => ({ resourceId: id, score })));
  }
  takeCoEngagementChanges(max: number): Promise<string[]> {
    const out = [...this.coChanged].slice(0, Math.max(0, max));
    for (const id of out) this.coChanged.delete(id);
    return Promise.resolve(out);
  }
  putProfileInterests(userId: string, interests: string[]): Promise<void> {
    this.interests.set(userId, [...interests]);
    return Promise.resolve();
  }
  getProfileInterests(userId: string): Promise<string[] | null> {
    const i = this.interests.get(userId);
    return Promise.resolve(i ? [...i] : null);
  }
  putCurriculumNode(node: CurriculumNode): Promise<void> {
    this.unindex(node.resourceId);
    this.curriculum.set(node.resourceId, copy(node));
    for (const s of node.skills) {
      let set = this.skillIndex.get(s);
      if (!set) this.skillIndex.set(s, (set = new Set()));
      set.add(node.resourceId);
    }
    return Promise.resolve();
  }
  private unindex(id: string): void {
    for (const s of this.curriculum.get(id)?.skills ?? []) this.skillIndex.get(s)?.delete(id);
  }
  deleteCurriculumNode(resourceId: string): Promise<void> {
    this.unindex(resourceId);
    this.curriculum.delete(resourceId);
    this.vectors.delete(resourceId);
    this.vectorVersion++;
    return Promise.resolve();
  }
  getCurriculumNodes(ids: readonly string[]): Promise<(CurriculumNode | null)[]> {
    return Promise.resolve(
      ids.map((id) => {
        const n = this.curriculum.get(id);
        return n ? copy(n) : null;
      }),
    );
  }
  listCurriculumNodes(): Promise<CurriculumNode[]> {
    return Promise.resolve([...this.curriculum.values()].map((n) => copy(n)));
  }
  getSkillResources(skill: string): Promise<string[]> {
    return Promise.resolve([...(this.skillIndex.get(skill) ?? [])].sort());
  }
  putContentVector(resourceId: string, vector: Float32Array | null): Promise<void> {
    if (vector) this.vectors.set(resourceId, Float32Array.from(vector));
    else this.vectors.delete(resourceId);
    this.vectorVersion++;
    return Promise.resolve();
  }
  getContentVectors(sinceVersion?: number): Promise<ContentVectors | null> {
    if (sinceVersion === this.vectorVersion) return Promise.resolve(null);
    return Promise.resolve({
      version: this.vectorVersion,
      vectors: new Map([...this.vectors].map(([id, v]) => [id, Float32Array.from(v)])),
    });
  }

  eraseLearner(userId: string): Promise<void> {
    this.lists.delete(userId);
    this.refs.delete(userId);
    this.knowledge.delete(userId);
    this.reviews.delete(userId);
    this.completed.delete(userId);
    this.interests.delete(userId);
    return Promise.resolve();
  }
  ping(): Promise<boolean> {
    return Promise.resolve(!this.closed);
  }
  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}
