/**
 * The one validator of event contracts, used by the typed publisher, the HTTP collector and the consumers' decode step,
 * so the three can never disagree about what a valid event is.
 *
 * Two layers: the Avro type (shape, types, required fields, no undeclared fields — checked with avsc, which reports
 * field paths), then semantic rules Avro cannot express (ranges, string and array caps, timestamps not far in the
 * future). Every issue has a stable `code` and the field `path`, so callers can report all problems at once.
 */
import avro from 'avsc';
import { ValidationError } from '../lib/errors';
import { SCHEMAS, type EventName, type EventTypes } from './generated/types';

export type IssueCode =
  | 'not-an-object'
  | 'missing-field'
  | 'invalid-type'
  | 'unknown-field'
  | 'not-finite'
  | 'out-of-range'
  | 'empty'
  | 'too-long'
  | 'too-many'
  | 'future-timestamp';

export interface ValidationIssue {
  /** Dotted field path (`context.platform`, `skills.3`); '' for the event itself. */
  path: string;
  code: IssueCode;
  message: string;
}

export type ValidationResult<T> = { ok: true; value: T } | { ok: false; issues: ValidationIssue[] };

/** Caps and ranges. Documented on each field in the .avsc files; change both together. */
export const LIMITS = {
  /** eventId, userId, resourceId, itemId, requestId, skill and topic labels, session. */
  idChars: 128,
  shortTextChars: 64,
  titleChars: 512,
  descriptionChars: 16_384,
  backgroundChars: 2_048,
  goalChars: 512,
  reasonChars: 1_024,
  instructorChars: 256,
  languageChars: 35,
  /** dwellMs and responseTimeMs: at most one day. */
  maxDurationMs: 86_400_000,
  /** Timestamps may be ahead of the receiving clock by at most this (device clock skew). */
  maxFutureMs: 86_400_000,
  maxSkills: 32,
  maxListItems: 64,
  maxGoals: 32,
  maxAttempt: 10_000,
  maxRating: 5,
  maxDurationMin: 100_000,
} as const;

/** Resources may have been published long before 1970 (films from 1902 are in MovieLens). */
const EARLIEST_PUBLICATION_MS = Date.UTC(1000, 0, 1);

const AVRO: { [N in EventName]: avro.Type } = Object.fromEntries(
  Object.entries(SCHEMAS).map(([n, s]) => [n, avro.Type.forSchema(s as unknown as avro.Schema)]),
) as { [N in EventName]: avro.Type };

export interface ValidateOptions {
  /** Clock for the future-timestamp rule, epoch ms. Default `Date.now()`. */
  now?: number;
}

/**
 * Validates `input` as event `name`. On success `value` is a fresh copy with Avro defaults filled in (so producers
 * may omit defaulted fields). Never throws for bad input.
 */
export function validateEvent<N extends EventName>(name: N, input: unknown, opts: ValidateOptions = {}): ValidationResult<EventTypes[N]> {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return { ok: false, issues: [{ path: '', code: 'not-an-object', message: `expected a ${name} object` }] };
  }
  const type = AVRO[name];
  const issues: ValidationIssue[] = [];
  type.isValid(input, {
    noUndeclaredFields: true,
    errorHook: (path: string[], val: unknown, t: avro.Type) => issues.push(...avroIssue(path, val, t)),
  });
  if (issues.length > 0) return { ok: false, issues };
  const value = type.clone(input) as EventTypes[N];
  const rules = new Rules(opts.now ?? Date.now());
  RULES[name](value as never, rules);
  return rules.issues.length > 0 ? { ok: false, issues: rules.issues } : { ok: true, value };
}

/** Like validateEvent, but throws ValidationError (issues in `issues`, one line each) instead of returning them. */
export function assertValidEvent<N extends EventName>(name: N, input: unknown, opts: ValidateOptions = {}): EventTypes[N] {
  const r = validateEvent(name, input, opts);
  if (r.ok) return r.value;
  throw new ValidationError(`invalid ${name}: ${r.issues.map(formatIssue).join('; ')}`, r.issues.map(formatIssue), { event: name });
}

export function formatIssue(i: ValidationIssue): string {
  return i.path ? `${i.path}: ${i.message} (${i.code})` : `${i.message} (${i.code})`;
}

function describe(t: avro.Type): string {
  if (t.typeName.startsWith('union')) return (t as unknown as { types: avro.Type[] }).types.map(describe).join(' or ');
  if (t instanceof avro.types.EnumType) return `one of ${t.symbols.join(', ')}`;
  if (t instanceof avro.types.ArrayType) return `array of ${describe(t.itemsType)}`;
  if (t instanceof avro.types.LongType || t instanceof avro.types.IntType) return 'an integer';
  return t.typeName;
}

function avroIssue(path: string[], val: unknown, t: avro.Type): ValidationIssue[] {
  const p = path.join('.');
  if (t instanceof avro.types.RecordType && typeof val === 'object' && val !== null && !Array.isArray(val)) {
    // With noUndeclaredFields avsc reports the record itself; name the offending keys instead.
    const known = new Set(t.fields.map((f) => f.name));
    const extra = Object.keys(val).filter((k) => !known.has(k));
    if (extra.length > 0) return extra.map((k) => ({ path: p ? `${p}.${k}` : k, code: 'unknown-field', message: 'field is not part of the schema' }));
  }
  if (val === undefined) return [{ path: p, code: 'missing-field', message: `required field missing (expected ${describe(t)})` }];
  return [{ path: p, code: 'invalid-type', message: `expected ${describe(t)}, got ${show(val)}` }];
}

