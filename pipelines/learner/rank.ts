import {
  rank,
  resolveRankOptions,
  type Candidate,
  type LearnerContext,
  type RankOptions,
  type RankOptionsInput,
} from '../../models/ranking';
import { bestKUnordered } from '../../models/kernel/select';
import { Recommender, type RecommenderOptions, type RelevanceParts } from '../../models/recommender/recommender';

/** A candidate that remembers its replica row (MMR views the row's factors instead of copying them). */
interface RowCandidate extends Candidate {
  row: number;
}
import type { KnowledgeModel } from '../../models/knowledge/model';
import type { RecommendedItem } from '../../serving/types';
import type { ItemTable } from '../model/item-table';
import type { TopKResult } from './candidates';
import type { InterestIndex } from './interests';
import type { Learner } from './state';

/** How the learner stage feeds models/ranking; every field optional with the default named. */
export interface LearnerRankOptions {
  /** Length of the cached list (config pipeline.topN). */
  topN: number;
  /**
   * Collaborative candidates per learner from the kernel = candidateFactor × topN, into the recommender's pool beside
   * its transition targets, its most popular and the extras. Default 1: on the first 30,000 MovieLens events served
   * Recall@10 was the same at 1, 1.5 and 3 (0.2269, 15,854 test points; the pool's relevance ranks them below what
   * the transitions and popularity bring), and every one costs the kernel's selection, the pool and its score.
   */
  candidateFactor?: number;
  /**
   * Pool entries handed to models/ranking `rank()` = rankFactor × topN, the best by the recommender's relevance, plus
   * every extra. At least 1 (the list must be able to fill topN). Default 1.5: rank() scores, sorts and builds a
   * candidate per entry; served Recall@10 on the first 30,000 MovieLens events was the same at 1.5 as at 3 (0.2269).
   */
  rankFactor?: number;
  /** MMR diversifies the first `mmrHead` items; the rest of the list follows by relevance. Default 20. */
  mmrHead?: number;
  /**
   * MMR chooses the head among the best mmrPool × mmrHead candidates by relevance. Default 3 (models/ranking's own
   * default is 5): MMR costs O(pool × head × dim) per re-rank, and on the first 30,000 MovieLens events served
   * Recall@10 was the same at 3 as at 5 (0.2269, NDCG 0.1304 both).
   */
  mmrPool?: number;
  /**
   * Cosine credited to a resource whose catalogue topic equals a declared interest: the match used where the interest
   * or the resource has no content vector (no encoder, or not embedded yet), and a floor under the content cosine
   * otherwise. 0.6 sits above the reason threshold (0.35) and around what an embedded two-word interest scores
   * against a matching resource. Default 0.6.
   */
  topicMatchCosine?: number;
  /** Most recent resources given to the ranker ("next after", recent context). Default 10. */
  recentLength?: number;
  /** Extras: most popular (by event count) resources per declared interest (first 5 interests). Default 5. */
  popularPerInterest?: number;
  /**
   * Extras: resources nearest by content to each declared interest (embedded interests only). Default 5: a learner
   * with history has collaborative candidates, and every extra costs rank() time (scripts/eval/interests.ts measures
   * it); a learner with no event yet gets topN per interest, since nothing else says what they want.
   */
  interestNeighbours?: number;
  /** Extras: newest resources with no event yet. Default 16. */
  newResources?: number;
  /** Extras: resources that name one of the recent resources as a prerequisite. Default 20. */
  nextSteps?: number;
  /** New resources matching an interest kept in the list whatever their relevance (exploration). Default 3. */
  reserveNew?: number;
  /** Passed to models/ranking (weights, target success, MMR lambda...). */
  rank?: RankOptionsInput;
  /** The recommender's options (models/recommender); its defaults are the evaluated model's. */
  recommender?: RecommenderOptions;
  /**
   * The learning layer on top of the recommender's relevance (`npm run eval -- --methods served-relevance-only`
   * switches it off): difficulty fit, interests, exploration, MMR diversity. Default true.
   */
  learningLayer?: boolean;
}

