/**
 * The Junyi Academy exercise table (Junyi 2015 release; Chang, Hsu & Chen, EDM 2015) as catalogue `resource` events:
 * 837 exercises with prerequisite edges, topics, areas and Traditional Chinese titles. Everything Junyi-specific lives
 * here; the pipeline, the planner and the API see ordinary Resource events.
 *
 * Mapping: resourceId = the exercise slug (`name`, kept as is, spaces included: prerequisites refer to it); title =
 * `pretty_display_name` (Chinese); description = the slug in words, which is English ("solving quadratics by
 * factoring"), so the English content encoder has English text for every exercise; topics = [topic, area] ('N/A'
 * dropped); skills = [slug], because Junyi's problem log records attempts per exercise, so the exercise is the skill
 * the knowledge model tracks; prerequisites = the comma list; active = `live`; type exercise; language zh-Hant;
 * publishedAt = creation_date.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseCsvObjects } from '../datasets/csv';
import { PrerequisiteError } from '../../lib/errors';
import type { ResourceInput } from '../../schemas';

export const JUNYI_DEFAULT_DIR = '../shared/datasets/junyi-2015-exercise-table';
export const JUNYI_FILE = 'junyi_Exercise_table.csv';

export interface JunyiOptions {
  /** Prefix for every resource and skill id (tests use a random one so runs do not share ids). Default ''. */
  idPrefix?: string;
}

/** The exercise table file in `dir`, or a PrerequisiteError saying where it was looked for. */
export function junyiFile(dir: string): string {
  const p = path.join(dir, JUNYI_FILE);
  if (!fs.existsSync(p))
    throw new PrerequisiteError(
      `Junyi exercise table missing: ${p}`,
      'see /work/shared/datasets/junyi-2015-exercise-table/SOURCE.txt for where it comes from',
    );
  return p;
}

/**
 * Parses the table (UTF-8 with BOM) into Resource events, in file order. The 2015 file lists two retired exercises
 * twice (matrix_mul_two, matrix_app_fruit_oil): one event per id, the later row, as compaction would keep it (835
 * resources); repeated prerequisites within a row are listed once.
 */
export function parseJunyiExercises(text: string, opts: JunyiOptions = {}): ResourceInput[] {
  const pre = opts.idPrefix ?? '';
  const byId = new Map<string, ResourceInput>();
  for (const row of parseCsvObjects(text.replace(/^\uFEFF/, ''))) {
    const r = toResource(row, pre);
    byId.delete(r.resourceId);
    byId.set(r.resourceId, r);
  }
  return [...byId.values()];
}

function toResource(row: Record<string, string>, pre: string): ResourceInput {
  const name = row.name;
  const topics = [row.topic, row.area].filter((t) => t && t !== 'N/A');
  const created = Date.parse((row.creation_date ?? '').replace(' UTC', 'Z').replace(' ', 'T'));
  return {
    resourceId: pre + name,
    title: row.pretty_display_name || row.short_display_name || name,
    description: name.replace(/[_\s]+/g, ' ').trim(),
    type: 'exercise',
    topics,
    skills: [pre + name],
    prerequisites: [...new Set((row.prerequisites ?? '').split(',').filter((p) => p !== ''))].map((p) => pre + p),
    language: 'zh-Hant',
    publishedAt: Number.isFinite(created) ? created : null,
    active: row.live === 'TRUE',
  };
}

export function readJunyiExercises(dir: string, opts: JunyiOptions = {}): ResourceInput[] {
  return parseJunyiExercises(fs.readFileSync(junyiFile(dir), 'utf8'), opts);
}
