import { RecentPopular, type RecentPopularState } from '../baselines/popular';
import { OnlineCollab, type CollabState } from '../collab/model';
import type { CollabOptions } from '../collab/options';
import { CollabRecommender } from '../eval/adapters';
import type { StreamEvent, StreamRecommender } from '../eval/types';
import { ItemTransitions, type TransitionOptions, type TransitionState } from '../sequential/transitions';

/** Options of {@link HybridRecommender}. Defaults were tuned on the first 30,000 movielens-latest-small events only. */
export interface HybridOptions {
  transitions?: TransitionOptions;
  /** weight of recent popularity (max-normalised) next to transitions (max-normalised, weight 1); default 0.15 */
  popularityWeight?: number;
  /** half-life of the popularity prior, seconds; default 30 days */
  popularityHalfLifeSeconds?: number;
  /** weight of the collaborative score (z-scored over the candidates); 0 disables the MF part; default 0.005 */
  collabWeight?: number;
  /** options of the online collaborative part; default dimension 8 here (16 and 32 scored no better, and cost more) */
  collab?: Partial<CollabOptions>;
}

/**
 * Serialized state of {@link HybridRecommender}: its parts' own states plus the options that are not part of them
 * (the blend weights; the transition options, which {@link TransitionState} does not carry). Plain JSON; restores to
 * identical scores and identical further learning.
 */
export interface HybridState {
  version: 1;
  options: {
    transitions: Required<TransitionOptions>;
    popularityWeight: number;
    collabWeight: number;
  };
  transitions: TransitionState;
  /** carries the popularity half-life */
  popularity: RecentPopularState;
  /** carries the collaborative options (seed, dimension, ...); null when collabWeight is 0 */
  collab: CollabState | null;
}

interface HybridParts {
  transitions: ItemTransitions;
  popularity: RecentPopular;
  collab?: OnlineCollab;
}

/**
 * The full recommender: what learners went on to after the items this learner engaged with just now (item-to-item
 * transitions, time-decayed), a recent-popularity prior (which also ranks for learners without history), and the
 * online collaborative model's long-term taste. Each signal is normalised per ranking so the weights are comparable.
 */
export class HybridRecommender implements StreamRecommender {
  readonly name = 'full-model';
  readonly transitions: ItemTransitions;
  readonly popularity: RecentPopular;
  readonly collab?: CollabRecommender;
  private readonly popW: number;
  private readonly cfW: number;
  private tmp = new Float64Array(1024);

  /** @param parts restored parts (from {@link HybridRecommender.deserialize}) instead of fresh ones */
  constructor(opts: HybridOptions = {}, parts?: HybridParts) {
    this.transitions = parts?.transitions ?? new ItemTransitions({ window: 16, ...opts.transitions });
    this.popularity = parts?.popularity ?? new RecentPopular(opts.popularityHalfLifeSeconds ?? 30 * 86400);
    this.popW = opts.popularityWeight ?? 0.15;
    this.cfW = opts.collabWeight ?? 0.005;
    if (this.cfW > 0) this.collab = new CollabRecommender(parts?.collab ?? new OnlineCollab({ dim: 8, ...opts.collab }));
  }

  score(user: number, out: Float64Array, nItems: number, t: number): void {
    if (this.tmp.length < nItems) this.tmp = new Float64Array(nItems * 2);
    const tmp = this.tmp;
    out.fill(0, 0, nItems);
    this.transitions.addScores(user, out, nItems, 1);
    scaleToMax(out, nItems, 1);
    this.popularity.score(user, tmp, nItems);
    scaleToMax(tmp, nItems, this.popW);
    for (let i = 0; i < nItems; i++) out[i] += tmp[i];
    if (this.collab) {
      this.collab.score(user, tmp, nItems, t);
      zScore(tmp, nItems, this.cfW);
      for (let i = 0; i < nItems; i++) out[i] += tmp[i];
    }
  }

  learn(ev: StreamEvent): void {
    this.popularity.learn(ev);
    // every engagement, also a low rating, is part of "what they did just before" and of what follows what
    this.transitions.observe(ev.user, ev.item, ev.t, true);
    this.collab?.learn(ev);
  }

  serialize(): HybridState {
    const tr = this.transitions;
    return {
      version: 1,
      options: {
        transitions: {
          window: tr.window,
          positionDecay: tr.positionDecay,
          reverseWeight: tr.reverseWeight,
          halfLifeSeconds: tr.halfLifeSeconds,
          rowNormPower: tr.rowNormPower,
        },
        popularityWeight: this.popW,
        collabWeight: this.cfW,
      },
      transitions: tr.serialize(),
      popularity: this.popularity.serialize(),
      collab: this.collab ? this.collab.model.serialize() : null,
    };
  }

  static deserialize(state: HybridState): HybridRecommender {
    if (state.version !== 1) throw new Error(`unsupported hybrid state version ${String(state.version)}`);
    const { transitions, popularityWeight, collabWeight } = state.options;
    if (collabWeight > 0 && !state.collab) throw new Error('hybrid state has a collaborative weight but no collaborative state');
    return new HybridRecommender(
      { transitions, popularityWeight, collabWeight },
      {
        transitions: ItemTransitions.deserialize(state.transitions, transitions),
        popularity: RecentPopular.deserialize(state.popularity),
        collab: state.collab ? OnlineCollab.deserialize(state.collab) : undefined,
      },
    );
  }
}

function scaleToMax(a: Float64Array, n: number, weight: number): void {
  let mx = 0;
  for (let i = 0; i < n; i++) if (a[i] > mx) mx = a[i];
  const f = mx > 0 ? weight / mx : 0;
  for (let i = 0; i < n; i++) a[i] *= f;
}

function zScore(a: Float64Array, n: number, weight: number): void {
  let mean = 0;
  let m = 0;
  for (let i = 0; i < n; i++) {
    if (a[i] === -Infinity) continue;
    mean += a[i];
    m++;
  }
  if (m === 0) return;
  mean /= m;
  let v = 0;
  for (let i = 0; i < n; i++) if (a[i] !== -Infinity) v += (a[i] - mean) * (a[i] - mean);
  const f = weight / (Math.sqrt(v / m) || 1);
  for (let i = 0; i < n; i++) a[i] = a[i] === -Infinity ? 0 : (a[i] - mean) * f;
}
