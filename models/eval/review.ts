/**
 * Spaced review, judged on data: on every re-attempt of an item by the same learner (in time order), how well does
 * FSRS retrievability (models/review, ts-fsrs) at the moment of the re-attempt predict its outcome, beside the
 * knowledge model's P(success) for the same attempt? Both are computed before the attempt is learned (prequential);
 * FSRS rates each attempt as the learner stage does (models/review/rating.ts), the knowledge model learns as in
 * models/eval/knowledge.ts (train attempts first, several passes, then the test stream once).
 */
import { KnowledgeModel, type KnowledgeModelOptions } from '../knowledge/model';
import { BinaryMetrics, type BinaryScores } from '../knowledge/metrics';
import { ReviewDeck } from '../review/deck';
import { quizRating } from '../review/rating';
import { ReviewScheduler } from '../review/scheduler';

/** One quiz attempt with what the scheduler reads (time, response time). */
export interface ReviewAttempt {
  userId: string;
  itemId: string;
  skills: readonly string[];
  correct: boolean;
  score?: number | null;
  /** Epoch ms. */
  timestamp: number;
  /** ms; 0 = unknown. */
  responseTimeMs: number;
}

export interface ReviewEvalOptions {
  /** Passes of the knowledge model over the train attempts (as the knowledge eval: 8). */
  trainEpochs?: number;
  model?: KnowledgeModelOptions;
  retention?: number;
}

export interface ReviewEvalResult {
  trainAttempts: number;
  testAttempts: number;
  /** Test attempts that repeat an item the learner attempted before: the scored ones. */
  reattempts: number;
  learners: number;
  /** Median time since the previous attempt on the same item (ms), over the scored re-attempts. */
  medianGapMs: number;
  /** Share of scored re-attempts at least a day after the previous one. */
  dayOrMoreShare: number;
  methods: ({ name: string } & BinaryScores)[];
}

export function evaluateReviews(
  input: { train?: readonly ReviewAttempt[]; test: readonly ReviewAttempt[] },
  o: ReviewEvalOptions = {},
): ReviewEvalResult {
  const train = input.train ?? [];
  const km = new KnowledgeModel(o.model);
  const epochs = Math.max(1, o.trainEpochs ?? 8);
  for (let e = 0; e < epochs; e++) {
    if (e > 0) for (const u of new Set(train.map((a) => a.userId))) km.forgetLearner(u);
    for (const a of train) km.update(toKm(a));
  }
  const scheduler = new ReviewScheduler({ retention: o.retention });
  const decks = new Map<string, ReviewDeck>();
  const lastOutcome = new Map<string, number>();
  const fsrs = new BinaryMetrics();
  const model = new BinaryMetrics();
  const last = new BinaryMetrics();
  const gaps: number[] = [];
  for (const a of input.test) {
    let deck = decks.get(a.userId);
    if (!deck) decks.set(a.userId, (deck = new ReviewDeck()));
    const key = `i:${a.itemId}` as const;
    const card = deck.get(key);
    const attempt = toKm(a);
    const y = a.correct ? 1 : 0;
    if (card) {
      fsrs.add(scheduler.retrievability(card, a.timestamp), y);
      model.add(km.predict(attempt), y);
      last.add(lastOutcome.get(`${a.userId}\u0000${a.itemId}`)!, y);
      gaps.push(a.timestamp - card.last);
    }
    km.update(attempt);
    deck.rate(
      scheduler,
      key,
      quizRating({ correct: a.correct, score: a.score, responseTimeMs: a.responseTimeMs }, deck.typicalResponseMs()),
      a.timestamp,
    );
    if (a.correct) deck.notePace(a.responseTimeMs);
    lastOutcome.set(`${a.userId}\u0000${a.itemId}`, y);
  }
  gaps.sort((x, y) => x - y);
  return {
    trainAttempts: train.length,
    testAttempts: input.test.length,
    reattempts: fsrs.size,
    learners: new Set(input.test.map((a) => a.userId)).size,
    medianGapMs: gaps.length ? gaps[gaps.length >> 1] : NaN,
    dayOrMoreShare: gaps.length ? gaps.filter((g) => g >= 86_400_000).length / gaps.length : NaN,
    methods: [
      { name: 'fsrs-retrievability', ...fsrs.scores() },
      { name: 'knowledge-model', ...model.scores() },
      { name: 'previous-outcome', ...last.scores() },
    ],
  };
}

function toKm(a: ReviewAttempt) {
  return { userId: a.userId, itemId: a.itemId, skills: a.skills, correct: a.correct ? 1 : 0, timestamp: a.timestamp };
}