/**
 * The learner stage's default weights on top of the recommender: its relevance as given, nothing of the ranker's
 * own collaborative percentile or log popularity (both are inside the relevance already, at the evaluated weights).
 */
export const LEARNER_RANK_WEIGHTS = { relevance: 1, collab: 0, popularity: 0 } as const;

/** Declared interests the ranker reads per learner (the first ones); the stage embeds exactly these. */
export const MAX_INTERESTS = 5;
/** Share of a candidate's relevance its transitions must carry for the "learners who did X went on to this" reason. */
const BECAUSE_SHARE = 0.5;
const POPULAR_REFRESH_MS = 1000;
const NOTHING_COMPLETED: ReadonlySet<string> = new Set<string>();

/**
 * The learner stage's ranking: collaborative candidates from the batched kernel (history and completed masked), plus
 * extras that must get a chance whatever their collaborative score (new resources, popular in the learner's
 * interests, nearest by content to embedded interests, next steps after recent resources), ranked by models/ranking
 * `rank()` with what the stage knows: knowledge-model P(success) for difficulty fit, catalogue prerequisites against
 * the completed set, content cosines (or topic matches) to declared interests, event counts as popularity,
 * normalised item factors as MMR's similarity (384-dim content vectors would make MMR ~12× dearer per pair). MMR
 * covers the visible head only: it is O(pool × head × dim).
 */
export class LearnerRanker {
  /** Collaborative candidates asked of the kernel per learner. */
  readonly k: number;
  /** Pool entries (best by relevance) handed to rank(), besides the extras. */
  private readonly rankK: number;
  private readonly rankOptions: RankOptions;
  private readonly o: Required<Omit<LearnerRankOptions, 'rank' | 'recommender'>>;
  readonly recommender: Recommender;
  private vals = new Float64Array(1024);
  private rowScore = new Float64Array(0);
  private rowPos = new Int32Array(0);
  private parts: RelevanceParts = { transition: new Float64Array(1024), because: new Int32Array(1024), popularity: new Float64Array(1024) };
  /** per pool entry: the collaborative score (reused, like vals) */
  private collab = new Float64Array(1024);
  /** per pool entry: 1 = kept for rank() (the best k and every extra) */
  private kept = new Uint8Array(1024);
  /** the kernel's candidates then the extras, the pool's `extra` argument (reused) */
  private extraBuf = new Int32Array(1024);
  /**
   * Candidate objects by position, reused from one rank() call to the next (filled in full each time): rank() and
   * everything it calls are synchronous and keep none of them (lists copy what they need), so ~350 objects of 13
   * fields per re-rank are not garbage any more, and they keep one shape.
   */
  private readonly candidatePool: RowCandidate[] = [];
  /** Newest activated rows (ring), candidates for the "new resource" extra while they have no event. */
  private readonly activated: number[] = [];
  private readonly popularByTopic = new Map<string, { at: number; rows: number[] }>();

  /** `interests`: embedded declared interests and their cosines to the catalogue; without it interests match by topic. */
  constructor(
    options: LearnerRankOptions,
    private readonly interests?: InterestIndex,
  ) {
    this.o = {
      topN: options.topN,
      candidateFactor: options.candidateFactor ?? 1,
      rankFactor: Math.max(1, options.rankFactor ?? 1.5),
      mmrHead: options.mmrHead ?? 20,
      mmrPool: options.mmrPool ?? 3,
      topicMatchCosine: options.topicMatchCosine ?? 0.6,
      recentLength: options.recentLength ?? 10,
      popularPerInterest: options.popularPerInterest ?? 5,
      interestNeighbours: options.interestNeighbours ?? 5,
      newResources: options.newResources ?? 16,
      nextSteps: options.nextSteps ?? 20,
      reserveNew: options.reserveNew ?? 3,
      learningLayer: options.learningLayer ?? true,
    };
    this.k = Math.round(this.o.candidateFactor * this.o.topN);
    this.rankK = Math.round(this.o.rankFactor * this.o.topN);
    this.recommender = new Recommender(options.recommender);
    const layer = this.o.learningLayer;
    const rankInput: RankOptionsInput = { ...options.rank, weights: { ...LEARNER_RANK_WEIGHTS, ...options.rank?.weights } };
    if (!layer) {
      // relevance alone decides: no difficulty, interest or content term, no exploration slots, no MMR
      rankInput.weights = { ...rankInput.weights, interest: 0, recent: 0, difficulty: 0 };
      rankInput.prerequisitePenalty = 0;
      rankInput.mmrLambda = 1;
    }
    this.rankOptions = resolveRankOptions({
      ...rankInput,
      topN: this.o.topN,
      mmrHead: Math.min(this.o.mmrHead, this.o.topN),
      mmrPool: options.rank?.mmrPool ?? this.o.mmrPool,
      reserveNew: layer ? this.o.reserveNew : 0,
    });
  }

