/**
 * The serving store: derived, rebuildable data the read API serves (ARCHITECTURE.md: "Redis holds derived data only").
 * One narrow interface, a Redis implementation and an in-memory one, one contract test suite run against both.
 * The pipeline writes; the API reads. Implementations: serving/redis-store.ts, serving/memory-store.ts.
 */
import type { Reason, RecommendedItem } from '../models/ranking/types';
import type { SimilarItem } from '../models/content/similar';
import type { SkillMastery } from '../models/knowledge/types';

// The domain types the store holds live in models/ (the pure core owns its words); re-exported for the store's users.
export type { Reason, RecommendedItem, SimilarItem, SkillMastery };

/** One learner's cached list, replaced atomically as a whole. */
export interface RecommendationList {
  userId: string;
  items: RecommendedItem[];
  modelVersion: string;
  /** Epoch ms when the list was computed. */
  generatedAt: number;
  /** Epoch ms of the newest event the list reflects (freshness = generatedAt - eventTime). */
  eventTime?: number;
  /** 'personal' for model lists; 'cold-start:interests' or 'popular' for fallbacks. */
  source: 'personal' | 'cold-start:interests' | 'popular';
  /**
   * The experiment and variant the list was ranked under (issue 21), absent outside any experiment. Stored beside the
   * list (Redis `rtag:<userId>`), not in its encoding; the read API turns it into the response's recommId and variant.
   */
  ref?: { experiment: string; variant: string };
}

/**
 * The read path's view of one cached list: what exclusion, filtering and paging need (the ids) at once, an item's
 * score, reasons and copied facts only when asked for. Same data as the list (serving/list-codec.ts); the view belongs to
 * the caller (nothing in it is shared with the store).
 */
export interface RecommendationView extends Omit<RecommendationList, 'items'> {
  /** resourceId of item i, in list order. */
  readonly ids: readonly string[];
  /** score of item i. */
  score(i: number): number;
  /** Item i in full. It may be decoded on each call: a caller that needs it twice keeps it. */
  item(i: number): RecommendedItem;
}

export interface ResourceMeta {
  resourceId: string;
  title: string;
  type: string;
  topics: string[];
  skills: string[];
  difficulty?: number;
  language?: string;
  active: boolean;
}

export interface KnowledgeState {
  userId: string;
  skills: SkillMastery[];
  updatedAt: number;
}

/** One learner's FSRS card as served (the learner stage's review state, models/review). */
export interface ReviewEntry {
  /** The resource id (kind 'resource') or quiz item id (kind 'item', a question with no resource). */
  id: string;
  kind: 'resource' | 'item';
  /** Epoch ms when it is due. */
  due: number;
  /** FSRS stability (days) and difficulty (1..10). */
  stability: number;
  difficulty: number;
  /** FSRS state 0 new, 1 learning, 2 review, 3 relearning (with the last two, the numbers ts-fsrs reads). */
  state: number;
  reps: number;
  lapses: number;
  /** Epoch ms of the last review. */
  lastReview: number;
  scheduled: number;
  step: number;
}

export interface ReviewState {
  userId: string;
  cards: ReviewEntry[];
  updatedAt: number;
}

/** One resource's popularity increment (see ServingStore.incrementPopularity for the fields). */
export interface PopularityIncrement {
  resourceId: string;
  by: number;
  topics: readonly string[];
  /** Epoch ms of the event; default the store's clock. */
  at?: number;
}

/** What the read API needs: reads only (the read API never writes the store). */
export interface ServingReader {
  getRecommendations(userId: string): Promise<RecommendationList | null>;
  /** The same list as a lazily decoded view (what the read API uses: a page of 10 needs 10 of the 100 items). */
  getRecommendationView(userId: string): Promise<RecommendationView | null>;
  getResources(ids: string[]): Promise<(ResourceMeta | null)[]>;
  getSimilar(resourceId: string): Promise<SimilarItem[] | null>;
  /** Partners of a resource, strongest first. */
  getCoEngaged(resourceId: string, limit: number): Promise<{ resourceId: string; score: number }[]>;
  getKnowledge(userId: string): Promise<KnowledgeState | null>;
  /** The learner's review cards (replaced as a whole); erased with the learner. */
  getReviews(userId: string): Promise<ReviewState | null>;
  getCompleted(userId: string): Promise<Set<string>>;
  /** Most popular first, scores decayed to `now` (default: the store's clock); `topic` undefined = overall. */
  getPopular(limit: number, topic?: string, now?: number): Promise<{ resourceId: string; score: number }[]>;
  getProfileInterests(userId: string): Promise<string[] | null>;
  ping(): Promise<boolean>;
}

