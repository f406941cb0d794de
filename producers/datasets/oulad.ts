/**
 * OULAD (Open University Learning Analytics Dataset) → events.
 *  - courses.csv (module presentations) → Resource type `course`, id `<module>-<presentation>`.
 *  - assessments.csv → Resource: CMA (computer-marked) → `quiz`, TMA (tutor-marked) → `assessment`, Exam → `assessment`.
 *  - studentAssessment.csv joined with assessments.csv → QuizAttempt with score = score/100 and correct = score >= 40
 *    (the OU pass mark). Only CMAs by default (the issue: computer-marked assessments are the quizzes).
 * Time: OULAD has no wall clock. A presentation `2013J` starts in October 2013, `2014B` in February 2014 (the OU's
 * codes); occurredAt = presentation start + date_submitted days, so same-day submissions tie and keep file order.
 * Banked results (is_banked=1: a result carried over from an earlier presentation, not a new attempt) and rows
 * without a score are skipped and counted.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { KindedEvent, QuizAttempt, Resource } from '../../schemas';
import { PrerequisiteError } from '../../lib/errors';
import { parseCsvObjects } from './csv';
import { bump, lines, timeOrdered, type Dataset, type ReadOptions } from './types';

const DAY_MS = 86_400_000;
export const OULAD_PASS_MARK = 40;

export type AssessmentType = 'CMA' | 'TMA' | 'Exam';

export interface OuladAssessment {
  id: string;
  module: string;
  presentation: string;
  type: AssessmentType;
  /** Due day relative to presentation start; null when unknown (most exams). */
  dueDay: number | null;
  weight: number;
}

/** A plain assessment-result row for evaluation code. */
export interface OuladResult {
  studentId: string;
  assessmentId: string;
  type: AssessmentType;
  module: string;
  /** 0..100. */
  score: number;
  timestampMs: number;
}

/** `2013J` → 1 Oct 2013, `2014B` → 1 Feb 2014 (UTC). */
export function presentationStart(code: string): number {
  const m = /^(\d{4})([BJ])$/.exec(code);
  if (!m) throw new Error(`unknown OULAD presentation code ${code}`);
  return Date.UTC(Number(m[1]), m[2] === 'B' ? 1 : 9, 1);
}

function need(dir: string, file: string): string {
  const p = path.join(dir, file);
  if (!fs.existsSync(p)) throw new PrerequisiteError(`OULAD file missing: ${p}`);
  return p;
}

export function readOuladAssessments(dir: string): OuladAssessment[] {
  return parseCsvObjects(fs.readFileSync(need(dir, 'assessments.csv'), 'utf8')).map((r) => ({
    id: r.id_assessment,
    module: r.code_module,
    presentation: r.code_presentation,
    type: r.assessment_type as AssessmentType,
    dueDay: r.date === '' || r.date === '?' ? null : Number(r.date),
    weight: Number(r.weight) || 0,
  }));
}