  /** The learner's most recent resources as rows of `table`, oldest first (the recommender's recent items). */
  recentRows(l: Learner, table: ItemTable): number[] {
    const out: number[] = [];
    const w = this.recommender.window;
    for (let r = Math.max(0, l.history.length - w); r < l.history.length; r++) {
      const i = table.indexOf(l.history[r]);
      if (i >= 0) out.push(i);
    }
    return out;
  }

  /** A row became active (new or re-activated resource). */
  noteActivated(i: number): void {
    const at = this.activated.indexOf(i);
    if (at >= 0) this.activated.splice(at, 1);
    this.activated.push(i);
    if (this.activated.length > 4 * this.o.newResources) this.activated.shift();
  }

  /** Masks what the learner must not be offered: recent history and completed resources. */
  mask(l: Learner, table: ItemTable, row: Float32Array): void {
    for (const id of l.history) {
      const i = table.indexOf(id);
      if (i >= 0) row[i] = -Infinity;
    }
    for (const id of l.completed) {
      const i = table.indexOf(id);
      if (i >= 0) row[i] = -Infinity;
    }
    // everything engaged with before the history's bound too
    l.engaged?.forEach((fp) => {
      const i = table.rowOfFp(fp);
      if (i >= 0) row[i] = -Infinity;
    });
  }

  /**
   * The same exclusions as {@link mask} as a predicate over rows (true = may be offered), for candidate paths that
   * check only the rows they selected (the IVF index of a large catalogue). The engaged set holds the history and
   * completions too, by fingerprint, as rank() itself checks them.
   */
  filter(l: Learner, table: ItemTable): (i: number) => boolean {
    const engaged = l.engaged;
    if (engaged) {
      const fp = table.fp;
      return (i) => !engaged.hasFp(fp[i]);
    }
    const out = new Set([...l.history, ...l.completed]);
    const ids = table.ids;
    return (i) => !out.has(ids[i]);
  }

