/**
 * EdNet (Santa TOEIC app) → events.
 *  - KT4 action logs (`KT4/u<id>.csv`: timestamp, action_type, item_id, cursor_time, source, user_answer, platform):
 *    `enter` a bundle/lecture → interaction `start`; `quit` → `complete` with dwellMs since the matching enter;
 *    `play_video`/`play_audio` → `click`; `respond` records the learner's latest choice per question; `submit` of a
 *    bundle → one QuizAttempt per answered question, correct = choice == questions.csv correct_answer, skills = the
 *    question's tags, responseTimeMs = submit − enter. Answers left without a submit (end of log) are flushed at the
 *    next enter with their own respond time. Other actions (pause, erase_choice, pay, ...) are not mapped.
 *  - KT1 logs (`KT1/u<id>.csv`: timestamp, solving_id, question_id, user_answer, elapsed_time) → one QuizAttempt per
 *    row (responseTimeMs = elapsed_time). KT1 is used only for users without a KT4 log, so no answer is counted twice.
 * Resources: the bundles (`exercise`) and lectures (`lecture`) that the logs touch; EdNet has no titles or text.
 * Timestamps are the real unix-ms times of the logs.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { InteractionType, KindedEvent, LearningInteraction, Resource } from '../../schemas';
import { PrerequisiteError } from '../../lib/errors';
import { bump, clampMs, lines, timeOrdered, type Dataset, type ReadOptions } from './types';

export interface EdnetQuestion {
  questionId: string;
  bundleId: string;
  correctAnswer: string;
  part: string;
  tags: string[];
}

function csvRows(file: string): Record<string, string>[] {
  const [header, ...rows] = lines(fs.readFileSync(file, 'utf8'));
  if (!header) return [];
  const cols = header.split(',');
  return rows.filter(Boolean).map((r) => {
    const f = r.split(',');
    const o: Record<string, string> = {};
    cols.forEach((c, i) => (o[c] = f[i] ?? ''));
    return o;
  });
}

export function readEdnetQuestions(dir: string): Map<string, EdnetQuestion> {
  const file = path.join(dir, 'contents', 'questions.csv');
  if (!fs.existsSync(file)) throw new PrerequisiteError(`EdNet questions table missing: ${file}`);
  const out = new Map<string, EdnetQuestion>();
  for (const r of csvRows(file)) {
    out.set(r.question_id, {
      questionId: r.question_id,
      bundleId: r.bundle_id,
      correctAnswer: r.correct_answer,
      part: r.part,
      tags: r.tags ? r.tags.split(';').filter((t) => t && t !== '-1') : [],
    });
  }
  return out;
}

function lectureParts(dir: string): Map<string, string> {
  const file = path.join(dir, 'contents', 'lectures.csv');
  if (!fs.existsSync(file)) return new Map();
  return new Map(csvRows(file).map((r) => [r.lecture_id, r.part]));
}

function userFiles(dir: string): string[] {
  return fs.existsSync(dir)
    ? fs
        .readdirSync(dir)
        .filter((f) => /^u\d+\.csv$/.test(f))
        .sort((a, b) => Number(a.slice(1, -4)) - Number(b.slice(1, -4)))
    : [];
}

interface Ctx {
  prefix: string;
  questions: Map<string, EdnetQuestion>;
  events: KindedEvent[];
  skipped: Record<string, number>;
  touched: Set<string>;
  attempts: Map<string, number>;
}

function attemptNo(ctx: Ctx, userId: string, itemId: string): number {
  const k = `${userId}/${itemId}`;
  const n = (ctx.attempts.get(k) ?? 0) + 1;
  ctx.attempts.set(k, n);
  return n;
}

function quiz(ctx: Ctx, userId: string, questionId: string, answer: string, at: number, responseTimeMs: number, source: string): void {
  const q = ctx.questions.get(questionId);
  if (!q) {
    bump(ctx.skipped, 'unknown-question');
    return;
  }
  ctx.touched.add(q.bundleId);
  const attempt = attemptNo(ctx, userId, questionId);
  ctx.events.push({
    kind: 'quizAttempt',
    event: {
      eventId: `ednet-${source}-${userId}-${questionId}-${at}-${attempt}`,
      userId: `${ctx.prefix}${userId}`,
      itemId: `${ctx.prefix}${questionId}`,
      resourceId: `${ctx.prefix}${q.bundleId}`,
      skills: q.tags.slice(0, 32),
      correct: answer === q.correctAnswer,
      score: null,
      attempt,
      responseTimeMs: clampMs(responseTimeMs),
      occurredAt: at,
    },
  });
}

function interaction(ctx: Ctx, userId: string, itemId: string, type: InteractionType, at: number, dwellMs: number, device: string): void {
  ctx.touched.add(itemId);
  const e: LearningInteraction = {
    eventId: `ednet-kt4-${userId}-${at}-${type}-${itemId}`,
    userId: `${ctx.prefix}${userId}`,
    resourceId: `${ctx.prefix}${itemId}`,
    type,
    value: null,
    dwellMs: clampMs(dwellMs),
    occurredAt: at,
    context: { platform: 'ednet', device: device || null, session: null },
    review: false,
    recommId: null,
  };
  ctx.events.push({ kind: 'interaction', event: e });
}

function readKt4User(ctx: Ctx, userId: string, file: string): void {
  let enteredItem = '';
  let enteredAt = 0;
  // question id -> latest choice and its time, for the bundle currently open
  let pending = new Map<string, { answer: string; at: number }>();
  const flush = (submitAt: number | null) => {
    for (const [qid, p] of pending) quiz(ctx, userId, qid, p.answer, submitAt ?? p.at, (submitAt ?? p.at) - enteredAt, 'kt4');
    pending = new Map();
  };
  for (const r of csvRows(file)) {
    const at = Number(r.timestamp);
    if (!Number.isFinite(at)) {
      bump(ctx.skipped, 'bad-timestamp');
      continue;
    }
    switch (r.action_type) {
      case 'enter':
        flush(null);
        enteredItem = r.item_id;
        enteredAt = at;
        if (/^[bl]\d+$/.test(r.item_id)) interaction(ctx, userId, r.item_id, 'start', at, 0, r.platform);
        break;
      case 'quit':
        if (/^[bl]\d+$/.test(r.item_id))
          interaction(ctx, userId, r.item_id, 'complete', at, r.item_id === enteredItem ? at - enteredAt : 0, r.platform);
        break;
      case 'play_video':
      case 'play_audio':
        if (/^[bl]\d+$/.test(r.item_id)) interaction(ctx, userId, r.item_id, 'click', at, 0, r.platform);
        break;
      case 'respond':
        if (r.user_answer) pending.set(r.item_id, { answer: r.user_answer, at });
        break;
      case 'submit':
        flush(at);
        break;
      default:
        bump(ctx.skipped, `unmapped-action:${r.action_type}`);
    }
  }
  flush(null);
}

function readKt1User(ctx: Ctx, userId: string, file: string): void {
  for (const r of csvRows(file)) {
    const at = Number(r.timestamp);
    if (!Number.isFinite(at)) {
      bump(ctx.skipped, 'bad-timestamp');
      continue;
    }
    quiz(ctx, userId, r.question_id, r.user_answer, at, Number(r.elapsed_time) || 0, 'kt1');
  }
}

export function readEdnet(dir: string, opts: ReadOptions = {}): Dataset {
  const ctx: Ctx = {
    prefix: opts.idPrefix ?? '',
    questions: readEdnetQuestions(dir),
    events: [],
    skipped: {},
    touched: new Set(),
    attempts: new Map(),
  };
  const kt4 = userFiles(path.join(dir, 'KT4'));
  const kt4Users = new Set(kt4.map((f) => f.slice(0, -4)));
  for (const f of kt4) readKt4User(ctx, f.slice(0, -4), path.join(dir, 'KT4', f));
  for (const f of userFiles(path.join(dir, 'KT1'))) {
    const user = f.slice(0, -4);
    if (kt4Users.has(user)) bump(ctx.skipped, 'kt1-user-also-in-kt4');
    else readKt1User(ctx, user, path.join(dir, 'KT1', f));
  }
  if (kt4.length === 0 && ctx.events.length === 0) throw new PrerequisiteError(`no EdNet KT1/KT4 user logs under ${dir}`);
  const bundleParts = new Map<string, string>();
  const bundleTags = new Map<string, Set<string>>();
  for (const q of ctx.questions.values()) {
    if (!bundleParts.has(q.bundleId)) bundleParts.set(q.bundleId, q.part);
    const tags = bundleTags.get(q.bundleId) ?? new Set<string>();
    q.tags.forEach((t) => tags.add(t));
    bundleTags.set(q.bundleId, tags);
  }
  const lectures = lectureParts(dir);
  const resources: Resource[] = [...ctx.touched].sort().map((id) => {
    const lecture = id.startsWith('l');
    const part = (lecture ? lectures.get(id) : bundleParts.get(id)) ?? '?';
    return {
      resourceId: `${ctx.prefix}${id}`,
      title: `TOEIC part ${part} ${lecture ? 'lecture' : 'question bundle'} ${id}`,
      description: '',
      type: lecture ? 'lecture' : 'exercise',
      topics: [`toeic-part-${part}`],
      skills: lecture ? [] : [...(bundleTags.get(id) ?? [])].slice(0, 64),
      difficulty: null,
      durationMin: null,
      language: 'en',
      prerequisites: [],
      instructor: null,
      publishedAt: null,
      active: true,
    };
  });
  return {
    name: 'ednet',
    resources,
    events: timeOrdered(ctx.events, opts.limit),
    skipped: ctx.skipped,
    notes: [
      'KT4: enter->start, quit->complete (dwell), play->click, submit->quiz attempts per answered question; KT1 only for users without KT4',
      'EdNet has no resource titles or text: resources are id + TOEIC part only',
    ],
  };
}
