import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  AVRO_TYPES,
  EVENT_NAMES,
  type EventName,
  SCHEMAS,
  TOPIC_EVENT,
  eventKey,
  validateEvent,
  assertValidEvent,
  LIMITS,
} from '../../schemas';
import { generate } from '../../scripts/gen-types';
import { ValidationError } from '../../lib/errors';

const NOW = Date.UTC(2026, 0, 1);
const interaction = () => ({
  eventId: 'e1',
  userId: 'u1',
  resourceId: 'r1',
  type: 'rate',
  value: 4.5,
  dwellMs: 1000,
  occurredAt: NOW - 1000,
  context: { platform: 'web', device: null, session: 's1' },
});

describe('event schemas', () => {
  it('every field of every schema is documented and in the io.learnstream.events namespace', () => {
    for (const name of EVENT_NAMES) {
      const s = SCHEMAS[name] as unknown as { namespace: string; fields: { doc?: string }[] };
      expect(s.namespace).toBe('io.learnstream.events');
      for (const f of s.fields) expect(typeof f.doc).toBe('string');
    }
  });

  it('generated types are up to date with the .avsc files', () => {
    expect(readFileSync(join(__dirname, '../../schemas/generated/types.ts'), 'utf8')).toBe(generate());
  });

  it('gen:types --check exits 0 when up to date', () => {
    expect(() =>
      execFileSync('npx', ['tsx', 'scripts/gen-types.ts', '--check'], { cwd: join(__dirname, '../..'), stdio: 'pipe' }),
    ).not.toThrow();
  });

  it('maps each event topic to a schema and keys by userId / resourceId', () => {
    expect(Object.values(TOPIC_EVENT).sort()).toEqual([...EVENT_NAMES].sort());
    const e = assertValidEvent('LearningInteraction', interaction(), { now: NOW });
    expect(eventKey('LearningInteraction', e)).toBe('u1');
    const r = assertValidEvent('Resource', { resourceId: 'r9', title: 'Intro', type: 'video' }, { now: NOW });
    expect(eventKey('Resource', r)).toBe('r9');
  });

  it('round-trips a valid event through Avro with defaults filled in', () => {
    const v = validateEvent('QuizAttempt', { eventId: 'q', userId: 'u', itemId: 'i', correct: true, occurredAt: NOW }, { now: NOW });
    expect(v.ok).toBe(true);
    if (!v.ok) return;
    expect(v.value).toMatchObject({ skills: [], score: null, attempt: 1, responseTimeMs: 0, resourceId: null });
    const buf = AVRO_TYPES.QuizAttempt.toBuffer(v.value);
    expect(AVRO_TYPES.QuizAttempt.fromBuffer(buf)).toEqual(v.value);
  });
});

