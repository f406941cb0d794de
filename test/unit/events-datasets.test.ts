import { existsSync } from 'node:fs';
import {
  DEFAULT_DATASET_DIRS,
  parseKtSequences,
  presentationStart,
  readDataset,
  readMovieLensRatings,
  readStaticsSequences,
  type DatasetName,
} from '../../producers/datasets';
import { KIND_EVENT, validateEvent, type KindedEvent } from '../../schemas';

const have = (n: DatasetName) => existsSync(DEFAULT_DATASET_DIRS[n]);
const when = (n: DatasetName) => (have(n) ? describe : describe.skip);
if (!have('movielens')) console.warn(`datasets absent under ${DEFAULT_DATASET_DIRS.movielens}: dataset reader tests skipped`);

const time = (e: KindedEvent) => (e.event as { occurredAt: number }).occurredAt;

function checkDataset(name: DatasetName, expected: Partial<Record<KindedEvent['kind'], number>>) {
  const d = readDataset(name);
  const kinds: Record<string, number> = {};
  for (const e of d.events) kinds[e.kind] = (kinds[e.kind] ?? 0) + 1;
  expect(kinds).toEqual(expected);
  let outOfOrder = 0;
  for (let i = 1; i < d.events.length; i++) if (time(d.events[i]) < time(d.events[i - 1])) outOfOrder++;
  expect(outOfOrder).toBe(0);
  // Every event and the whole catalogue, with the validator replay and the collector run (a few seconds per dataset).
  const invalid: { index: number; issues: unknown }[] = [];
  [...d.events, ...d.resources.map((r) => ({ kind: 'resource' as const, event: r }))].forEach((e, index) => {
    const r = validateEvent(KIND_EVENT[e.kind], e.event);
    if (!r.ok && invalid.length < 20) invalid.push({ index, issues: r.issues });
  });
  expect(invalid).toEqual([]);
  expect(new Set(d.events.map((e) => (e.event as { eventId: string }).eventId)).size).toBe(d.events.length);
  return d;
}

when('movielens')('movielens reader', () => {
  it('maps all 100,836 ratings to valid rate interactions in time order, and 9,742 movies to resources', () => {
    const d = checkDataset('movielens', { interaction: 100_836 });
    expect(d.resources).toHaveLength(9742);
    expect(d.resources.find((r) => r.resourceId === '1')).toMatchObject({
      title: 'Toy Story (1995)',
      type: 'video',
      topics: expect.arrayContaining(['Animation']),
    });
    const e = d.events.find((x) => x.kind === 'interaction' && x.event.userId === '1' && x.event.resourceId === '1');
    expect(e?.event).toMatchObject({ type: 'rate', value: 4, occurredAt: 964982703000 });
  });

  it('per-user order of the file is kept for equal timestamps and limit cuts after ordering', () => {
    expect(readMovieLensRatings(DEFAULT_DATASET_DIRS.movielens)).toHaveLength(100_836);
    const d = readDataset('movielens', undefined, { limit: 10 });
    expect(d.events).toHaveLength(10);
    expect(time(d.events[0])).toBe(828124615000);
  });
});

when('oulad')('oulad reader', () => {
  it('maps non-banked scored CMA submissions to quiz attempts with score/100', () => {
    const d = checkDataset('oulad', { quizAttempt: 69_956 });
    expect(d.skipped.banked).toBeGreaterThan(0);
    expect(d.resources.filter((r) => r.type === 'course')).toHaveLength(22);
    expect(d.resources.filter((r) => r.type === 'quiz').length).toBeGreaterThan(0);
    const q = d.events[0];
    expect(q.kind).toBe('quizAttempt');
    if (q.kind === 'quizAttempt') expect(q.event.correct).toBe((q.event.score ?? 0) >= 0.4);
  });
  it('presentation codes map to Feb / Oct starts', () => {
    expect(new Date(presentationStart('2013J')).toISOString()).toBe('2013-10-01T00:00:00.000Z');
    expect(new Date(presentationStart('2014B')).toISOString()).toBe('2014-02-01T00:00:00.000Z');
  });
});

when('ednet')('ednet reader', () => {
  it('maps KT4 actions to interactions and submitted answers to quiz attempts with correctness', () => {
    const d = checkDataset('ednet', { interaction: 5030, quizAttempt: 2443 });
    const quizzes = d.events.filter((e) => e.kind === 'quizAttempt');
    const rate = quizzes.filter((e) => e.kind === 'quizAttempt' && e.event.correct).length / quizzes.length;
    expect(rate).toBeGreaterThan(0.5);
    expect(rate).toBeLessThan(0.75);
  });
});

when('statics')('statics reader', () => {
  it('reads the published split sizes', () => {
    const train = readStaticsSequences(DEFAULT_DATASET_DIRS.statics, 'train');
    expect(train).toHaveLength(229);
    expect(train.reduce((n, s) => n + s.questions.length, 0)).toBe(130_184);
    expect(readStaticsSequences(DEFAULT_DATASET_DIRS.statics, 'test').reduce((n, s) => n + s.questions.length, 0)).toBe(59_113);
  });
  it('maps sequences to quiz attempts with synthetic monotone timestamps per learner', () => {
    const d = checkDataset('statics', { quizAttempt: 189_297 });
    const byUser = new Map<string, number>();
    let notIncreasing = 0;
    for (const e of d.events) {
      if (e.kind !== 'quizAttempt') continue;
      if (e.event.occurredAt <= (byUser.get(e.event.userId) ?? -1)) notIncreasing++;
      byUser.set(e.event.userId, e.event.occurredAt);
    }
    expect(notIncreasing).toBe(0);
    expect(byUser.size).toBe(333);
  });
});

describe('parseKtSequences', () => {
  it('parses the 3-line format with trailing commas and blank lines', () => {
    expect(parseKtSequences('3\n1,2,3,\n1,0,1,\n\n1\n7\n0\n')).toEqual([
      { questions: [1, 2, 3], correct: [1, 0, 1] },
      { questions: [7], correct: [0] },
    ]);
    expect(() => parseKtSequences('2\n1,2\n1\n')).toThrow(/malformed/);
  });
});