  /**
   * The learner's list: the recommender's relevance over its pool (transition targets of the recent resources, the
   * most popular, the collaborative candidates `top` from the kernel, the extras), the best `k` of it plus every
   * extra, re-ranked by models/ranking with the learning layer.
   */
  rank(
    userId: string,
    l: Learner,
    table: ItemTable,
    knowledge: KnowledgeModel | undefined,
    top: TopKResult,
    now: number,
  ): RecommendedItem[] {
    // most learners have completed nothing: one shared empty set (never written) instead of a new one per re-rank
    const completed = l.completed.length === 0 ? NOTHING_COMPLETED : new Set(l.completed);
    const interests = l.interests.slice(0, MAX_INTERESTS).map((x) => ({ label: x, rows: table.rowsWithTopic(x.toLowerCase()) }));
    const engaged = l.engaged;
    // the engaged set holds the history and the completions too (fingerprints of row ids: no string lookups)
    const fp = table.fp;
    const active = table.active;
    const history = engaged ? undefined : new Set(l.history);
    const allowed = engaged
      ? (i: number) => active[i] === 1 && !engaged.hasFp(fp[i])
      : (i: number) => active[i] === 1 && !history!.has(table.ids[i]) && !completed.has(table.ids[i]);
    const extraRows = this.extras(l, table, interests, now);
    const cold = l.interactions === 0 && l.quizzes === 0;
    const byContent = this.contentInterests(interests);
    extraRows.push(...this.interestNeighbours(table, byContent, cold ? this.o.topN : this.o.interestNeighbours));
    // per-row scratch (typed, reused): the kernel's collaborative score, and a row's position in the pool
    const n = table.size;
    if (this.rowScore.length < n) {
      this.rowScore = new Float64Array(2 * n).fill(Number.NaN);
      this.rowPos = new Int32Array(2 * n).fill(-1);
    }
    const rowScore = this.rowScore;
    const rowPos = this.rowPos;
    for (let r = 0; r < top.indices.length; r++) rowScore[top.indices[r]] = top.scores[r];
    const rec = this.recommender;
    const nExtra = top.indices.length + extraRows.length;
    if (this.extraBuf.length < nExtra) this.extraBuf = new Int32Array(2 * nExtra);
    const extraBuf = this.extraBuf.subarray(0, nExtra);
    extraBuf.set(top.indices);
    for (let r = 0; r < extraRows.length; r++) extraBuf[top.indices.length + r] = extraRows[r];
    const pool = rec.pool(table.signals, this.recentRows(l, table), extraBuf, n, allowed, now / 1000);
    const m = pool.length;
    if (this.vals.length < m) {
      const cap = 2 * m;
      this.vals = new Float64Array(cap);
      this.parts = { transition: new Float64Array(cap), because: new Int32Array(cap), popularity: new Float64Array(cap) };
      this.collab = new Float64Array(cap);
      this.kept = new Uint8Array(cap);
    }
    const collab = this.collab;
    for (let j = 0; j < m; j++) {
      const i = pool[j];
      const k = rowScore[i];
      collab[j] = Number.isNaN(k) ? collabScore(l.cf.vector, table, i) : k;
      rowPos[i] = j;
    }
    for (let r = 0; r < top.indices.length; r++) rowScore[top.indices[r]] = Number.NaN;
    const vals = this.vals;
    const parts = this.parts;
    rec.score(table.signals, pool, rec.collabWeight > 0 && !cold ? collab : undefined, vals, parts);
    // the best k by relevance, and every extra (they must get a chance whatever their relevance); as a set: rank()
    // orders its candidates itself (relevance, ties by id), so their order here changes nothing
    const kept = this.kept;
    const keep: number[] = [];
    const best = bestKUnordered(vals, m, Math.min(this.rankK, m));
    for (let r = 0; r < best.length; r++) {
      const j = best[r];
      if (kept[j] === 1) continue;
      kept[j] = 1;
      keep.push(j);
    }
    for (const i of extraRows) {
      const j = rowPos[i];
      if (j >= 0 && kept[j] !== 1) {
        kept[j] = 1;
        keep.push(j);
      }
    }
    for (const i of pool) rowPos[i] = -1;
    const candidates: RowCandidate[] = [];
    for (let r = 0; r < keep.length; r++) {
      const j = keep[r];
      kept[j] = 0;
      const i = pool[j];
      const c = this.candidate(table, i, collab[j], interests, r);
      c.relevance = vals[j];
      c.popularity = parts.popularity[j];
      const from = parts.because[j];
      // a "learners who did X went on to this" reason only where transitions carry the relevance
      if (from >= 0 && parts.transition[j] >= BECAUSE_SHARE * vals[j])
        c.because = { resourceId: table.ids[from], title: table.meta[from]?.title };
      candidates.push(c);
    }
    const recent: NonNullable<LearnerContext['recent']>[number][] = [];
    for (let r = l.history.length - 1; r >= 0 && recent.length < this.o.recentLength; r--) {
      const id = l.history[r];
      recent.push({ resourceId: id, title: table.meta[table.indexOf(id)]?.title });
    }
    // Declared interests by content: a candidate source of their own (above), and content cosines as interest
    // matches. A learner with no event has no collaborative signal (a fresh learner's score is only the item bias,
    // which would outweigh what they told us): ranked by interest similarity and popularity alone.
    for (const c of candidates) {
      if (cold) c.collabScore = undefined;
      if (byContent.length > 0) this.contentMatch(c, byContent);
    }
    const predictSuccess = knowledge
      ? (u: string, resourceId: string, c?: Candidate) => {
          const skills = c?.skills;
          return skills && skills.length > 0 ? knowledge.expectedSuccess(u, resourceId, skills) : knowledge.expectedSuccess(u, resourceId);
        }
      : undefined;
    // MMR compares by cosine of the live factor rows, viewed in place (rank() is synchronous, the rows cannot move)
    const similarity = (c: RowCandidate) => (table.active[c.row] === 1 ? table.row(c.row) : undefined);
    const practisedSkills = new Set(
      knowledge && l.quizzes > 0 ? knowledge.mastery(userId).flatMap((x) => (x.attempts > 0 ? [x.skill] : [])) : [],
    );
    // one candidate per pool row, and rows have distinct ids; every pool row passed `allowed`, which excludes the
    // completed resources (the engaged set holds them: every interaction, 'complete' included, is added to it)
    const items = rank(
      {
        candidates,
        learner: { userId, completed, recent, practisedSkills },
        predictSuccess,
        similarity,
        uniqueIds: true,
        excludesCompleted: true,
      },
      this.rankOptions,
    ).items;
    return cold && byContent.length > 0 ? this.interestsFirst(items, candidates) : items;
  }

