/**
 * Reader for the DKVMN knowledge-tracing sequence format (Zhang et al. 2017), as distributed for Statics2011:
 * three lines per learner sequence — length, comma list of 1-based question ids, comma list of 0/1 correctness —
 * in time order, no learner ids and no timestamps. Each sequence becomes one learner (`<prefix><index>`).
 * Written by the knowledge-model engineer (issue 4) because the eval needed it before the other readers existed.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ValidationError } from '../errors';
import type { QuizAttempt } from '../../models/knowledge/types';

export interface DkvmnParseOptions {
  /** Learner ids are `${userPrefix}${sequenceIndex}`. Default 'learner-'. */
  userPrefix?: string;
  /** Skills of a question id (the dataset's Q-matrix); default none. */
  skillsOf?: (questionId: string) => readonly string[];
  /** Stop after this many attempts (for quick runs and test slices). Default all. */
  limit?: number;
}

/** Parses DKVMN 3-line text into attempts, sequence after sequence (each sequence in its own time order). */
export function parseDkvmnSequences(text: string, opts: DkvmnParseOptions = {}): QuizAttempt[] {
  const prefix = opts.userPrefix ?? 'learner-';
  const limit = opts.limit ?? Infinity;
  const lines = text.split(/\r?\n/);
  const out: QuizAttempt[] = [];
  let seq = 0;
  for (let i = 0; i + 2 < lines.length && out.length < limit; i += 3) {
    if (lines[i].trim() === '') {
      i -= 2; // tolerate blank lines between blocks
      continue;
    }
    const length = Number(lines[i].trim());
    const questions = splitList(lines[i + 1]);
    const answers = splitList(lines[i + 2]);
    if (!Number.isInteger(length) || questions.length !== length || answers.length !== length) {
      throw new ValidationError(`DKVMN block at line ${i + 1}: length ${lines[i]} but ${questions.length} questions / ${answers.length} answers`);
    }
    const userId = `${prefix}${seq++}`;
    for (let k = 0; k < length && out.length < limit; k++) {
      const correct = Number(answers[k]);
      if (correct !== 0 && correct !== 1) throw new ValidationError(`DKVMN block at line ${i + 3}: correctness ${answers[k]}`);
      out.push({ userId, itemId: questions[k], skills: opts.skillsOf?.(questions[k]) ?? [], correct });
    }
  }
  return out;
}

/** Parses a `qid<TAB>skillid<TAB>name` table (STATICS_qid_sid_sname) into question id -> [skill id]. */
export function parseQuestionSkills(text: string): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const line of text.split(/\r?\n/).slice(1)) {
    const [qid, sid] = line.split('\t');
    if (qid && sid) map.set(qid.trim(), [sid.trim()]);
  }
  return map;
}

export interface StaticsDataset {
  train: QuizAttempt[];
  test: QuizAttempt[];
}

/**
 * Reads Statics2011 in DKVMN layout from `dir` (STATICS_train.csv, STATICS_test.csv, optional STATICS_qid_sid_sname
 * for skills). Train learners are `train-N`, test learners `test-N`: the split is by learner.
 */
export function readStaticsDkvmn(dir: string, opts: { limit?: number } = {}): StaticsDataset {
  const file = (name: string): string => join(dir, name);
  const skillFile = file('STATICS_qid_sid_sname');
  const skillMap = existsSync(skillFile) ? parseQuestionSkills(readFileSync(skillFile, 'utf8')) : undefined;
  const skillsOf = skillMap ? (q: string): readonly string[] => skillMap.get(q) ?? [] : undefined;
  return {
    train: parseDkvmnSequences(readFileSync(file('STATICS_train.csv'), 'utf8'), { userPrefix: 'train-', skillsOf, limit: opts.limit }),
    test: parseDkvmnSequences(readFileSync(file('STATICS_test.csv'), 'utf8'), { userPrefix: 'test-', skillsOf, limit: opts.limit }),
  };
}

function splitList(line: string | undefined): string[] {
  return (line ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
}
