/**
 * Spaced review in the learner stage, in-process: quiz attempts rate FSRS cards held in the learner's state, due
 * resources enter the served list in the reserved slots with reason due-for-review (and nothing does before they are
 * due), the cards survive a checkpoint, reach the serving store (GET /reviews) and go with an erasure.
 */
import { createLogger } from '../../lib/log';
import { noopEmitter } from '../../lib/metrics/instrumentation';
import { MemoryServingStore } from '../../serving/memory-store';
import { learnerReviews } from '../../api/recommend/reviews';
import type { PipelineEvent, QuizEvent } from '../../consumers/event-types';
import { LearnerProcessor } from '../../pipelines/learner/processor';
import type { LearnerGroupJSON } from '../../pipelines/learner/state';
import { createCollabModel } from '../../pipelines/model/collab';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 0, 5);
const topics = { interactions: 'i', quizAttempts: 'q', profiles: 'p', erasures: 'e', itemUpdates: 'u' };

function harness() {
  const events: PipelineEvent[] = [];
  let clock = T0;
  const store = new MemoryServingStore({ now: () => clock });
  const p = new LearnerProcessor({
    decode: (rec) => Promise.resolve(events[Number(rec.offset)]),
    model: createCollabModel({ dim: 8, seed: 3 }),
    store,
    emit: noopEmitter,
    logger: createLogger({ level: 'error' }),
    topics,
    tombstone: () => Promise.resolve(),
    topN: 20,
    historyLength: 50,
    rerankIntervalMs: 0,
    modelVersion: 'test',
    kernel: 'js',
    now: () => clock,
    manualReranks: true,
  });
  p.restore(0, null);
  const send = async (topic: string, ev: PipelineEvent) => {
    events.push(ev);
    await p.apply(0, {
      topic,
      partition: 0,
      offset: String(events.length - 1),
      key: null,
      value: Buffer.alloc(1),
      timestamp: clock,
      headers: {},
    });
    await p.reranker.runDue();
  };
  const setClock = (t: number) => (clock = t);
  return { p, store, send, setClock };
}

let n = 0;
const quiz = (userId: string, resourceId: string, correct: boolean, at: number): QuizEvent => ({
  kind: 'quiz',
  eventId: `q${n++}`,
  userId,
  itemId: `${resourceId}-item`,
  resourceId,
  skills: ['s'],
  correct,
  score: null,
  occurredAt: at,
});
const click = (userId: string, resourceId: string, at: number): PipelineEvent => ({
  kind: 'interaction',
  eventId: `c${n++}`,
  userId,
  resourceId,
  type: 'click',
  occurredAt: at,
});

async function world() {
  const h = harness();
  // a catalogue other learners engage with, so the list has plenty to rank
  for (let u = 0; u < 5; u++) for (let r = 0; r < 25; r++) await h.send('i', click(`other${u}`, `r${r}`, T0));
  await h.send('q', quiz('u1', 'quiz-a', true, T0));
  await h.send('q', quiz('u1', 'quiz-b', false, T0));
  return h;
}

describe('learner stage: spaced review (FSRS)', () => {
  it('offers due reviews in the reserved slots of the first 10, not before they are due', async () => {
    const h = await world();
    const before = (await h.store.getRecommendations('u1'))!;
    expect(before.items.some((i) => i.reasons.some((r) => r.code === 'due-for-review'))).toBe(false);
    // 30 days later both cards are due; an event of the learner re-ranks them
    h.setClock(T0 + 30 * DAY);
    await h.send('i', click('u1', 'r3', T0 + 30 * DAY));
    const list = (await h.store.getRecommendations('u1'))!;
    const due = list.items.flatMap((it, pos) => (it.reasons.some((r) => r.code === 'due-for-review') ? [{ id: it.resourceId, pos }] : []));
    // the forgotten one (wrong answer) is the less likely to be recalled: it comes first
    expect(due.map((d) => d.id)).toEqual(['quiz-b', 'quiz-a']);
    expect(due.every((d) => d.pos < 10)).toBe(true);
    expect(list.items.length).toBe(20);
    const reviews = await learnerReviews(h.store, { userId: 'u1', limit: 10, now: T0 + 30 * DAY });
    expect(reviews.due.map((d) => d.id)).toEqual(['quiz-b', 'quiz-a']);
    expect(reviews.due[0].retrievability).toBeLessThan(reviews.due[1].retrievability);
    expect((await learnerReviews(h.store, { userId: 'u1', limit: 10, now: T0 })).due).toEqual([]);
    await h.p.stop();
  });

  it('keeps the cards in the checkpoint, and the erasure removes them everywhere', async () => {
    const h = await world();
    const snap = JSON.parse(JSON.stringify(h.p.snapshot(0))) as LearnerGroupJSON;
    const entry = snap.learners.find(([id]) => id === 'u1')![1];
    expect(entry.r?.c.map((c) => c[0]).sort()).toEqual(['r:quiz-a', 'r:quiz-b']);
    const h2 = harness();
    h2.p.restore(0, snap);
    expect(h2.p.learner('u1')!.reviews!.toJSON()).toEqual(h.p.learner('u1')!.reviews!.toJSON());
    expect((await h.store.getReviews('u1'))!.cards.length).toBe(2);
    await h.send('e', { kind: 'erasure', userId: 'u1' });
    expect(h.p.learner('u1')).toBeUndefined();
    expect(await h.store.getReviews('u1')).toBeNull();
    expect(h.p.snapshot(0).learners.some(([id]) => id === 'u1')).toBe(false);
    await h.p.stop();
    await h2.p.stop();
  });

  it('a review interaction rates the card; an ordinary one does not', async () => {
    const h = await world();
    const card = () => h.p.learner('u1')!.reviews!.get('r:r7');
    await h.send('i', click('u1', 'r7', T0 + DAY));
    expect(card()).toBeUndefined();
    await h.send('i', {
      kind: 'interaction',
      eventId: `c${n++}`,
      userId: 'u1',
      resourceId: 'r7',
      type: 'view',
      review: true,
      occurredAt: T0 + 2 * DAY,
    });
    expect(card()?.reps).toBe(1);
    await h.p.stop();
  });
});
