/**
 * Every configuration key is read somewhere: a key in the schema (and config.example.jsonc) that no code reads is a
 * promise the product does not keep (model.targetSuccess once was one: the ranker's own default always won).
 * Static check: each leaf key of the defaults must appear as a property read (`.key`, a shorthand destructuring
 * `{ key }` or `['key']`; an object literal `{ key: 0.75 }` is a write, not a read) in a source file outside
 * lib/config/, models/ (the pure core takes options, never the Config) and the tests. Objects read whole are listed
 * in READ_WHOLE with their reader (none today).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { loadConfig } from '../../lib/config';
import { DEFAULT_LEARNER_TUNING } from '../../pipelines/learner/processor';
import { learnerStageSettings } from '../../pipelines/pipeline';

const ROOT = path.resolve(__dirname, '../..');
/** Keys whose whole object (or array) is handed on as it is, and who reads it. */
const READ_WHOLE: Record<string, string> = {};

function leafPaths(v: unknown, prefix = ''): string[] {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return [prefix];
  const entries = Object.entries(v as Record<string, unknown>);
  if (entries.length === 0) return [prefix];
  return entries.flatMap(([k, x]) => leafPaths(x, prefix ? `${prefix}.${k}` : k));
}

const sources = execFileSync('git', ['ls-files', '*.ts'], { cwd: ROOT, encoding: 'utf8' })
  .split('\n')
  .filter(
    (f) =>
      f &&
      !f.startsWith('lib/config/') &&
      !f.startsWith('models/') &&
      !f.startsWith('test/') &&
      !f.endsWith('.test.ts') &&
      fs.existsSync(path.join(ROOT, f)),
  )
  .map((f) => fs.readFileSync(path.join(ROOT, f), 'utf8'))
  .join('\n');

it('reads every configuration key somewhere outside lib/config and models', () => {
  const keys = leafPaths(loadConfig({ env: {} }));
  expect(keys.length).toBeGreaterThan(30);
  const unread = keys.filter((k) => {
    if (Object.keys(READ_WHOLE).some((w) => k === w || k.startsWith(w + '.'))) return false;
    const leaf = k.split('.').pop()!;
    return !new RegExp(`(\\.${leaf}\\b|[{,]\\s*${leaf}\\s*[,}]|\\['${leaf}'\\])`).test(sources);
  });
  expect(unread).toEqual([]);
});

it("the learner stage tunables: config defaults equal the processor's own defaults, and every one reaches the stage", () => {
  const config = loadConfig({ env: {} });
  expect(learnerStageSettings(config).tuning).toEqual(DEFAULT_LEARNER_TUNING);
  const p = config.pipeline as unknown as Record<string, unknown>;
  for (const k of Object.keys(DEFAULT_LEARNER_TUNING))
    expect([k, p[k]]).toEqual([k, DEFAULT_LEARNER_TUNING[k as keyof typeof DEFAULT_LEARNER_TUNING]]);
});