/** Every scored, non-banked submission joined with its assessment, in file order. `types` default: all. */
export function readOuladResults(
  dir: string,
  types: readonly AssessmentType[] = ['CMA', 'TMA', 'Exam'],
  skipped: Record<string, number> = {},
): OuladResult[] {
  const byId = new Map(readOuladAssessments(dir).map((a) => [a.id, a]));
  const want = new Set(types);
  const rows = lines(fs.readFileSync(need(dir, 'studentAssessment.csv'), 'utf8'));
  const out: OuladResult[] = [];
  // The file is unquoted CSV with a header (id_assessment,id_student,date_submitted,is_banked,score); 174k rows, so a
  // plain split is worth it. Quotes are stripped in case the OU's original quoted variant is used.
  for (let i = 1; i < rows.length; i++) {
    const f = rows[i].replace(/"/g, '').split(',');
    if (f.length < 5) continue;
    const a = byId.get(f[0]);
    if (!a) {
      bump(skipped, 'unknown-assessment');
      continue;
    }
    if (!want.has(a.type)) continue;
    if (f[3] === '1') {
      bump(skipped, 'banked');
      continue;
    }
    if (f[4] === '' || f[4] === '?') {
      bump(skipped, 'missing-score');
      continue;
    }
    const score = Number(f[4]);
    const day = Number(f[2]);
    if (!Number.isFinite(score) || !Number.isFinite(day)) {
      bump(skipped, 'unparsable');
      continue;
    }
    out.push({
      studentId: f[1],
      assessmentId: a.id,
      type: a.type,
      module: a.module,
      score,
      timestampMs: presentationStart(a.presentation) + day * DAY_MS,
    });
  }
  return out;
}

function assessmentResource(a: OuladAssessment, prefix: string): Resource {
  const kind = a.type === 'CMA' ? 'computer-marked assessment' : a.type === 'TMA' ? 'tutor-marked assessment' : 'final exam';
  return {
    resourceId: `${prefix}${a.id}`,
    title: `${a.module} ${a.presentation} ${kind} ${a.id}`,
    description: `Open University module ${a.module}, presentation ${a.presentation}: ${kind}${a.dueDay !== null ? ` due on day ${a.dueDay}` : ''}, weight ${a.weight}%.`,
    type: a.type === 'CMA' ? 'quiz' : 'assessment',
    topics: [a.module],
    skills: [a.module],
    difficulty: null,
    durationMin: null,
    language: 'en',
    prerequisites: [],
    instructor: 'The Open University',
    publishedAt: presentationStart(a.presentation),
    active: true,
  };
}

function courseResources(dir: string, prefix: string): Resource[] {
  return parseCsvObjects(fs.readFileSync(need(dir, 'courses.csv'), 'utf8')).map((r) => ({
    resourceId: `${prefix}${r.code_module}-${r.code_presentation}`,
    title: `Open University module ${r.code_module} (${r.code_presentation})`,
    description: `Module presentation ${r.code_presentation} of ${r.code_module}, ${r.module_presentation_length} days long.`,
    type: 'course' as const,
    topics: [r.code_module],
    skills: [r.code_module],
    difficulty: null,
    durationMin: null,
    language: 'en',
    prerequisites: [],
    instructor: 'The Open University',
    publishedAt: presentationStart(r.code_presentation),
    active: true,
  }));
}

export function resultToQuizAttempt(r: OuladResult, attempt: number, prefix = ''): QuizAttempt {
  return {
    eventId: `oulad-${r.studentId}-${r.assessmentId}-${attempt}`,
    userId: `${prefix}${r.studentId}`,
    itemId: `${prefix}${r.assessmentId}`,
    resourceId: `${prefix}${r.assessmentId}`,
    skills: [r.module],
    correct: r.score >= OULAD_PASS_MARK,
    score: Math.max(0, Math.min(1, r.score / 100)),
    attempt,
    responseTimeMs: 0,
    occurredAt: r.timestampMs,
  };
}

export interface OuladOptions extends ReadOptions {
  /** Assessment types that become quiz attempts. Default ['CMA']. */
  types?: readonly AssessmentType[];
}

export function readOulad(dir: string, opts: OuladOptions = {}): Dataset {
  const prefix = opts.idPrefix ?? '';
  const skipped: Record<string, number> = {};
  const attempts = new Map<string, number>();
  const events: KindedEvent[] = [];
  const results = readOuladResults(dir, opts.types ?? ['CMA'], skipped);
  for (const r of results) {
    const k = `${r.studentId}/${r.assessmentId}`;
    const n = (attempts.get(k) ?? 0) + 1;
    attempts.set(k, n);
    events.push({ kind: 'quizAttempt', event: resultToQuizAttempt(r, n, prefix) });
  }
  return {
    name: 'oulad',
    resources: [...courseResources(dir, prefix), ...readOuladAssessments(dir).map((a) => assessmentResource(a, prefix))],
    events: timeOrdered(events, opts.limit),
    skipped,
    notes: [
      `assessment submissions (${(opts.types ?? ['CMA']).join(', ')}) -> quiz attempts, score/100, correct = score >= ${OULAD_PASS_MARK}`,
      'timestamps = presentation start (B: 1 Feb, J: 1 Oct) + date_submitted days: day resolution only, no wall clock in OULAD',
    ],
  };
}
