import { OnlineCollab, type CollabState } from '../collab/model';
import type { CollabOptions } from '../collab/options';
import { CollabRecommender } from '../eval/adapters';
import type { StreamEvent, StreamRecommender } from '../eval/types';
import { topK } from '../kernel/topk';
import { Recommender, type RecommenderOptions } from '../recommender/recommender';
import { ItemSignals, type ItemSignalsState } from '../recommender/signals';

/** Transition options, named as the tuning grid names them. */
export interface TransitionOptions {
  window?: number;
  positionDecay?: number;
  reverseWeight?: number;
  /** half-life of a transition's weight, seconds; default 365 days */
  halfLifeSeconds?: number;
  rowNormPower?: number;
  /** targets kept per transition row; default 200 */
  rowCapacity?: number;
}

/** Options of {@link HybridRecommender}: the options of the one {@link Recommender}, in the eval's words. */
export interface HybridOptions {
  transitions?: TransitionOptions;
  /** weight of recent popularity (max-normalised) next to transitions (max-normalised, weight 1); default 0.15 */
  popularityWeight?: number;
  /** half-life of the popularity prior, seconds; default 30 days */
  popularityHalfLifeSeconds?: number;
  /** weight of the collaborative score (z-scored over the pool); 0 disables the MF part; default 0.005 */
  collabWeight?: number;
  /** options of the online collaborative part; default dimension 8 here (16 and 32 scored no better, and cost more) */
  collab?: Partial<CollabOptions>;
  /** the collaborative model's best this many items join the pool (as the learner stage's kernel candidates); default 300 */
  collabCandidates?: number;
}

/** Serialized state of {@link HybridRecommender}: plain JSON; restores to identical scores and identical further learning. */
export interface HybridState {
  version: 2;
  options: {
    transitions: Required<TransitionOptions>;
    popularityWeight: number;
    popularityHalfLifeSeconds: number;
    collabWeight: number;
    collabCandidates: number;
  };
  signals: ItemSignalsState;
  /** per learner: distinct recent items, newest last */
  recent: number[][];
  /** per learner: every item engaged with (never recommended again, as the harness and the learner stage mask them) */
  seen: number[][];
  collab: CollabState | null;
}

const DAY = 86400;

/**
 * The full model under the numeric eval protocol: the one {@link Recommender} (transitions + recent popularity +
 * online MF) with its global signals and each learner's recent items kept here, as the learner stage keeps them in
 * its item table and learner state. Scores are -Infinity outside the recommender's pool.
 */
export class HybridRecommender implements StreamRecommender {
  readonly name = 'full-model';
  readonly recommender: Recommender;
  readonly signals: ItemSignals;
  readonly collab?: CollabRecommender;
  private readonly opts: HybridState['options'];
  private recent: number[][] = [];
  private seen: Set<number>[] = [];
  private tmp = new Float64Array(1024);
  private vals = new Float64Array(1024);

  constructor(o: HybridOptions = {}, restored?: { signals: ItemSignals; collab?: OnlineCollab }) {
    const tr = o.transitions ?? {};
    this.opts = {
      transitions: {
        window: tr.window ?? 16,
        positionDecay: tr.positionDecay ?? 0.8,
        reverseWeight: tr.reverseWeight ?? 0.5,
        halfLifeSeconds: tr.halfLifeSeconds ?? 365 * DAY,
        rowNormPower: tr.rowNormPower ?? 0.5,
        rowCapacity: tr.rowCapacity ?? 200,
      },
      popularityWeight: o.popularityWeight ?? 0.15,
      popularityHalfLifeSeconds: o.popularityHalfLifeSeconds ?? 30 * DAY,
      collabWeight: o.collabWeight ?? 0.005,
      collabCandidates: o.collabCandidates ?? 300,
    };
    this.recommender = new Recommender(recommenderOptions(this.opts));
    this.signals =
      restored?.signals ??
      new ItemSignals({
        rowCapacity: this.opts.transitions.rowCapacity,
        transitionHalfLifeSeconds: this.opts.transitions.halfLifeSeconds,
        popularityHalfLifeSeconds: this.opts.popularityHalfLifeSeconds,
      });
    if (this.opts.collabWeight > 0) this.collab = new CollabRecommender(restored?.collab ?? new OnlineCollab({ dim: 8, ...o.collab }));
  }