/** What the pipeline writes: every write of derived data, replaced or incremented as its input changes. */
export interface ServingWriter {
  putRecommendations(list: RecommendationList): Promise<void>;
  /**
   * The same as putRecommendations of each list (distinct learners), in fewer round trips where the store can (one
   * batch of re-ranks). Optional: callers fall back to putRecommendations per list.
   */
  putRecommendationLists?(lists: readonly RecommendationList[]): Promise<void>;
  putResource(meta: ResourceMeta): Promise<void>;
  deleteResource(resourceId: string): Promise<void>;
  putSimilar(resourceId: string, items: SimilarItem[]): Promise<void>;
  /**
   * Co-engagement: `by` more learners engaged with both `a` and `b` (counted both ways, so a pair is symmetric). Both
   * items are marked changed for takeCoEngagementChanges. Each item keeps its strongest partners only (bounded).
   * Derived data without user ids, like popularity.
   */
  incrementCoEngagement(pairs: { a: string; b: string; by: number }[]): Promise<void>;
  /** Takes (removes and returns) up to `max` resources whose co-engagement changed since they were last taken. */
  takeCoEngagementChanges(max: number): Promise<string[]>;
  putKnowledge(state: KnowledgeState): Promise<void>;
  /** The learner's review cards (replaced as a whole); erased with the learner. */
  putReviews(state: ReviewState): Promise<void>;
  addCompleted(userId: string, resourceIds: string[]): Promise<void>;
  /** {@link addCompleted} for several learners in one round trip (the learner stage writes a batch's completions). */
  addCompletedMany(entries: ReadonlyMap<string, readonly string[]>): Promise<void>;
  /**
   * Popularity with exponential time decay (half-life set on the store): adds `by` to the overall ranking and to each
   * topic's ranking. `at` = epoch ms of the event (default: the store's clock), so replays of old data decay correctly.
   */
  incrementPopularity(resourceId: string, by: number, topics: string[], at?: number): Promise<void>;
  /**
   * Several incrementPopularity calls as one write (one MULTI in Redis): what the learner stage sends per flush, one
   * entry per resource. Same result as the calls one by one (each ranking is still trimmed to its bound).
   */
  incrementPopularityMany(increments: readonly PopularityIncrement[]): Promise<void>;
  /**
   * Rewrite after a serving-view loss (pipelines/learner/rewrite.ts): raises each resource's popularity to at least
   * `by` decayed to `at` (overall and per topic), never lowers one (Redis ZADD GT), so live increments since the loss
   * and a second instance rewriting the same values are kept, not added twice. Rankings stay bounded.
   */
  raisePopularityMany(entries: readonly PopularityIncrement[]): Promise<void>;
  /** Same for co-engagement: each pair's count becomes at least `by` both ways; both items are marked changed. */
  raiseCoEngagement(pairs: { a: string; b: string; by: number }[]): Promise<void>;
  putProfileInterests(userId: string, interests: string[]): Promise<void>;
  /** Erasure: removes every key about the learner. */
  eraseLearner(userId: string): Promise<void>;
}

/** One store implements both sides (Redis, memory); the pipeline also reads some facts back (completed, knowledge). */
export interface ServingStore extends ServingReader, ServingWriter {
  close(): Promise<void>;
}

/**
 * Catalogue reads in two steps, the entries as stored and their parsing, for a store that keeps them as text: a cache
 * re-reading an entry can then tell from the text alone that it did not change, and keep what it parsed before.
 */
export interface StoredResourceReads {
  /** The stored form of each entry (null = none), one round trip. */
  getStoredResources(ids: readonly string[]): Promise<(string | null)[]>;
  /** A stored entry parsed; null (and counted) when it is corrupt, as getResources treats it. */
  parseStoredResource(stored: string): ResourceMeta | null;
}

export function hasStoredResourceReads(store: ServingStore): store is ServingStore & StoredResourceReads {
  const s = store as Partial<StoredResourceReads>;
  return typeof s.getStoredResources === 'function' && typeof s.parseStoredResource === 'function';
}
