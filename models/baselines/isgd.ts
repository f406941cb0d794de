import { dotAll } from '../kernel';
import { gaussian, mulberry32, type Rng } from '../random/prng';
import type { StreamEvent, StreamRecommender } from '../eval/types';
import { grow } from './popular';

/** Options of {@link Isgd}; defaults are those of Vinagre, Jorge & Gama (2014). */
export interface IsgdOptions {
  /** factors; default 10 */
  dim?: number;
  /** SGD step; default 0.05 */
  lr?: number;
  /** L2 regularisation; default 0.01 */
  reg?: number;
  /** std of the N(0, std) initialisation; default 0.1 */
  initStd?: number;
  seed?: number;
  /** rank by |1 - p.q| ascending as in the paper (true, default) or by p.q descending */
  closenessToOne?: boolean;
  /** 'any': vectors are created when a user/item first appears in any event (default); 'positive': only positive
   * events exist for ISGD, and items without a positive yet are not candidates */
  initOn?: 'any' | 'positive';
}

/**
 * ISGD: incremental SGD matrix factorisation on positive-only feedback. Every positive (u, i) is a target of 1; no
 * negatives, no biases. Vectors are initialised when the user / item is first seen in any event.
 */
export class Isgd implements StreamRecommender {
  readonly name = 'isgd';
  private readonly dim: number;
  private readonly lr: number;
  private readonly reg: number;
  private readonly initStd: number;
  private readonly closeness: boolean;
  private readonly rng: Rng;
  private readonly initOn: 'any' | 'positive';
  private known = new Uint8Array(0);
  private users = new Float32Array(0);
  private items = new Float32Array(0);
  private nUsers = 0;
  private nItems = 0;

  constructor(opts: IsgdOptions = {}) {
    this.dim = opts.dim ?? 10;
    this.lr = opts.lr ?? 0.05;
    this.reg = opts.reg ?? 0.01;
    this.initStd = opts.initStd ?? 0.1;
    this.closeness = opts.closenessToOne ?? true;
    this.rng = mulberry32(opts.seed ?? 42);
    this.initOn = opts.initOn ?? 'any';
  }

  score(user: number, out: Float64Array, nItems: number): void {
    this.ensure(user, nItems - 1);
    const d = this.dim;
    dotAll(this.users.subarray(user * d, user * d + d), this.items, nItems, d, out);
    if (this.closeness) for (let i = 0; i < nItems; i++) out[i] = -Math.abs(1 - out[i]);
    if (this.initOn === 'positive') for (let i = 0; i < nItems; i++) if (!this.known[i]) out[i] = -Infinity;
  }

  learn(ev: StreamEvent): void {
    const positive = ev.kind === 'rating' ? ev.value >= 4 : ev.kind !== 'dislike' && ev.kind !== 'skip';
    if (this.initOn === 'any' || positive) this.ensure(ev.user, ev.item);
    if (!positive) return;
    if (ev.item >= this.known.length) {
      const k = new Uint8Array(Math.max(1024, this.known.length * 2, ev.item + 1));
      k.set(this.known);
      this.known = k;
    }
    this.known[ev.item] = 1;
    const d = this.dim;
    const pu = ev.user * d;
    const qi = ev.item * d;
    const P = this.users;
    const Q = this.items;
    let pred = 0;
    for (let f = 0; f < d; f++) pred += P[pu + f] * Q[qi + f];
    const err = 1 - pred;
    for (let f = 0; f < d; f++) {
      const p = P[pu + f];
      const q = Q[qi + f];
      P[pu + f] = p + this.lr * (err * q - this.reg * p);
      Q[qi + f] = q + this.lr * (err * p - this.reg * q);
    }
  }

  private ensure(user: number, item: number): void {
    const d = this.dim;
    if (user >= this.nUsers) {
      if ((user + 1) * d > this.users.length) this.users = grow(this.users, (user + 1) * d);
      for (let j = this.nUsers * d; j < (user + 1) * d; j++) this.users[j] = gaussian(this.rng, this.initStd);
      this.nUsers = user + 1;
    }
    if (item >= this.nItems) {
      if ((item + 1) * d > this.items.length) this.items = grow(this.items, (item + 1) * d);
      for (let j = this.nItems * d; j < (item + 1) * d; j++) this.items[j] = gaussian(this.rng, this.initStd);
      this.nItems = item + 1;
    }
  }
}