function show(val: unknown): string {
  if (typeof val === 'string') return JSON.stringify(val.length > 40 ? `${val.slice(0, 40)}...` : val);
  if (val === null) return 'null';
  if (Array.isArray(val)) return 'an array';
  if (typeof val === 'number' || typeof val === 'boolean' || typeof val === 'bigint') return String(val);
  return typeof val === 'object' ? 'an object' : typeof val;
}

/** Collects semantic issues; each helper is a no-op for null (optional fields). */
class Rules {
  readonly issues: ValidationIssue[] = [];
  constructor(readonly now: number) {}

  private add(path: string, code: IssueCode, message: string): void {
    this.issues.push({ path, code, message });
  }

  id(path: string, v: string): void {
    if (v.length === 0) this.add(path, 'empty', 'must not be empty');
    else this.text(path, v, LIMITS.idChars);
  }

  text(path: string, v: string | null, max: number): void {
    if (v !== null && v.length > max) this.add(path, 'too-long', `at most ${max} characters, got ${v.length}`);
  }

  list(path: string, v: string[], maxItems: number, maxChars: number): void {
    if (v.length > maxItems) this.add(path, 'too-many', `at most ${maxItems} items, got ${v.length}`);
    v.slice(0, maxItems).forEach((s, i) => {
      if (s.length === 0) this.add(`${path}.${i}`, 'empty', 'must not be empty');
      else this.text(`${path}.${i}`, s, maxChars);
    });
  }

  range(path: string, v: number | null, min: number, max: number): void {
    if (v === null) return;
    if (!Number.isFinite(v)) this.add(path, 'not-finite', `must be a finite number, got ${v}`);
    else if (v < min || v > max) this.add(path, 'out-of-range', `must be within ${min}..${max}, got ${v}`);
  }

  /** `min` defaults to the epoch: events cannot predate 1970, but catalogue items (old films, books) can. */
  timestamp(path: string, v: number | null, min = 0): void {
    if (v === null) return;
    if (v < min) this.add(path, 'out-of-range', `must be epoch milliseconds >= ${min}, got ${v}`);
    else if (v > this.now + LIMITS.maxFutureMs) {
      this.add(path, 'future-timestamp', `more than ${LIMITS.maxFutureMs / 3_600_000} h in the future (${new Date(v).toISOString()})`);
    }
  }
}

type RuleFn<N extends EventName> = (e: EventTypes[N], r: Rules) => void;

const RULES: { [N in EventName]: RuleFn<N> } = {
  LearningInteraction: (e, r) => {
    r.id('eventId', e.eventId);
    r.id('userId', e.userId);
    r.id('resourceId', e.resourceId);
    if (e.type === 'rate') {
      if (e.value === null) r.issues.push({ path: 'value', code: 'missing-field', message: 'type=rate needs a value (0..5)' });
      r.range('value', e.value, 0, LIMITS.maxRating);
    } else if (e.type === 'progress') {
      r.range('value', e.value, 0, 1);
    } else {
      r.range('value', e.value, -1e9, 1e9);
    }
    r.range('dwellMs', e.dwellMs, 0, LIMITS.maxDurationMs);
    r.timestamp('occurredAt', e.occurredAt);
    r.text('context.platform', e.context.platform, LIMITS.shortTextChars);
    r.text('context.device', e.context.device, LIMITS.shortTextChars);
    r.text('context.session', e.context.session, LIMITS.idChars);
  },
  QuizAttempt: (e, r) => {
    r.id('eventId', e.eventId);
    r.id('userId', e.userId);
    r.id('itemId', e.itemId);
    if (e.resourceId !== null) r.id('resourceId', e.resourceId);
    r.list('skills', e.skills, LIMITS.maxSkills, LIMITS.idChars);
    r.range('score', e.score, 0, 1);
    r.range('attempt', e.attempt, 1, LIMITS.maxAttempt);
    r.range('responseTimeMs', e.responseTimeMs, 0, LIMITS.maxDurationMs);
    r.timestamp('occurredAt', e.occurredAt);
  },
  Resource: (e, r) => {
    r.id('resourceId', e.resourceId);
    if (e.title.trim().length === 0) r.issues.push({ path: 'title', code: 'empty', message: 'must not be empty' });
    r.text('title', e.title, LIMITS.titleChars);
    r.text('description', e.description, LIMITS.descriptionChars);
    r.list('topics', e.topics, LIMITS.maxListItems, LIMITS.idChars);
    r.list('skills', e.skills, LIMITS.maxListItems, LIMITS.idChars);
    r.list('prerequisites', e.prerequisites, LIMITS.maxListItems, LIMITS.idChars);
    r.range('difficulty', e.difficulty, 0, 1);
    r.range('durationMin', e.durationMin, 0, LIMITS.maxDurationMin);
    r.text('language', e.language, LIMITS.languageChars);
    r.text('instructor', e.instructor, LIMITS.instructorChars);
    r.timestamp('publishedAt', e.publishedAt, EARLIEST_PUBLICATION_MS);
  },
  LearnerProfile: (e, r) => {
    r.id('userId', e.userId);
    r.list('interests', e.interests, LIMITS.maxListItems, LIMITS.idChars);
    r.text('background', e.background, LIMITS.backgroundChars);
    r.list('goals', e.goals, LIMITS.maxGoals, LIMITS.goalChars);
    r.text('language', e.language, LIMITS.languageChars);
    r.timestamp('updatedAt', e.updatedAt);
  },
  ErasureRequest: (e, r) => {
    r.id('requestId', e.requestId);
    r.id('userId', e.userId);
    r.timestamp('requestedAt', e.requestedAt);
    r.text('reason', e.reason, LIMITS.reasonChars);
  },
};
