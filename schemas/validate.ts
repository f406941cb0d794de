/**
 * The one validator of event contracts, used by the typed publisher, the HTTP collector and the consumers' decode step,
 * so the three can never disagree about what a valid event is.
 *
 * Two layers: the Avro type (shape, types, required fields, no undeclared fields — checked with avsc, which reports
 * field paths), then semantic rules Avro cannot express (ranges, string and array caps, timestamps not far in the
 * future, not before a plausible floor), the id rule (idProblem). Every issue has a stable `code` and the field `path`, so callers can report all problems at once.
 */
import avro from 'avsc';
import { ValidationError } from '../lib/errors';
import { SCHEMAS, type EventName, type EventTypes } from './generated/types';
import { RECOMM_ID_PATTERN } from './recomm-id';

export type IssueCode =
  | 'not-an-object'
  | 'missing-field'
  | 'invalid-type'
  | 'unknown-field'
  | 'not-finite'
  | 'out-of-range'
  | 'empty'
  | 'blank'
  | 'invalid-character'
  | 'too-long'
  | 'too-many'
  | 'future-timestamp'
  | 'invalid-format';

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
  /**
   * Event timestamps (occurredAt, updatedAt, requestedAt) before this are implausible: 1995-01-01T00:00:00Z. Not
   * 2000: the MovieLens ratings the replay sends start in 1996. 0, 1971 and a seconds value read as milliseconds
   * (which lands in January 1970) all fall below it.
   */
  earliestEventMs: 788_918_400_000,
  maxSkills: 32,
  maxListItems: 64,
  maxGoals: 32,
  maxAttempt: 10_000,
  maxRating: 5,
  maxDurationMin: 100_000,
} as const;

/** Resources may have been published long before 1970 (films from 1902 are in MovieLens). */
const EARLIEST_PUBLICATION_MS = Date.UTC(1000, 0, 1);

/**
 * The id rule, one for every id and label (eventId, userId, resourceId, itemId, requestId, session, skill, topic,
 * prerequisite and interest labels): not empty, not only whitespace, and none of these characters:
 *  - control characters (Unicode Cc: NUL, C0, DEL, C1), line and paragraph separators (Zl, Zp);
 *  - format characters (Cf): bidi embeddings, overrides and isolates (U+202A..U+202E, U+2066..U+2069), marks
 *    (U+200E, U+200F, U+061C), zero-width space, joiners and the BOM (U+200B..U+200D, U+2060, U+FEFF), soft hyphen;
 *  - unpaired UTF-16 surrogates: they do not survive UTF-8, so the stored id would differ from the sent one (checked
 *    for every string, ids or not, before the Avro copy; see preflight()).
 * An id that renders the same as another, or renders as nothing, would let two learners share state or hide one.
 */
const ID_FORBIDDEN = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u;

export type IdProblem = { code: 'empty' | 'blank' | 'invalid-character'; message: string };

/** Why `v` is not an acceptable id, or null when it is (length caps are checked separately). */
export function idProblem(v: string): IdProblem | null {
  if (v.length === 0) return { code: 'empty', message: 'must not be empty' };
  const bad = ID_FORBIDDEN.exec(v);
  if (bad) {
    const cp = bad[0].codePointAt(0) ?? 0;
    return {
      code: 'invalid-character',
      message: `must not contain control, format (bidi, zero-width) or unpaired surrogate characters; found U+${cp.toString(16).toUpperCase().padStart(4, '0')} at index ${bad.index}`,
    };
  }
  if (v.trim().length === 0) return { code: 'blank', message: 'must not be only whitespace' };
  return null;
}

/** An ISO date for a message, or the raw number when Date cannot represent it (|v| > 8.64e15 ms throws). */
function isoOrRaw(v: number): string {
  return Math.abs(v) <= 8.64e15 ? new Date(v).toISOString() : String(v);
}

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
  if (issues.length === 0) preflight(type, input, '', issues);
  if (issues.length > 0) return { ok: false, issues };
  let value: EventTypes[N];
  try {
    value = type.clone(input) as EventTypes[N];
  } catch (err) {
    // preflight() covers what is known to get here; anything else is still the input's fault, never a 500.
    return {
      ok: false,
      issues: [{ path: '', code: 'invalid-type', message: `does not encode as ${name}: ${(err as Error).message.slice(0, 200)}` }],
    };
  }
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
    if (extra.length > 0)
      return extra.map((k) => ({ path: p ? `${p}.${k}` : k, code: 'unknown-field', message: 'field is not part of the schema' }));
  }
  if (val === undefined) return [{ path: p, code: 'missing-field', message: `required field missing (expected ${describe(t)})` }];
  return [{ path: p, code: 'invalid-type', message: `expected ${describe(t)}, got ${show(val)}` }];
}

/**
 * avsc encodes a long as a zigzag varint in doubles: beyond ±2^52 it loses the sign or throws (-8.64e15 came back
 * as +8.64e15, MIN_SAFE_INTEGER threw from clone()). No timestamp or duration needs more.
 */
