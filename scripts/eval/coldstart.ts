/**
 * `npm run eval -- --dataset movielens-coldstart [--path <movielens dir>] [--json] [--limit N] [--seed S]
 *  [--methods a,b] [--plot <file.svg>|none]`
 *
 * Cold-start evaluation on movielens-latest-small (models/eval/coldstart.ts): 20% of the movies are held back until
 * the cut-over (median event time), then published with their text (title + genres) and evaluated on their first
 * positive ratings, with and without the content encoder. Movie texts are embedded once by the ONNX encoder and cached
 * under <cacheDir>/embeddings/ (needs the model: `npm run model:install`).
 *
 * Text is title + genres only: movielens tags are user interactions (with timestamps), and using tags of a held-back
 * movie would leak exactly the interactions the protocol holds back.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadConfig } from '../../lib/config';
import { parseCsvObjects } from '../../producers/datasets/csv';
import { embedCached, OnnxSentenceEncoder, resolveEncoderDir } from '../../lib/encoder';
import { PrerequisiteError } from '../../lib/errors';
import { OnlineCollab } from '../../models/collab/model';
import { ColdStartRecommender } from '../../models/content/cold-start-recommender';
import { resourceText } from '../../models/content/text';
import { CollabRecommender } from '../../models/eval/adapters';
import { runColdStart, splitColdStart, type ColdStartCandidate, type ColdStartResult } from '../../models/eval/coldstart';
import { lineChartSvg } from '../../models/eval/plot';
import { HybridRecommender } from '../../models/hybrid';
import { readMovielens } from './movielens';
import { DEFAULT_MOVIELENS } from './recommendation';
import type { EvalArgs, EvalReport } from './types';

async function movieVectors(
  dir: string,
  itemIds: readonly string[],
): Promise<{ vectors: (Float32Array | undefined)[]; modelId: string; computed: number; msPerText: number }> {
  const moviesFile = path.join(dir, 'movies.csv');
  if (!fs.existsSync(moviesFile)) throw new PrerequisiteError(`cold-start eval needs ${moviesFile} (movie titles and genres)`);
  const text = new Map<string, string>();
  for (const r of parseCsvObjects(fs.readFileSync(moviesFile, 'utf8'))) {
    const genres = r.genres && r.genres !== '(no genres listed)' ? r.genres.split('|') : [];
    text.set(r.movieId, resourceText({ title: r.title, topics: genres }));
  }
  const config = loadConfig();
  const encoder = await OnnxSentenceEncoder.load(resolveEncoderDir(config), { threads: 2 });
  try {
    const texts = itemIds.map((id) => text.get(id) ?? '');
    const base = path.join(config.cacheDir, 'embeddings', `${path.basename(path.resolve(dir))}-movies`);
    const { vectors, computed } = await embedCached(encoder.embed, encoder.manifest.id, texts, base, {
      onProgress: (done, total) => process.stderr.write(`\rembedding movie texts: ${done}/${total}`),
    });
    if (computed > 0) process.stderr.write('\n');
    const msPerText = encoder.stats.texts > 0 ? encoder.stats.totalMs / encoder.stats.texts : Number.NaN;
    return { vectors: itemIds.map((id, i) => (text.has(id) ? vectors[i] : undefined)), modelId: encoder.manifest.id, computed, msPerText };
  } finally {
    await encoder.close();
  }
}

export async function evalColdStart(args: EvalArgs): Promise<EvalReport> {
  const t0 = performance.now();
  const dir = args.path ?? DEFAULT_MOVIELENS;
  const seed = args.seed ?? 1;
  const stream = readMovielens(dir, args.limit);
  const { vectors, modelId, computed, msPerText } = await movieVectors(dir, stream.itemIds);
  const split = splitColdStart(stream.events, { seed, heldFraction: 0.2, cutoverQuantile: 0.5 });

  const variants: Record<string, () => ColdStartCandidate> = {
    'full-model': () => new HybridRecommender({ collab: { seed } }),
    'full-model+content': () => {
      const hybrid = new HybridRecommender({ collab: { seed } });
      const collab = hybrid.collab?.model;
      return new ColdStartRecommender(hybrid, vectors, collab, collab?.options.dim, {}, 'full-model+content');
    },
    'online-mf': () => {
      const mf = new OnlineCollab({ seed });
      return new ColdStartRecommender(
        new CollabRecommender(mf),
        vectors,
        mf,
        mf.options.dim,
        { contentWeight: 0, mapFactors: false },
        'online-mf',
      );
    },
    'online-mf+content-factors': () => {
      const mf = new OnlineCollab({ seed });
      return new ColdStartRecommender(
        new CollabRecommender(mf),
        vectors,
        mf,
        mf.options.dim,
        { contentWeight: 0 },
        'online-mf+content-factors',
      );
    },
  };
  const names = args.methods ?? Object.keys(variants);
  const results: ColdStartResult[] = [];
  for (const name of names) {
    const make = variants[name];
    if (!make) throw new Error(`unknown method ${name}; known: ${Object.keys(variants).join(', ')}`);
    results.push(runColdStart(split, make(), { k: 10, firstN: 5, overallEvery: 4 }));
    await Promise.resolve();
  }
  const ratio = (withName: string, withoutName: string) => {
    const a = results.find((r) => r.name === withName);
    const b = results.find((r) => r.name === withoutName);
    return a && b
      ? { with: withName, without: withoutName, firstN: a.firstN.recall / b.firstN.recall, first: a.first.recall / b.first.recall }
      : undefined;
  };
  const ratios = [ratio('full-model+content', 'full-model'), ratio('online-mf+content-factors', 'online-mf')].filter(
    (r) => r !== undefined,
  );
  const f = (x: number) => x.toFixed(4);
  const curveN = results[0]?.byPositive.length ?? 0;
  const figures: EvalReport['figures'] = [];
  if (args.plot !== 'none') {
    figures.push({
      path: args.plot ?? path.join(__dirname, '..', '..', 'docs', 'img', 'eval-coldstart.svg'),
      svg: lineChartSvg({
        title: `Cold start: Recall@10 on the n-th positive of a held-back movie (seed ${seed})`,
        xLabel: 'n-th positive rating of a held-back movie after the cut-over',
        yLabel: 'Recall@10',
        series: results.map((r) => ({ name: r.name, points: r.byPositive.map((s, i) => [i + 1, s.recall]) })),
      }),
    });
  }
  return {
    dataset: args.dataset,
    source: `${stream.file} + ${path.join(dir, 'movies.csv')} (encoder ${modelId}${computed > 0 ? `, embedded ${computed} texts at ${msPerText.toFixed(1)} ms/text` : ', embeddings cached'})`,
    tables: [
      {
        title: `cold start: ${split.heldItems.length} of ${split.nItems} movies held back until ${new Date(split.cutoverT * 1000).toISOString().slice(0, 10)} (${split.droppedEvents} events dropped), seed ${seed}; Recall@10 / NDCG@10 on the first positives of held-back movies`,
        columns: [
          'method',
          'first pos R@10',
          'first 5 pos R@10',
          'NDCG@10',
          'n',
          'all held R@10',
          'overall R@10 (every 4th)',
          'n overall',
          'seconds',
        ],
        rows: results.map((r) => [
          r.name,
          f(r.first.recall),
          f(r.firstN.recall),
          f(r.firstN.ndcg),
          r.firstN.n,
          f(r.heldAll.recall),
          f(r.overall.recall),
          r.overall.n,
          r.seconds.toFixed(1),
        ]),
      },
      {
        title: 'with / without the content encoder (Recall@10 ratio; target >= 1.5 on the first 5 positives)',
        columns: ['with', 'without', 'first 5 pos', 'first pos'],
        rows: ratios.map((r) => [r.with, r.without, r.firstN.toFixed(2), r.first.toFixed(2)]),
      },
      {
        // the figure's data, so the plot can be checked against numbers (the counts are small: read it with n)
        title: 'Recall@10 on the n-th positive of a held-back movie',
        columns: ['method', ...Array.from({ length: curveN }, (_, i) => `#${i + 1}`)],
        rows: [
          ...results.map((r) => [r.name, ...r.byPositive.map((s) => f(s.recall))]),
          ['n', ...(results[0]?.byPositive.map((s) => s.n) ?? [])],
        ],
      },
    ],
    results: {
      split: { held: split.heldItems.length, items: split.nItems, cutoverT: split.cutoverT, droppedEvents: split.droppedEvents, seed },
      encoder: { modelId, computed, msPerText },
      results,
      ratios,
    },
    figures,
    totalSeconds: (performance.now() - t0) / 1000,
  };
}