describe('validateEvent', () => {
  const issues = (name: EventName, input: unknown) => {
    const r = validateEvent(name, input, { now: NOW });
    return r.ok ? [] : r.issues.map((i) => `${i.path}:${i.code}`);
  };

  it('accepts a valid interaction', () => {
    expect(issues('LearningInteraction', interaction())).toEqual([]);
  });

  it('reports type errors with field paths', () => {
    expect(issues('LearningInteraction', { ...interaction(), dwellMs: 'long', type: 'teleport' })).toEqual(
      expect.arrayContaining(['dwellMs:invalid-type', 'type:invalid-type']),
    );
    expect(issues('LearningInteraction', { ...interaction(), context: { platform: 7 } })).toEqual(['context.platform:invalid-type']);
    expect(issues('LearningInteraction', { ...interaction(), occurredAt: 1.5 })).toEqual(['occurredAt:invalid-type']);
  });

  it('reports missing required and undeclared fields', () => {
    const { userId: _u, ...noUser } = interaction();
    expect(issues('LearningInteraction', noUser)).toEqual(['userId:missing-field']);
    expect(issues('LearningInteraction', { ...interaction(), dwell: 3 })).toEqual(['dwell:unknown-field']);
    expect(issues('LearningInteraction', null)).toEqual([':not-an-object']);
    expect(issues('LearningInteraction', [1])).toEqual([':not-an-object']);
  });

  it('applies semantic rules beyond Avro types', () => {
    expect(issues('LearningInteraction', { ...interaction(), dwellMs: -1 })).toEqual(['dwellMs:out-of-range']);
    expect(issues('LearningInteraction', { ...interaction(), occurredAt: NOW + LIMITS.maxFutureMs + 1 })).toEqual([
      'occurredAt:future-timestamp',
    ]);
    expect(issues('LearningInteraction', { ...interaction(), occurredAt: NOW + 1000 })).toEqual([]);
    expect(issues('LearningInteraction', { ...interaction(), value: 6 })).toEqual(['value:out-of-range']);
    expect(issues('LearningInteraction', { ...interaction(), value: null })).toEqual(['value:missing-field']);
    expect(issues('LearningInteraction', { ...interaction(), value: NaN })).toEqual(['value:not-finite']);
    expect(issues('LearningInteraction', { ...interaction(), userId: '' })).toEqual(['userId:empty']);
    expect(issues('LearningInteraction', { ...interaction(), userId: 'x'.repeat(129) })).toEqual(['userId:too-long']);
    expect(
      issues('QuizAttempt', { eventId: 'q', userId: 'u', itemId: 'i', correct: true, occurredAt: NOW, score: 1.2, attempt: 0 }),
    ).toEqual(['score:out-of-range', 'attempt:out-of-range']);
    expect(
      issues('QuizAttempt', { eventId: 'q', userId: 'u', itemId: 'i', correct: true, occurredAt: NOW, skills: Array(33).fill('s') }),
    ).toEqual(['skills:too-many']);
    expect(
      issues('Resource', { resourceId: 'r', title: ' ', type: 'video', description: 'd'.repeat(LIMITS.descriptionChars + 1) }),
    ).toEqual(['title:empty', 'description:too-long']);
    expect(issues('LearnerProfile', { userId: 'u', updatedAt: NOW, level: 'guru' })).toEqual(['level:invalid-type']);
    expect(issues('ErasureRequest', { requestId: 'x', userId: 'u', requestedAt: -5 })).toEqual(['requestedAt:out-of-range']);
  });

  it.each([
    ['empty', '', 'empty'],
    ['whitespace only', ' \u3000\u00a0 ', 'blank'],
    ['NUL', 'u\u0000', 'invalid-character'],
    ['a C0 control', 'u\u001b[31m', 'invalid-character'],
    ['DEL', 'u\u007f', 'invalid-character'],
    ['a C1 control', 'u\u0085', 'invalid-character'],
    ['a bidi override', 'u\u202egnp.exe', 'invalid-character'],
    ['a bidi isolate', '\u2066u1\u2069', 'invalid-character'],
    ['a zero-width space', 'u\u200b1', 'invalid-character'],
    ['a zero-width joiner', 'u\u200d1', 'invalid-character'],
    ['a BOM', '\ufeffu1', 'invalid-character'],
    ['a line separator', 'u\u20281', 'invalid-character'],
    ['a lone high surrogate', 'u\ud800', 'invalid-character'],
    ['a lone low surrogate', '\udc00u', 'invalid-character'],
  ])('rejects an id that is %s, in every id field and label list', (_n, bad, code) => {
    expect(issues('LearningInteraction', { ...interaction(), userId: bad })).toEqual([`userId:${code}`]);
    expect(issues('LearningInteraction', { ...interaction(), context: { platform: 'web', session: bad } })).toEqual([
      `context.session:${code}`,
    ]);
    expect(issues('QuizAttempt', { eventId: bad, userId: 'u', itemId: 'i', correct: true, occurredAt: NOW, skills: ['ok', bad] })).toEqual([
      `eventId:${code}`,
      `skills.1:${code}`,
    ]);
    expect(issues('Resource', { resourceId: bad, title: 't', type: 'video', topics: [bad] })).toEqual([
      `resourceId:${code}`,
      `topics.0:${code}`,
    ]);
    expect(issues('ErasureRequest', { requestId: 'x', userId: bad, requestedAt: NOW })).toEqual([`userId:${code}`]);
  });

  it('accepts ids in any script, with inner spaces and paired surrogates (emoji)', () => {
    for (const id of ['学习者-42', 'José Müller', 'user 1', 'u-\ud83d\ude00', 'ħ'.repeat(128)])
      expect(issues('LearningInteraction', { ...interaction(), userId: id })).toEqual([]);
    // Free text is not an id: goals and descriptions may hold any characters.
    expect(issues('LearnerProfile', { userId: 'u', updatedAt: NOW, goals: ['learn \u202e bidi'] })).toEqual([]);
  });

  it('rejects timestamps outside the plausible window, with a hint for seconds and microseconds, never a throw', () => {
    const at = (occurredAt: number) => validateEvent('LearningInteraction', { ...interaction(), occurredAt }, { now: NOW });
    const msg = (occurredAt: number) => {
      const r = at(occurredAt);
      return r.ok ? 'ok' : `${r.issues[0].code}: ${r.issues[0].message}`;
    };
    expect(msg(LIMITS.earliestEventMs)).toBe('ok');
    expect(new Date(LIMITS.earliestEventMs).toISOString()).toBe('1995-01-01T00:00:00.000Z');
    for (const v of [0, 1, Date.UTC(1971, 0, 1), LIMITS.earliestEventMs - 1, -1, -(2 ** 52)])
      expect(msg(v)).toMatch(/^out-of-range: must be epoch milliseconds from 788918400000 \(1995-01-01T00:00:00.000Z\)/);
    // Beyond ±2^52 an Avro long does not round-trip in JavaScript (-8.64e15 came back positive): refused as such.
    for (const v of [-8.64e15, -8.64e15 - 1, 8.64e15, 8.64e15 + 1])
      expect(msg(v)).toBe(`out-of-range: must be within -4503599627370496..4503599627370496, got ${v}`);
    for (const v of [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, -Number.MAX_VALUE])
      expect(msg(v)).toMatch(/^(out-of-range|invalid-type): /);
    expect(msg(Math.floor((NOW - 1000) / 1000))).toMatch(
      /looks like seconds: send milliseconds \(1767225599000 = 2025-12-31T23:59:59.000Z\)/,
    );
    expect(msg(Date.UTC(1971, 0, 1))).not.toMatch(/looks like/);
    for (const v of [NOW + LIMITS.maxFutureMs + 1, 2 ** 52 - 1, 2 ** 52])
      expect(msg(v)).toMatch(/^future-timestamp: more than 24 h in the future \(/);
    expect(msg((NOW - 1000) * 1000)).toMatch(/looks like microseconds: send milliseconds \(1767225599000\)/);
    // A resource's publication date may be far older than any event, but not absurd.
    expect(issues('Resource', { resourceId: 'r', title: 't', type: 'video', publishedAt: Date.UTC(1902, 0, 1) })).toEqual([]);
    expect(issues('Resource', { resourceId: 'r', title: 't', type: 'video', publishedAt: -8.64e15 })).toEqual(['publishedAt:out-of-range']);
  });

  it.each(['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', '__defineGetter__'])(
    'treats an extra %s field like any unknown field, at the top and nested',
    (name) => {
      const top = JSON.parse(`{"${name}": {"polluted": true}}`) as Record<string, unknown>;
      expect(issues('LearningInteraction', { ...interaction(), ...top })).toEqual([`${name}:unknown-field`]);
      const nested = { ...interaction(), context: { platform: 'web', ...top } };
      expect(issues('LearningInteraction', nested)).toEqual([`context.${name}:unknown-field`]);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    },
  );

  it('assertValidEvent throws ValidationError with every issue', () => {
    try {
      assertValidEvent('LearningInteraction', { ...interaction(), dwellMs: -1, value: 9 }, { now: NOW });
      throw new Error('did not throw');
    } catch (err) {
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).issues).toHaveLength(2);
    }
  });
});