const MAX_EXACT_LONG = 2 ** 52;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * What avsc's isValid lets through but must not pass: own keys that a record (nested ones too) does not declare
 * (avsc looks names up in a plain object, so `__proto__`, `constructor` and friends passed), and longs it cannot
 * round-trip exactly.
 */
function preflight(t: avro.Type, val: unknown, path: string, issues: ValidationIssue[]): void {
  if (t instanceof avro.types.LongType && typeof val === 'number' && Math.abs(val) > MAX_EXACT_LONG) {
    issues.push({ path, code: 'out-of-range', message: `must be within -${MAX_EXACT_LONG}..${MAX_EXACT_LONG}, got ${val}` });
    return;
  }
  // Checked on the input: clone() goes through UTF-8, which turns a lone surrogate into U+FFFD (the id stored
  // would differ from the id sent), so the rules, which see the clone, cannot.
  if (typeof val === 'string' && LONE_SURROGATE.test(val)) {
    issues.push({ path, code: 'invalid-character', message: 'holds an unpaired UTF-16 surrogate, which UTF-8 cannot carry' });
    return;
  }
  if (t.typeName.startsWith('union')) {
    // Unwrapped unions (avsc's default): the value is the branch's own value; check it against the branch it is valid for.
    const branch = (t as unknown as { types: avro.Type[] }).types.find((b) => b.isValid(val));
    if (branch) preflight(branch, val, path, issues);
    return;
  }
  if (typeof val !== 'object' || val === null) return;
  const at = (k: string) => (path ? `${path}.${k}` : k);
  if (t instanceof avro.types.RecordType && !Array.isArray(val)) {
    const fields = new Map(t.fields.map((f) => [f.name, f.type]));
    for (const k of Object.keys(val)) {
      const ft = fields.get(k);
      if (ft === undefined) issues.push({ path: at(k), code: 'unknown-field', message: 'field is not part of the schema' });
      else preflight(ft, (val as Record<string, unknown>)[k], at(k), issues);
    }
  } else if (t instanceof avro.types.ArrayType && Array.isArray(val)) {
    val.forEach((v, i) => preflight(t.itemsType, v, at(String(i)), issues));
  }
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
    const p = idProblem(v);
    if (p) this.add(path, p.code, p.message);
    else this.text(path, v, LIMITS.idChars);
  }

  text(path: string, v: string | null, max: number): void {
    if (v !== null && v.length > max) this.add(path, 'too-long', `at most ${max} characters, got ${v.length}`);
  }

  /** A list of labels: each item follows the id rule (and is at most `maxChars` long). */
  list(path: string, v: string[], maxItems: number, maxChars: number): void {
    if (v.length > maxItems) this.add(path, 'too-many', `at most ${maxItems} items, got ${v.length}`);
    v.slice(0, maxItems).forEach((s, i) => {
      const p = idProblem(s);
      if (p) this.add(`${path}.${i}`, p.code, p.message);
      else this.text(`${path}.${i}`, s, maxChars);
    });
  }

  /** Free text items (goals): not empty, capped, any characters. */
  textList(path: string, v: string[], maxItems: number, maxChars: number): void {
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

  /**
   * The plausible window: from `min` (default LIMITS.earliestEventMs, 1995-01-01; catalogue items pass an older
   * floor) to LIMITS.maxFutureMs past the receiving clock. A value below it that reads as a plausible date in
   * seconds (or microseconds above it) says so: the usual producer bug.
   */
  timestamp(path: string, v: number | null, min: number = LIMITS.earliestEventMs): void {
    if (v === null) return;
    const max = this.now + LIMITS.maxFutureMs;
    const plausible = (x: number) => x >= min && x <= max;
    if (v < min) {
      const hint = v > 0 && plausible(v * 1000) ? `; it looks like seconds: send milliseconds (${v * 1000} = ${isoOrRaw(v * 1000)})` : '';
      this.add(path, 'out-of-range', `must be epoch milliseconds from ${min} (${isoOrRaw(min)}), got ${v}${hint}`);
    } else if (v > max) {
      const hint = plausible(Math.trunc(v / 1000)) ? `; it looks like microseconds: send milliseconds (${Math.trunc(v / 1000)})` : '';
      this.add(path, 'future-timestamp', `more than ${LIMITS.maxFutureMs / 3_600_000} h in the future (${isoOrRaw(v)})${hint}`);
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
    if (e.context.session !== null) r.id('context.session', e.context.session);
    // recommId is optional in the schema (v1 writers know nothing of it), required of an impression.
    if (e.type === 'impression' && e.recommId === null)
      r.issues.push({
        path: 'recommId',
        code: 'missing-field',
        message: 'type=impression needs the recommId of the list the resource was shown in',
      });
    if (e.recommId !== null && !RECOMM_ID_PATTERN.test(e.recommId))
      r.issues.push({
        path: 'recommId',
        code: 'invalid-format',
        message: 'must be a recommId as served by GET /v1/learners/{userId}/recommendations',
      });
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
    r.textList('goals', e.goals, LIMITS.maxGoals, LIMITS.goalChars);
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
