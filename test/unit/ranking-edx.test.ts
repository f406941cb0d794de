/**
 * @jest-environment ./test/helpers/ort-environment.js
 */
/**
 * The product ranker on real course texts embedded by the real encoder: a learner interested in machine learning who
 * just finished an introductory Python course. Checks the behaviour a person would look at: interest-matched courses
 * on top with the interest named, the finished course absent, a course whose prerequisite is unmet pushed down, and
 * MMR spreading the list over more subjects than plain relevance order. Skips when the model or dataset is missing.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { OnnxSentenceEncoder } from '../../lib/encoder/onnx-encoder';
import { readEdxCourses, type EdxCourse } from '../../producers/datasets/edx';
import { resourceText } from '../../models/content/text';
import { rank, type Candidate } from '../../models/ranking';
import { encoderDirOrReason } from '../helpers/encoder';

const EDX = path.join(__dirname, '..', '..', '..', 'shared', 'datasets', 'edx-courses-metadata', 'edx_courses.csv');
const model = encoderDirOrReason();
const skipReason = 'reason' in model ? model.reason : !fs.existsSync(EDX) ? `dataset absent: ${EDX}` : '';
if (skipReason) console.warn(`ranking-edx test skipped: ${skipReason}`);
const suite = skipReason ? describe.skip : describe;

suite('rank() on edx courses with real embeddings', () => {
  let encoder: OnnxSentenceEncoder;
  let courses: EdxCourse[];
  let candidates: Candidate[];
  let interest: Float32Array;
  let intro: Candidate;

  beforeAll(async () => {
    encoder = await OnnxSentenceEncoder.load((model as { dir: string }).dir);
    // a manageable, deterministic slice: the first 25 courses of four subjects
    const subjects = ['Computer Science', 'Data Analysis & Statistics', 'Humanities', 'Business & Management'];
    courses = subjects.flatMap((s) =>
      readEdxCourses(EDX)
        .filter((c) => c.subject === s)
        .slice(0, 25),
    );
    const vecs = await encoder.encode(courses.map((c) => resourceText({ title: c.title, description: c.summary, topics: [c.subject] })));
    candidates = courses.map((c, i) => ({ resourceId: `c${i}`, title: c.title, content: vecs[i], topics: [c.subject], popularity: 1 }));
    [interest] = await encoder.encode(['machine learning']);
    intro = candidates.find((c) => /Python/i.test(c.title!))!;
  }, 120_000); // 100 texts through the real model on a shared 2-core machine
  afterAll(async () => encoder?.close());

  it('puts interest-matched courses first with the interest named, never the completed course', () => {
    const { items } = rank(
      {
        candidates,
        learner: {
          userId: 'u',
          completed: new Set([intro.resourceId]),
          interests: [{ label: 'machine learning', vector: interest }],
          recent: [{ resourceId: intro.resourceId, title: intro.title, vector: intro.content }],
        },
      },
      { topN: 10 },
    );
    const titles = items.map((i) => candidates.find((c) => c.resourceId === i.resourceId)!.title!);
    console.log(
      `top 10 for "machine learning" after "${intro.title}":\n  ${items.map((it, j) => `${titles[j]}  [${it.reasons.map((r) => r.code).join(', ')}]`).join('\n  ')}`,
    );
    expect(items.map((i) => i.resourceId)).not.toContain(intro.resourceId);
    const top3 = titles.slice(0, 3).join(' | ');
    expect(top3).toMatch(/machine learning|data science|artificial intelligence|AI|statistic|data/i);
    expect(items[0].reasons.some((r) => r.code === 'matches-interest' && r.ref === 'machine learning')).toBe(true);
    for (const it of items) expect(it.reasons.length).toBeGreaterThan(0);
  });

  it('demotes a course whose prerequisite is unmet, and MMR covers more subjects than relevance order', () => {
    const learner = { userId: 'u', completed: new Set<string>(), interests: [{ label: 'machine learning', vector: interest }] };
    const plain = rank({ candidates, learner }, { topN: 10, mmrLambda: 1 }).items;
    const top = plain[0].resourceId;
    const gated = candidates.map((c) => (c.resourceId === top ? { ...c, prerequisites: ['some-unfinished-course'] } : c));
    const demoted = rank({ candidates: gated, learner }, { topN: 10, mmrLambda: 1 }).items.map((i) => i.resourceId);
    expect(demoted.indexOf(top)).not.toBe(0);
    const subjectsOf = (ids: string[]) => new Set(ids.map((id) => candidates.find((c) => c.resourceId === id)!.topics![0])).size;
    const diverse = rank({ candidates, learner }, { topN: 10, mmrLambda: 0.5 }).items.map((i) => i.resourceId);
    expect(subjectsOf(diverse)).toBeGreaterThanOrEqual(subjectsOf(plain.map((i) => i.resourceId)));
    // diversity changes the list, but not its head
    expect(diverse[0]).toBe(plain[0].resourceId);
    expect(diverse).not.toEqual(plain.map((i) => i.resourceId));
  });
});