  score(user: number, out: Float64Array, nItems: number, t: number): void {
    if (this.tmp.length < nItems) this.tmp = new Float64Array(nItems * 2);
    const seen = this.seen[user];
    const allowed = (i: number) => !seen?.has(i);
    let extra: ArrayLike<number> = [];
    if (this.collab) {
      this.collab.score(user, this.tmp, nItems, t);
      const masked = this.tmp.slice(0, nItems);
      if (seen) for (const i of seen) if (i < nItems) masked[i] = -Infinity;
      extra = topK(masked, nItems, Math.min(this.opts.collabCandidates, nItems));
    }
    const pool = this.recommender.pool(this.signals, this.recent[user] ?? [], extra, nItems, allowed, t);
    if (this.vals.length < pool.length) this.vals = new Float64Array(pool.length * 2);
    const collab = this.collab ? Float64Array.from(pool, (i) => this.tmp[i]) : undefined;
    this.recommender.score(this.signals, pool, collab, this.vals);
    out.fill(-Infinity, 0, nItems);
    for (let j = 0; j < pool.length; j++) out[pool[j]] = this.vals[j];
  }

  learn(ev: StreamEvent): void {
    while (this.recent.length <= ev.user) this.recent.push([]);
    while (this.seen.length <= ev.user) this.seen.push(new Set());
    const recent = this.recent[ev.user];
    // every engagement, also a low rating, is part of "what they did just before" and of what follows what
    this.recommender.learn(this.signals, recent, ev.item, ev.t, isPositive(ev));
    pushRecent(recent, ev.item, this.opts.transitions.window);
    this.seen[ev.user].add(ev.item);
    this.collab?.learn(ev);
  }

  serialize(): HybridState {
    return {
      version: 2,
      options: this.opts,
      signals: this.signals.serialize(),
      recent: this.recent.map((r) => [...r]),
      seen: this.seen.map((s) => [...s]),
      collab: this.collab ? this.collab.model.serialize() : null,
    };
  }

  static deserialize(state: HybridState): HybridRecommender {
    if (state.version !== 2) throw new Error(`unsupported hybrid state version ${String(state.version)}`);
    const o = state.options;
    if (o.collabWeight > 0 && !state.collab) throw new Error('hybrid state has a collaborative weight but no collaborative state');
    const signals = ItemSignals.deserialize(state.signals, {
      rowCapacity: o.transitions.rowCapacity,
      transitionHalfLifeSeconds: o.transitions.halfLifeSeconds,
      popularityHalfLifeSeconds: o.popularityHalfLifeSeconds,
    });
    const h = new HybridRecommender(
      {
        transitions: o.transitions,
        popularityWeight: o.popularityWeight,
        popularityHalfLifeSeconds: o.popularityHalfLifeSeconds,
        collabWeight: o.collabWeight,
        collabCandidates: o.collabCandidates,
      },
      { signals, collab: state.collab ? OnlineCollab.deserialize(state.collab) : undefined },
    );
    h.recent = state.recent.map((r) => [...r]);
    h.seen = state.seen.map((s) => new Set(s));
    return h;
  }
}

export function recommenderOptions(o: HybridState['options']): RecommenderOptions {
  const t = o.transitions;
  return {
    window: t.window,
    positionDecay: t.positionDecay,
    reverseWeight: t.reverseWeight,
    rowNormPower: t.rowNormPower,
    popularityWeight: o.popularityWeight,
    collabWeight: o.collabWeight,
  };
}

/** A positive engagement counts towards popularity: a rating of 4 or more, or any engagement kind but view/skip/dislike. */
export function isPositive(ev: StreamEvent): boolean {
  if (ev.kind === 'rating') return ev.value >= 4;
  return ev.kind !== 'dislike' && ev.kind !== 'skip' && ev.kind !== 'view';
}

/** Appends `item` as the newest recent item (an older occurrence moves), keeping at most `max`: the learner stage's rule. */
export function pushRecent(recent: number[], item: number, max: number): void {
  const at = recent.lastIndexOf(item);
  if (at >= 0) recent.splice(at, 1);
  recent.push(item);
  if (recent.length > max) recent.splice(0, recent.length - max);
}
