/**
 * `npm run eval -- --dataset edx-interests [--path ../shared/datasets/edx-courses-metadata] [--limit 20] [--items 10000] [--reps 15] [--json]`
 * (--limit: courses per subject; --items: rows of the synthetic catalogue of the cost part; --reps: alternating rounds)
 *
 * Cold learners from their profile interests, as the learner stage ranks them (pipelines/learner InterestIndex +
 * LearnerRanker, the real ONNX encoder):
 *  1. quality: edx courses embedded from title + summary only, with no catalogue topic at all (so a topic match is
 *     impossible); a learner with no event whose one interest is a subject name gets a top-10; precision@10 = share
 *     of those courses in that subject, against the same learner without an encoder (topic matching);
 *  2. cost: what embedding a profile's interests takes (per string, batched) and what content matching adds to one
 *     re-rank of a learner with history and 5 embedded interests on a `--rows` synthetic catalogue (topN 100, pool
 *     300 + extras), against the same re-rank matching by topic.
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { loadConfig } from '../../lib/config';
import { readEdxCourses } from '../../producers/datasets/edx';
import { OnnxSentenceEncoder, resolveEncoderDir } from '../../lib/encoder';
import { createLogger } from '../../lib/log';
import { noopEmitter } from '../../lib/metrics/instrumentation';
import { resourceText } from '../../models/content/text';
import { normalizeInPlace } from '../../models/content/vector';
import { mulberry32 } from '../../models/random/prng';
import { CandidateGenerator } from '../../pipelines/learner/candidates';
import { InterestIndex } from '../../pipelines/learner/interests';
import { LearnerRanker } from '../../pipelines/learner/rank';
import type { Learner } from '../../pipelines/learner/state';
import { ContentTable } from '../../pipelines/model/content-table';
import { ItemTable } from '../../pipelines/model/item-table';
import type { EvalArgs, EvalReport } from './types';

const SUBJECTS = [
  'Computer Science',
  'Biology & Life Sciences',
  'History',
  'Economics & Finance',
  'Language',
  'Physics',
  'Medicine',
  'Math',
];
const logger = createLogger({ level: 'error' });
const learner = (interests: string[], interactions = 0, history: string[] = []): Learner => ({
  cf: { vector: new Float32Array(32), bias: 0, count: interactions, lastT: Number.NaN },
  interactions,
  quizzes: 0,
  history,
  interests,
  completed: [],
  lastEventAt: 1,
});

export async function evalInterests(args: EvalArgs): Promise<EvalReport> {
  const started = performance.now();
  const cpu0 = process.cpuUsage();
  const dir = args.path ?? path.join(__dirname, '..', '..', '..', 'shared', 'datasets', 'edx-courses-metadata');
  const file = path.join(dir, 'edx_courses.csv');
  if (!existsSync(file)) throw new Error(`edx-interests needs ${file} (edx-courses-metadata); pass --path <folder>`);
  const perSubject = args.limit ?? 20;
  const rows = args.items ?? 10000;
  const courses = readEdxCourses(file);
  const picked = SUBJECTS.flatMap((s) => courses.filter((c) => c.subject === s).slice(0, perSubject));
  const encoder = await OnnxSentenceEncoder.load(resolveEncoderDir(loadConfig()));
  try {
    // 1. quality
    const vectors = await encoder.embed(picked.map((c) => resourceText({ title: c.title, description: c.summary })));
    const table = new ItemTable(32);
    const content = new ContentTable();
    picked.forEach((c, i) => {
      const id = `edx-${i}`;
      table.set({
        itemId: id,
        factors: new Float32Array(32),
        bias: 0,
        count: 0,
        lastT: Number.NaN,
        active: true,
        meta: { title: c.title, type: 'course' },
      });
      content.set(id, vectors[i]);
    });
    const subjectOf = new Map(picked.map((c, i) => [`edx-${i}`, c.subject]));
    const ix = new InterestIndex({ embed: encoder.embed, content, logger, emit: noopEmitter });
    const t0 = performance.now();
    await ix.ensure(SUBJECTS.map((s) => s.toLowerCase()));
    const embedMs = (performance.now() - t0) / SUBJECTS.length;
    const gen = new CandidateGenerator({ dim: 32, logger, kernel: 'js' });
    const precision = (withContent: boolean) => {
      const ranker = new LearnerRanker({ topN: 10 }, withContent ? ix : undefined);
      return SUBJECTS.map((s) => {
        const l = learner([s.toLowerCase()]);
        const [top] = gen.generateSync(table, [l.cf.vector], (_j, row) => ranker.mask(l, table, row), ranker.k);
        const items = ranker.rank('u', l, table, undefined, top, 0);
        return items.filter((it) => subjectOf.get(it.resourceId) === s).length / 10;
      });
    };
    const byContent = precision(true);
    const byTopic = precision(false);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

    // 2. cost of content matching in one warm re-rank
    const rng = mulberry32(5);
    const big = new ItemTable(32);
    const bigContent = new ContentTable();
    const topics = ['algebra', 'history', 'biology', 'music', 'physics'];
    for (let i = 0; i < rows; i++) {
      big.set({
        itemId: `s${i}`,
        factors: Float32Array.from({ length: 32 }, () => rng() - 0.5),
        bias: 0,
        count: 1 + (i % 50),
        lastT: 0,
        active: true,
        meta: { topics: [topics[i % 5]], type: 'video' },
      });
      bigContent.set(`s${i}`, normalizeInPlace(Float32Array.from({ length: 384 }, () => rng() - 0.5)));
    }
    const bigIx = new InterestIndex({ embed: encoder.embed, content: bigContent, logger, emit: noopEmitter });
    const interests = ['machine learning', 'ancient history', 'baking bread', 'jazz piano', 'algebra'];
    await bigIx.ensure(interests);
    const warm = learner(interests, 20, ['s1', 's2', 's3']);
    warm.cf.vector = Float32Array.from({ length: 32 }, () => rng() - 0.5);
    const time = (ranker: LearnerRanker, n: number) => {
      const [top] = gen.generateSync(big, [warm.cf.vector], (_j, row) => ranker.mask(warm, big, row), ranker.k);
      for (let r = 0; r < 20; r++) ranker.rank('u', warm, big, undefined, top, 0); // warm-up, fills the cosine rows
      const s = performance.now();
      for (let r = 0; r < n; r++) ranker.rank('u', warm, big, undefined, top, r);
      return (performance.now() - s) / n;
    };
    // Alternating rounds, median of each: on a shared machine the load moves more between two runs than the
    // difference being measured.
    const rounds = args.reps ?? 15;
    const topicRuns: number[] = [];
    const contentRuns: number[] = [];
    const matchOnlyRuns: number[] = [];
    const topicRanker = new LearnerRanker({ topN: 100 });
    const contentRanker = new LearnerRanker({ topN: 100 }, bigIx);
    const matchOnlyRanker = new LearnerRanker({ topN: 100, interestNeighbours: 0 }, bigIx);
    for (let r = 0; r < rounds; r++) {
      topicRuns.push(time(topicRanker, 100));
      contentRuns.push(time(contentRanker, 100));
      matchOnlyRuns.push(time(matchOnlyRanker, 100));
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
    const topicMs = median(topicRuns);
    const contentMs = median(contentRuns);
    const matchOnlyMs = median(matchOnlyRuns);
    const t1 = performance.now();
    await bigIx.ensure(['a sixth interest never scored']);
    const t2 = performance.now();
    bigIx.cosines('a sixth interest never scored');
    const scoreRowMs = performance.now() - t2;

    const report = {
      quality: {
        courses: picked.length,
        subjects: SUBJECTS.length,
        precisionAt10: { content: mean(byContent), topic: mean(byTopic) },
        perSubject: Object.fromEntries(SUBJECTS.map((s, i) => [s, byContent[i]])),
      },
      cost: {
        embedMsPerInterest: embedMs,
        embedOneMs: t2 - t1,
        cosineRowMs: scoreRowMs,
        rows,
        rerankMsMedian: { topic: topicMs, content: contentMs, contentWithoutNeighbourSource: matchOnlyMs },
        rounds,
      },
    };
    const cpu = process.cpuUsage(cpu0);
    return {
      dataset: args.dataset,
      source: file,
      results: report,
      figures: [],
      totalSeconds: (performance.now() - started) / 1000,
      totalCpuSeconds: (cpu.user + cpu.system) / 1e6,
      tables: [
        {
          title: `cold learner, one interest = a subject name: precision@10 over ${picked.length} edx courses (${perSubject} per subject; title + summary, no catalogue topics)`,
          columns: ['subject', 'by content', 'by topic (no encoder)'],
          rows: [
            ...SUBJECTS.map((s, i) => [s, byContent[i].toFixed(1), byTopic[i].toFixed(1)]),
            ['mean', mean(byContent).toFixed(3), mean(byTopic).toFixed(3)],
          ],
        },
        {
          title: `cost: warm re-rank (5 interests, ${rows} rows, topN 100), median ms of ${rounds} alternating rounds of 100; embedding`,
          columns: ['what', 'ms'],
          rows: [
            ['re-rank, interests by topic', topicMs.toFixed(3)],
            ['re-rank, interests by content', contentMs.toFixed(3)],
            ['re-rank, by content without interest-neighbour candidates', matchOnlyMs.toFixed(3)],
            ['embed one interest (8 in one batch)', embedMs.toFixed(1)],
            ['embed one new interest alone', (t2 - t1).toFixed(1)],
            [`its cosine row over ${rows} resources`, scoreRowMs.toFixed(2)],
          ],
        },
      ],
    };
  } finally {
    await encoder.close();
  }
}
