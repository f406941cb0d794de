import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AVRO_TYPES, EVENT_NAMES, type EventName, SCHEMAS, TOPIC_EVENT, eventKey, validateEvent, assertValidEvent, LIMITS } from '../../schemas';
import { generate } from '../../scripts/gen-types';
import { ValidationError } from '../../lib/errors';

const NOW = Date.UTC(2026, 0, 1);
const interaction = () => ({
  eventId: 'e1', userId: 'u1', resourceId: 'r1', type: 'rate', value: 4.5, dwellMs: 1000, occurredAt: NOW - 1000,
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
    expect(() => execFileSync('npx', ['tsx', 'scripts/gen-types.ts', '--check'], { cwd: join(__dirname, '../..'), stdio: 'pipe' })).not.toThrow();
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
    expect(issues('LearningInteraction', { ...interaction(), dwellMs: 'long', type: 'teleport' })).toEqual(expect.arrayContaining(['dwellMs:invalid-type', 'type:invalid-type']));
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
    expect(issues('LearningInteraction', { ...interaction(), occurredAt: NOW + LIMITS.maxFutureMs + 1 })).toEqual(['occurredAt:future-timestamp']);
    expect(issues('LearningInteraction', { ...interaction(), occurredAt: NOW + 1000 })).toEqual([]);
    expect(issues('LearningInteraction', { ...interaction(), value: 6 })).toEqual(['value:out-of-range']);
    expect(issues('LearningInteraction', { ...interaction(), value: null })).toEqual(['value:missing-field']);
    expect(issues('LearningInteraction', { ...interaction(), value: NaN })).toEqual(['value:not-finite']);
    expect(issues('LearningInteraction', { ...interaction(), userId: '' })).toEqual(['userId:empty']);
    expect(issues('LearningInteraction', { ...interaction(), userId: 'x'.repeat(129) })).toEqual(['userId:too-long']);
    expect(issues('QuizAttempt', { eventId: 'q', userId: 'u', itemId: 'i', correct: true, occurredAt: NOW, score: 1.2, attempt: 0 })).toEqual(['score:out-of-range', 'attempt:out-of-range']);
    expect(issues('QuizAttempt', { eventId: 'q', userId: 'u', itemId: 'i', correct: true, occurredAt: NOW, skills: Array(33).fill('s') })).toEqual(['skills:too-many']);
    expect(issues('Resource', { resourceId: 'r', title: ' ', type: 'video', description: 'd'.repeat(LIMITS.descriptionChars + 1) })).toEqual(['title:empty', 'description:too-long']);
    expect(issues('LearnerProfile', { userId: 'u', updatedAt: NOW, level: 'guru' })).toEqual(['level:invalid-type']);
    expect(issues('ErasureRequest', { requestId: 'x', userId: 'u', requestedAt: -5 })).toEqual(['requestedAt:out-of-range']);
  });

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