  /**
   * A learner known only by their profile: what matches the declared interests by content comes first (in rank()'s
   * order), the rest after. Without it popularity (0.3) and MMR's diversity interleave popular unrelated resources
   * with a two-word interest's matches (cosine ~0.4-0.6): the API's promise is "interests by content similarity, then
   * popular", and the popular part is what its later fallback steps add anyway.
   */
  private interestsFirst(items: RecommendedItem[], candidates: readonly Candidate[]): RecommendedItem[] {
    const min = this.rankOptions.reasonCosine;
    const matched = new Set<string>();
    for (const c of candidates) if ((c.interestMatch?.cosine ?? 0) >= min) matched.add(c.resourceId);
    if (matched.size === 0) return items;
    return [...items.filter((i) => matched.has(i.resourceId)), ...items.filter((i) => !matched.has(i.resourceId))];
  }

  private candidate(
    table: ItemTable,
    i: number,
    collab: number,
    interests: readonly { label: string; rows: ReadonlySet<number> | undefined }[],
    at: number,
  ): RowCandidate {
    const meta = table.meta[i];
    // one object shape for every candidate (absent facts as undefined): rank() reads them in hot loops
    let c = this.candidatePool[at];
    if (!c) {
      c = {
        row: 0,
        resourceId: '',
        collabScore: undefined,
        popularity: undefined,
        isNew: undefined,
        type: undefined,
        topics: undefined,
        skills: undefined,
        prerequisites: undefined,
        title: undefined,
        interestMatch: undefined,
        relevance: undefined,
        because: undefined,
      };
      this.candidatePool[at] = c;
    }
    c.row = i;
    c.resourceId = table.ids[i];
    c.collabScore = collab;
    c.popularity = table.counts[i];
    c.isNew = table.counts[i] === 0;
    c.type = meta?.type;
    c.topics = meta?.topics;
    c.skills = meta?.skills;
    c.prerequisites = meta?.prerequisites && meta.prerequisites.length > 0 ? meta.prerequisites : undefined;
    c.title = meta?.title;
    c.interestMatch = undefined;
    c.relevance = undefined;
    c.because = undefined;
    for (const x of interests) {
      if (x.rows?.has(i)) {
        c.interestMatch = { label: x.label, cosine: this.o.topicMatchCosine };
        break;
      }
    }
    return c;
  }

