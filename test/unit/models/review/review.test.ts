import { ReviewDeck, MAX_CARDS, resourceKey } from '../../../../models/review/deck';
import { quizRating } from '../../../../models/review/rating';
import { ReviewScheduler } from '../../../../models/review/scheduler';
import { withReviewSlots, type DueReview } from '../../../../models/review/slots';
import type { RecommendedItem } from '../../../../models/ranking/types';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 0, 1);

describe('ReviewScheduler (ts-fsrs)', () => {
  const s = new ReviewScheduler();
  it('schedules a recalled card later than a forgotten one, and recall fades with time', () => {
    const good = s.rate(undefined, 'good', T0);
    const again = s.rate(undefined, 'again', T0);
    expect(good.due).toBeGreaterThan(again.due);
    expect(good.stability).toBeGreaterThan(again.stability);
    // a second successful review after a gap grows the stability (the spacing effect)
    const second = s.rate(good, 'good', T0 + 3 * DAY);
    expect(second.stability).toBeGreaterThan(good.stability);
    expect(second.due - (T0 + 3 * DAY)).toBeGreaterThan(good.due - T0);
    const r1 = s.retrievability(good, T0 + DAY);
    const r10 = s.retrievability(good, T0 + 10 * DAY);
    expect(r1).toBeGreaterThan(r10);
    expect(r10).toBeGreaterThan(0);
    expect(s.retrievability(good, T0)).toBeCloseTo(1, 6);
  });

  it('is deterministic (no fuzz): the same reviews give the same card', () => {
    const a = s.rate(s.rate(undefined, 'good', T0), 'hard', T0 + 2 * DAY);
    const b = s.rate(s.rate(undefined, 'good', T0), 'hard', T0 + 2 * DAY);
    expect(a).toEqual(b);
  });
});

describe('quizRating', () => {
  it('maps outcome, partial credit and the learner’s own pace to a rating', () => {
    expect(quizRating({ correct: false })).toBe('again');
    expect(quizRating({ correct: true })).toBe('good');
    expect(quizRating({ correct: true, score: 0.6 })).toBe('hard');
    expect(quizRating({ correct: true, responseTimeMs: 1000 })).toBe('good'); // no typical pace yet
    expect(quizRating({ correct: true, responseTimeMs: 1000 }, 4000)).toBe('easy');
    expect(quizRating({ correct: true, responseTimeMs: 9000 }, 4000)).toBe('hard');
    expect(quizRating({ correct: true, responseTimeMs: 5000 }, 4000)).toBe('good');
  });
});

describe('ReviewDeck', () => {
  const s = new ReviewScheduler();
  it('is bounded, lists due cards most forgotten first, and round-trips exactly', () => {
    const d = new ReviewDeck();
    for (let i = 0; i < MAX_CARDS + 5; i++) d.rate(s, resourceKey(`r${i}`), i % 2 ? 'good' : 'again', T0 + i * 1000);
    expect(d.size).toBe(MAX_CARDS);
    expect(d.get('r:r0')).toBeUndefined(); // the one reviewed longest ago went
    d.notePace(3000);
    const at = T0 + 30 * DAY;
    const due = d.due(s, at);
    expect(due.length).toBe(MAX_CARDS);
    for (let i = 1; i < due.length; i++) expect(due[i].retrievability).toBeGreaterThanOrEqual(due[i - 1].retrievability);
    const back = ReviewDeck.fromJSON(JSON.parse(JSON.stringify(d.toJSON())));
    expect(back.toJSON()).toEqual(d.toJSON());
    expect(back.typicalResponseMs()).toBeCloseTo(3000, 6);
    expect(d.due(s, T0, { resourcesOnly: true })).toEqual([]);
  });
});

describe('withReviewSlots', () => {
  const item = (id: string, score: number): RecommendedItem => ({
    resourceId: id,
    score,
    reasons: [{ code: 'popular', text: 'Popular right now' }],
  });
  const list = Array.from({ length: 20 }, (_, i) => item(`x${i}`, 20 - i));
  const due = (id: string, r: number): DueReview => ({ item: { resourceId: id }, retrievability: r });

  it('puts due reviews in the last reserved positions of the head, keeps length and order', () => {
    const out = withReviewSlots(list, [due('a', 0.3), due('b', 0.5), due('c', 0.6)], { slots: 2, within: 10 });
    expect(out.length).toBe(20);
    expect(out.slice(8, 10).map((x) => x.resourceId)).toEqual(['a', 'b']);
    expect(out[8].reasons).toEqual([{ code: 'due-for-review', text: 'Due for review: about 30% chance you still recall it' }]);
    expect(out.slice(0, 8)).toEqual(list.slice(0, 8));
    expect(out.slice(10).map((x) => x.resourceId)).toEqual(list.slice(8, 18).map((x) => x.resourceId));
    expect(out.some((x) => x.resourceId === 'c')).toBe(false);
    for (let i = 1; i < out.length; i++) expect(out[i].score).toBeLessThanOrEqual(out[i - 1].score);
  });

  it('a due review already in the head keeps its place and gains the reason; one further down moves up', () => {
    const out = withReviewSlots(list, [due('x3', 0.4), due('x15', 0.5)], { slots: 2, within: 10 });
    expect(out[3].resourceId).toBe('x3');
    expect(out[3].reasons[0].code).toBe('due-for-review');
    expect(out[9].resourceId).toBe('x15');
    expect(out.filter((x) => x.resourceId === 'x15').length).toBe(1);
    expect(out.length).toBe(20);
  });

  it('changes nothing without due reviews or with the slots off', () => {
    expect(withReviewSlots(list, [])).toBe(list);
    expect(withReviewSlots(list, [due('a', 0.1)], { slots: 0, within: 10 })).toBe(list);
    expect(withReviewSlots([], [due('a', 0.1)]).map((x) => x.resourceId)).toEqual(['a']);
  });
});
