/**
 * Statics2011 in the DKVMN 3-line sequence format → quiz attempts.
 * Each sequence (line 1 length, line 2 question ids, line 3 0/1 correctness) is one learner, in time order.
 * The format has NO timestamps and NO learner ids, so both are synthesized: learner `statics-<split>-<n>`, and answer k
 * of sequence s happens at 2011-09-01T00:00Z + k minutes + s seconds. That keeps each learner's order, interleaves
 * learners the way a live stream would, and makes every timestamp distinct; the absolute times mean nothing.
 * Skills come from STATICS_qid_sid_sname (one skill per question), titles from STATICS_qid_qname, when present.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { KindedEvent, QuizAttempt, Resource } from '../../schemas';
import { PrerequisiteError } from '../../lib/errors';
import { lines, timeOrdered, type Dataset, type ReadOptions } from './types';

export const STATICS_EPOCH_MS = Date.UTC(2011, 8, 1);

/** One learner's sequence: question ids (1-based, as in the file) and 0/1 correctness, same length. */
export interface KtSequence {
  questions: number[];
  correct: number[];
}

export type StaticsSplit = 'train' | 'test';

/** Parses a 3-line-per-sequence file (DKVMN/DKT format). Tolerates trailing commas and blank lines. */
export function parseKtSequences(text: string): KtSequence[] {
  const rows = lines(text).map((l) => l.trim());
  const out: KtSequence[] = [];
  const nums = (l: string) =>
    l
      .split(',')
      .filter((x) => x !== '')
      .map(Number);
  let i = 0;
  while (i < rows.length) {
    if (rows[i] === '') {
      i++;
      continue;
    }
    const n = Number(rows[i]);
    const questions = nums(rows[i + 1] ?? '');
    const correct = nums(rows[i + 2] ?? '');
    if (!Number.isInteger(n) || questions.length !== correct.length) throw new Error(`malformed sequence at line ${i + 1}`);
    out.push({ questions, correct });
    i += 3;
  }
  return out;
}

function statFile(dir: string, split: StaticsSplit): string {
  const p = path.join(dir, `STATICS_${split}.csv`);
  if (!fs.existsSync(p)) throw new PrerequisiteError(`Statics file missing: ${p}`);
  return p;
}

export function readStaticsSequences(dir: string, split: StaticsSplit): KtSequence[] {
  return parseKtSequences(fs.readFileSync(statFile(dir, split), 'utf8'));
}

function tsv(file: string): string[][] {
  if (!fs.existsSync(file)) return [];
  return lines(fs.readFileSync(file, 'utf8'))
    .slice(1)
    .filter(Boolean)
    .map((l) => l.split('\t'));
}

/** question id -> skill id (as a string); empty when the map file is absent. */
export function readStaticsSkills(dir: string): Map<number, string> {
  return new Map(tsv(path.join(dir, 'STATICS_qid_sid_sname')).map(([q, s]) => [Number(q), s]));
}

export interface StaticsOptions extends ReadOptions {
  /** Which splits to read, in this order. Default ['train', 'test']. */
  splits?: readonly StaticsSplit[];
}

export function readStatics(dir: string, opts: StaticsOptions = {}): Dataset {
  const prefix = opts.idPrefix ?? '';
  const skills = readStaticsSkills(dir);
  const names = new Map(tsv(path.join(dir, 'STATICS_qid_qname')).map(([q, n]) => [Number(q), n]));
  const skillNames = new Map(tsv(path.join(dir, 'STATICS_qid_sid_sname')).map(([, s, n]) => [s, n]));
  const events: KindedEvent[] = [];
  const seenQuestions = new Set<number>();
  let seqIndex = 0;
  for (const split of opts.splits ?? (['train', 'test'] as const)) {
    readStaticsSequences(dir, split).forEach((seq, n) => {
      const userId = `${prefix}statics-${split}-${n}`;
      const attempts = new Map<number, number>();
      seq.questions.forEach((q, k) => {
        const attempt = (attempts.get(q) ?? 0) + 1;
        attempts.set(q, attempt);
        seenQuestions.add(q);
        const skill = skills.get(q);
        const event: QuizAttempt = {
          eventId: `statics-${split}-${n}-${k}`,
          userId,
          itemId: `${prefix}q${q}`,
          resourceId: null,
          skills: skill !== undefined ? [`${prefix}skill${skill}`] : [],
          correct: seq.correct[k] === 1,
          score: null,
          attempt,
          responseTimeMs: 0,
          occurredAt: STATICS_EPOCH_MS + k * 60_000 + seqIndex * 1000,
        };
        events.push({ kind: 'quizAttempt', event });
      });
      seqIndex++;
    });
  }
  const resources: Resource[] = [...seenQuestions]
    .sort((a, b) => a - b)
    .map((q) => {
      const skill = skills.get(q);
      const skillName = skill !== undefined ? skillNames.get(skill) : undefined;
      return {
        resourceId: `${prefix}q${q}`,
        title: (names.get(q) ?? `Statics question ${q}`).slice(0, 512),
        description: skillName ? `Engineering statics step exercising ${skillName.replace(/_/g, ' ')}.` : 'Engineering statics step.',
        type: 'exercise',
        topics: ['engineering statics'],
        skills: skill !== undefined ? [`${prefix}skill${skill}`] : [],
        difficulty: null,
        durationMin: null,
        language: 'en',
        prerequisites: [],
        instructor: 'OLI Engineering Statics',
        publishedAt: null,
        active: true,
      };
    });
  return {
    name: 'statics',
    resources,
    events: timeOrdered(events, opts.limit),
    skipped: {},
    notes: [
      'Statics has no timestamps or learner ids: learners are the sequences, timestamps are SYNTHETIC (2011-09-01 + k min + sequence s)',
    ],
  };
}