  /** The learner's interests that have content vectors, with their cosine to every content slot. */
  private contentInterests(interests: { label: string }[]): { label: string; scores: Float32Array }[] {
    if (!this.interests || interests.length === 0) return [];
    const out: { label: string; scores: Float32Array }[] = [];
    for (const { label } of interests) {
      const scores = this.interests.cosines(label);
      if (scores) out.push({ label, scores });
    }
    return out;
  }

  /** The best content cosine to an interest, where it beats the topic match (the stronger one counts). */
  private contentMatch(c: Candidate, byContent: { label: string; scores: Float32Array }[]): void {
    const slot = this.interests!.content.slotOf(c.resourceId);
    if (slot < 0) return;
    let best: { label: string; cosine: number } | undefined;
    for (const { label, scores } of byContent) {
      const s = slot < scores.length ? scores[slot] : -Infinity;
      if (s > (best?.cosine ?? -Infinity)) best = { label, cosine: s };
    }
    if (best && best.cosine > (c.interestMatch?.cosine ?? -Infinity)) c.interestMatch = best;
  }

  /** Rows of the resources nearest by content to each embedded interest (new candidate source: interest similarity). */
  private interestNeighbours(table: ItemTable, byContent: { label: string }[], k: number): number[] {
    const out: number[] = [];
    if (!this.interests || k <= 0) return out;
    const content = this.interests.content;
    for (const { label } of byContent) {
      const slots = this.interests.nearest(label, k);
      if (!slots) continue;
      for (const slot of slots) {
        const i = table.indexOf(content.ids[slot]);
        if (i >= 0 && table.active[i] === 1) out.push(i);
      }
    }
    return out;
  }

  /** New resources, popular in the learner's interests, next steps after the recent resources (indices). */
  private extras(l: Learner, table: ItemTable, interests: readonly { label: string }[], now: number): number[] {
    const out: number[] = [];
    let fresh = 0;
    for (let r = this.activated.length - 1; r >= 0 && fresh < this.o.newResources; r--) {
      const i = this.activated[r];
      if (table.active[i] === 1 && table.counts[i] === 0) {
        out.push(i);
        fresh++;
      }
    }
    for (const { label } of interests) out.push(...this.popularIn(table, label.toLowerCase(), now));
    let next = 0;
    for (let r = l.history.length - 1; r >= Math.max(0, l.history.length - this.o.recentLength) && next < this.o.nextSteps; r--) {
      const after = table.rowsAfter(l.history[r]);
      if (!after) continue;
      for (const i of after) {
        if (next >= this.o.nextSteps) break;
        out.push(i);
        next++;
      }
    }
    return out;
  }

  /** Most-engaged active rows of a topic, cached for a second (counts move slowly; a topic can have thousands of rows). */
  private popularIn(table: ItemTable, topic: string, now: number): number[] {
    const hit = this.popularByTopic.get(topic);
    if (hit && now - hit.at < POPULAR_REFRESH_MS) return hit.rows;
    const rows = table.rowsWithTopic(topic);
    const best: number[] = [];
    if (rows) {
      const k = this.o.popularPerInterest;
      for (const i of rows) {
        if (table.active[i] !== 1 || table.counts[i] === 0) continue;
        if (best.length < k) best.push(i);
        else if (table.counts[i] > table.counts[best[k - 1]]) best[k - 1] = i;
        else continue;
        best.sort((a, b) => table.counts[b] - table.counts[a] || a - b);
      }
    }
    if (this.popularByTopic.size > 10000) this.popularByTopic.clear();
    this.popularByTopic.set(topic, { at: now, rows: best });
    return best;
  }
}

/** bias + user · item of one row (extras are scored in JS: a few dozen dot products). */
function collabScore(user: Float32Array, table: ItemTable, i: number): number {
  const d = table.dim;
  const f = table.factors;
  let s = table.bias[i];
  for (let k = 0, o = i * d; k < d; k++, o++) s += user[k] * f[o];
  return s;
}
