/**
 * fast-check generators of learnstream events for the property tests: a valid event of each kind, with a few fields
 * swapped for hostile values (control, bidi, zero-width and lone-surrogate ids, timestamps in seconds or microseconds,
 * ±8.64e15 and beyond the safe integers, out-of-range numbers, wrong types).
 */
import fc from 'fast-check';
import type { EventKind } from '../../schemas';

const NOW = Date.now();
const DAY = 86_400_000;

// Hostile characters, then any UTF-16 code unit (lone surrogates included), then plain ones.
export const nastyChar = fc.oneof(
  fc.constantFrom(
    '\u0000',
    '\u001b',
    '\u007f',
    '\u0085',
    '\u202e',
    '\u2066',
    '\u200b',
    '\u200d',
    '\ufeff',
    '\u2028',
    '\ud800',
    '\udfff',
    ' ',
    '\t',
    '\u3000',
    '\u00a0',
  ),
  fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
  fc.constantFrom('a', 'Z', '7', '-', '_', 'é', '学'),
);
export const goodId = fc.stringMatching(/^[a-z][a-z0-9-]{0,15}$/);
const id = fc.oneof(
  { arbitrary: goodId, weight: 6 },
  { arbitrary: fc.string({ unit: nastyChar, maxLength: 10 }), weight: 3 },
  { arbitrary: fc.string({ minLength: 120, maxLength: 140 }), weight: 1 },
);
const num = fc.oneof(
  fc.integer({ min: 0, max: 60_000 }),
  fc.double(),
  fc.integer(),
  fc.constantFrom(-1, 1.5, 1e21, -1e308, 8.64e15, Number.MAX_SAFE_INTEGER),
);
const goodTs = fc.integer({ min: NOW - 30 * DAY, max: NOW });
const badTs = fc.oneof(
  fc.constantFrom(
    0,
    -1,
    1,
    1.5,
    8.64e15,
    -8.64e15,
    8.64e15 + 1,
    -8.64e15 - 1,
    2 ** 52 + 2,
    Number.MAX_SAFE_INTEGER,
    Number.MIN_SAFE_INTEGER,
    1e21,
    -1e308,
    Math.floor(NOW / 1000),
    NOW * 1000,
    NOW + 2 * DAY,
  ),
  fc.integer(),
  fc.double(),
  fc.string({ maxLength: 24 }),
);
const labels = fc.array(fc.oneof(goodId, id), { maxLength: 4 });
const text = fc.oneof(
  { arbitrary: fc.string({ maxLength: 40 }), weight: 9 },
  { arbitrary: fc.string({ unit: nastyChar, maxLength: 40 }), weight: 1 },
);
const orNull = <T>(a: fc.Arbitrary<T>) => fc.oneof(fc.constant(null), a);
/** `a` in `percent` % of the cases, null otherwise. */
export const sometimes = <T>(a: fc.Arbitrary<T>, percent: number): fc.Arbitrary<T | null> =>
  fc.oneof({ arbitrary: fc.constant(null), weight: 100 - percent }, { arbitrary: a, weight: percent });

/** Valid field values per kind: an envelope starts as a valid event. */
export const VALID: Record<EventKind, Record<string, fc.Arbitrary<unknown>>> = {
  interaction: {
    eventId: goodId,
    userId: goodId,
    resourceId: goodId,
    type: fc.constantFrom('view', 'click', 'complete', 'bookmark'),
    value: fc.constant(null),
    dwellMs: fc.integer({ min: 0, max: 60_000 }),
    occurredAt: goodTs,
    context: fc.record({ platform: fc.constantFrom('web', 'ios'), device: orNull(goodId), session: orNull(goodId) }),
  },
  quizAttempt: {
    eventId: goodId,
    userId: goodId,
    itemId: goodId,
    resourceId: orNull(goodId),
    skills: fc.array(goodId, { maxLength: 3 }),
    correct: fc.boolean(),
    score: orNull(fc.double({ min: 0, max: 1, noNaN: true })),
    attempt: fc.integer({ min: 1, max: 3 }),
    responseTimeMs: fc.integer({ min: 0, max: 90_000 }),
    occurredAt: goodTs,
  },
  resource: {
    resourceId: goodId,
    title: goodId,
    description: fc.string({ maxLength: 40 }),
    type: fc.constantFrom('video', 'article', 'quiz'),
    topics: fc.array(goodId, { maxLength: 3 }),
    skills: fc.array(goodId, { maxLength: 3 }),
    prerequisites: fc.array(goodId, { maxLength: 2 }),
    difficulty: orNull(fc.double({ min: 0, max: 1, noNaN: true })),
    publishedAt: orNull(fc.constantFrom(Date.UTC(1902, 0, 1), NOW - DAY)),
  },
  profile: {
    userId: goodId,
    interests: fc.array(goodId, { maxLength: 3 }),
    goals: fc.array(goodId, { maxLength: 2 }),
    level: fc.constantFrom('beginner', 'intermediate', 'advanced'),
    updatedAt: goodTs,
  },
  erasure: { requestId: goodId, userId: goodId, requestedAt: goodTs, reason: orNull(fc.string({ maxLength: 40 })) },
};

/** Hostile values per field, swapped in for a few fields of a valid event. */
export const HOSTILE: Record<EventKind, Record<string, fc.Arbitrary<unknown>>> = {
  interaction: {
    eventId: id,
    userId: id,
    resourceId: id,
    type: fc.constantFrom('rate', 'progress', 'teleport', ''),
    value: fc.oneof(fc.double(), num),
    dwellMs: num,
    occurredAt: badTs,
    context: fc.oneof(fc.record({ platform: text, device: orNull(text), session: orNull(id) }), fc.jsonValue()),
  },
  quizAttempt: {
    eventId: id,
    userId: id,
    itemId: id,
    resourceId: id,
    skills: labels,
    correct: fc.jsonValue(),
    score: num,
    attempt: num,
    responseTimeMs: num,
    occurredAt: badTs,
  },
  resource: {
    resourceId: id,
    title: text,
    description: text,
    type: fc.constantFrom('podcast', ''),
    topics: labels,
    skills: labels,
    prerequisites: labels,
    difficulty: num,
    publishedAt: badTs,
  },
  profile: { userId: id, interests: labels, goals: fc.array(text, { maxLength: 3 }), level: fc.constantFrom('guru', ''), updatedAt: badTs },
  erasure: { requestId: id, userId: id, requestedAt: badTs, reason: text },
};

/** A valid `kind` event in 60 % of the cases, otherwise one with one or two fields swapped for hostile values. */
export function eventFields(kind: EventKind): fc.Arbitrary<Record<string, unknown>> {
  const keys = Object.keys(VALID[kind]);
  return fc
    .tuple(fc.record(VALID[kind]), fc.record(HOSTILE[kind]), sometimes(fc.subarray(keys, { minLength: 1, maxLength: 2 }), 40))
    .map(([valid, hostile, swap]) => {
      const e: Record<string, unknown> = { ...valid };
      for (const f of swap ?? []) e[f] = hostile[f];
      return e;
    });
}
