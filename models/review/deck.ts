import type { ReviewCard, ReviewRating, ReviewScheduler } from './scheduler';

/** Cards kept per learner at most; the one reviewed longest ago goes first (bounded memory per learner). */
export const MAX_CARDS = 200;

/** A card's key: `r:<resourceId>` for a resource (what the served list can offer), `i:<itemId>` for a lone quiz item. */
export type CardKey = `r:${string}` | `i:${string}`;

export function resourceKey(resourceId: string): CardKey {
  return `r:${resourceId}`;
}

/** [key, due, stability, difficulty, reps, lapses, state, last, scheduled, step]: numbers exact (a restore is bit-identical). */
type CardTuple = [string, number, number, number, number, number, number, number, number, number];

/** Compact JSON of a deck: the cards, and the learner's typical response time (log ms, EWMA) with its weight. */
export interface ReviewDeckJSON {
  c: CardTuple[];
  rt?: [number, number];
}

/** One learner's review cards (FSRS state), bounded by MAX_CARDS. */
export class ReviewDeck {
  private readonly cards = new Map<string, ReviewCard>();
  /** EWMA of log(response time ms) of correct answers, and how many fed it (capped): the learner's own pace. */
  private rtLog = 0;
  private rtN = 0;

  get size(): number {
    return this.cards.size;
  }

  get(key: string): ReviewCard | undefined {
    return this.cards.get(key);
  }

  /** Rates the card of `key` at `at` (creating it on the first review) and returns it. */
  rate(scheduler: ReviewScheduler, key: CardKey, rating: ReviewRating, at: number): ReviewCard {
    const card = scheduler.rate(this.cards.get(key), rating, at);
    this.cards.delete(key); // re-insert: Map order = least recently reviewed first
    this.cards.set(key, card);
    if (this.cards.size > MAX_CARDS) this.cards.delete(this.cards.keys().next().value!);
    return card;
  }

  /** The learner's typical response time of a correct answer (ms), or undefined before the first timed one. */
  typicalResponseMs(): number | undefined {
    return this.rtN > 0 ? Math.exp(this.rtLog) : undefined;
  }

  /** Feeds a correct answer's response time into the learner's typical pace (ms > 0 only). */
  notePace(ms: number): void {
    if (!(ms > 0)) return;
    const x = Math.log(ms);
    this.rtN = Math.min(this.rtN + 1, 20);
    this.rtLog += (x - this.rtLog) / this.rtN;
  }

  /** Cards due at `at` (due <= at), the least likely to be recalled first; resource cards only when `resourcesOnly`. */
  due(
    scheduler: ReviewScheduler,
    at: number,
    opts: { resourcesOnly?: boolean; limit?: number } = {},
  ): { key: string; card: ReviewCard; retrievability: number }[] {
    const out: { key: string; card: ReviewCard; retrievability: number }[] = [];
    for (const [key, card] of this.cards) {
      if (card.due > at || (opts.resourcesOnly && !key.startsWith('r:'))) continue;
      out.push({ key, card, retrievability: scheduler.retrievability(card, at) });
    }
    out.sort((a, b) => a.retrievability - b.retrievability || a.card.due - b.card.due || (a.key < b.key ? -1 : 1));
    return opts.limit !== undefined ? out.slice(0, opts.limit) : out;
  }

  entries(): IterableIterator<[string, ReviewCard]> {
    return this.cards.entries();
  }

  toJSON(): ReviewDeckJSON {
    const c: CardTuple[] = [];
    for (const [k, x] of this.cards) c.push([k, x.due, x.stability, x.difficulty, x.reps, x.lapses, x.state, x.last, x.scheduled, x.step]);
    return { c, ...(this.rtN > 0 ? { rt: [this.rtLog, this.rtN] } : {}) };
  }

  static fromJSON(j: ReviewDeckJSON): ReviewDeck {
    const d = new ReviewDeck();
    for (const [k, due, stability, difficulty, reps, lapses, state, last, scheduled, step] of j.c)
      d.cards.set(k, { due, stability, difficulty, reps, lapses, state, last, scheduled, step });
    if (j.rt) [d.rtLog, d.rtN] = j.rt;
    return d;
  }
}
