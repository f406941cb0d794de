import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { Isgd } from '../../models/baselines/isgd';
import { MostPopular, RecentPopular } from '../../models/baselines/popular';
import { lineChartSvg } from '../../models/eval/plot';
import { runPrequential, type PrequentialResult } from '../../models/eval/prequential';
import type { StreamRecommender } from '../../models/eval/types';
import { HybridRecommender } from '../../models/hybrid';
import { OnlineCollab } from '../../models/collab';
import { CollabRecommender } from '../../models/eval/adapters';
import { PrerequisiteError, ValidationError } from '../../lib/errors';
import { readMovielens, sameSecondShare } from './movielens';
import { expandMethods, TUNING_GRID } from './tuning-grid';
import type { EvalArgs, EvalReport } from './types';
import { isServedMethod, runServed, SERVED_VARIANTS, type ServedResult } from './served';
import { loadConfig } from '../../lib/config';
import type { Experiment } from '../../models/experiments/types';

/** An experiment of the configuration (config file LEARNSTREAM_CONFIG), by id, for --experiment. */
function configuredExperiment(id: string): Experiment {
  const experiments = loadConfig().experiments;
  const e = experiments.find((x) => x.id === id);
  if (!e)
    throw new ValidationError(
      `--experiment ${id}: no such experiment in the configuration (configured: ${experiments.map((x) => x.id).join(', ') || 'none'}; set LEARNSTREAM_CONFIG to a file with an "experiments" list, see config.example.jsonc)`,
    );
  return e;
}

export const DEFAULT_MOVIELENS = join(__dirname, '..', '..', '..', 'shared', 'datasets', 'movielens-latest-small');

/** The four methods the issue asks for, by CLI name. */
export const RECOMMENDERS: Record<string, (seed: number) => StreamRecommender> = {
  'most-popular': () => new MostPopular('positives'),
  'recent-popular': () => new RecentPopular(30 * 86400),
  isgd: (seed) => new Isgd({ seed, initOn: 'positive', closenessToOne: false }),
  'full-model': (seed) => new HybridRecommender({ collab: { seed } }),
};

/** Ablations and components, runnable with --methods (not part of the default run). */
export const EXTRA_RECOMMENDERS: Record<string, (seed: number) => StreamRecommender> = {
  // popularity counting every rating, low ones too: the baseline-check variant (the issue's protocol counts positives)
  'most-popular-all': () => new MostPopular('all'),
  'online-mf': (seed) => new CollabRecommender(new OnlineCollab({ dim: 32, seed }), 'online-mf'),
  'full-without-mf': () => new HybridRecommender({ collabWeight: 0 }),
  'transitions-only': () => new HybridRecommender({ collabWeight: 0, popularityWeight: 0 }),
  'isgd-closeness': (seed) => new Isgd({ seed, initOn: 'positive', closenessToOne: true }),
  'isgd-all-items': (seed) => new Isgd({ seed, initOn: 'any', closenessToOne: false }),
  ...Object.fromEntries(
    Object.entries(TUNING_GRID).map(([name, opts]) => [name, (seed: number) => new HybridRecommender({ ...opts, collab: { seed } })]),
  ),
};

type MethodResult = PrequentialResult & { cpuSeconds?: number };

function makeRecommender(name: string, seed: number): StreamRecommender {
  const make = RECOMMENDERS[name] ?? EXTRA_RECOMMENDERS[name];
  if (!make) {
    const known = [...Object.keys(RECOMMENDERS), ...Object.keys(EXTRA_RECOMMENDERS), ...Object.keys(SERVED_VARIANTS)].join(', ');
    throw new ValidationError(`unknown method ${name}; known: ${known}`);
  }
  return make(seed);
}

/** One method over one stream (also the body of a worker thread). */
export function runOne(dir: string, limit: number | undefined, method: string, seed: number, from?: number): MethodResult {
  const stream = readMovielens(dir, limit);
  return {
    ...runPrequential(stream.events, makeRecommender(method, seed), { k: 10, windowEvents: 5000, firstTestEvent: from }),
    name: method,
  };
}

/** Run methods in worker threads, at most `workers` at a time; results in the order of `names`. */
async function runInWorkers(
  dir: string,
  limit: number | undefined,
  names: string[],
  seed: number,
  workers: number,
  from?: number,
): Promise<MethodResult[]> {
  // tsx registers its TypeScript hooks per thread: bootstrap each worker with tsx/cjs, then load the entry
  const bootstrap = `require(${JSON.stringify(require.resolve('tsx/cjs'))}); require(${JSON.stringify(join(__dirname, 'recommendation-worker.ts'))});`;
  const results: MethodResult[] = new Array<MethodResult>(names.length);
  // longest first (the full model costs most), so the lanes finish together
  const costly = (name: string) => name.startsWith('full') || name.startsWith('grid');
  const order = names.map((_, i) => i).sort((a, b) => Number(costly(names[b])) - Number(costly(names[a])));
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < order.length) {
      const i = order[next++];
      results[i] = await new Promise<MethodResult>((resolve, reject) => {
        const w = new Worker(bootstrap, { eval: true, workerData: { path: dir, limit, method: names[i], seed, from } });
        w.once('message', (m: MethodResult) => resolve(m));
        w.once('error', reject);
        w.once('exit', (code) => (code === 0 ? undefined : reject(new Error(`worker for ${names[i]} exited with ${code}`))));
      });
    }
  };
  await Promise.all(Array.from({ length: Math.min(workers, names.length) }, lane));
  return results;
}

/**
 * The folder to read. ml-100k is not among the shared datasets, so `--dataset ml-100k` needs `--path`, and that folder
 * must hold the classic u.data: falling back to latest-small would print latest-small figures under the ml-100k name.
 */
export function movielensDir(args: Pick<EvalArgs, 'dataset' | 'path'>): string {
  if (args.dataset !== 'ml-100k') return args.path ?? DEFAULT_MOVIELENS;
  if (args.path === undefined) {
    throw new ValidationError('--dataset ml-100k needs --path <folder with u.data> (only movielens-latest-small is shared by default)');
  }
  if (!existsSync(join(args.path, 'u.data'))) {
    throw new PrerequisiteError(
      `--dataset ml-100k: no u.data in ${args.path}`,
      'give the folder of the classic ml-100k layout (u.data, u.item)',
    );
  }
  return args.path;
}

/** Prequential Recall@10 / NDCG@10 on a movielens ratings stream (ratings >= 4 are test points, all are events). */
export async function evalMovielens(args: EvalArgs): Promise<EvalReport> {
  const t0 = performance.now();
  const cpuStart = process.cpuUsage();
  const dir = movielensDir(args);
  const stream = readMovielens(dir, args.limit);
  const names = args.methods ? expandMethods(args.methods) : Object.keys(RECOMMENDERS);
  const served = names.filter(isServedMethod);
  const offline = names.filter((n) => !isServedMethod(n));
  for (const name of offline) makeRecommender(name, 1); // fail fast on a typo, before any work
  const seed = args.seed ?? 1;
  let results: MethodResult[] = [];
  const workers = args.workers ?? Math.min(2, availableParallelism());
  // the served path runs the production learner stage in this thread while the offline methods use the workers
  const experiment = args.experiment === undefined ? undefined : configuredExperiment(args.experiment);
  if (experiment && served.length === 0) throw new ValidationError('--experiment needs a served method (--methods served,...)');
  const servedRuns = (async () => {
    const out: ServedResult[] = [];
    for (const name of served)
      out.push(await runServed(stream, name, { firstTestEvent: args.from, batchEvents: args.batchEvents, experiment }));
    return out;
  })();
  if (workers > 1 && offline.length > 1) {
    results = await runInWorkers(dir, args.limit, offline, seed, Math.max(1, workers - (served.length > 0 ? 1 : 0)), args.from);
  } else {
    for (const name of offline) {
      // CPU time next to wall time: the machine is shared, and CPU seconds are what the model actually costs
      const cpu0 = process.cpuUsage();
      const r = runPrequential(stream.events, makeRecommender(name, seed), { k: 10, windowEvents: 5000, firstTestEvent: args.from });
      const cpu = process.cpuUsage(cpu0);
      results.push({ ...r, name, cpuSeconds: (cpu.user + cpu.system) / 1e6 });
    }
  }
  const servedResults = await servedRuns;
  results = names.map((n) => (isServedMethod(n) ? servedResults[served.indexOf(n)] : results[offline.indexOf(n)]));
  const cpuAll = process.cpuUsage(cpuStart);
  const figures: EvalReport['figures'] = [];
  if (args.plot !== 'none') {
    const path = args.plot ?? join(__dirname, '..', '..', 'docs', 'img', `eval-${args.dataset}.svg`);
    figures.push({
      path,
      svg: lineChartSvg({
        title: `Prequential Recall@10 per 5,000 events (${args.dataset})`,
        xLabel: 'events in time order (thousands)',
        yLabel: 'Recall@10 (HR@10) in window',
        series: results.map((r) => ({ name: r.name, points: r.windows.map((w) => [w.endEvent / 1000, w.recall]) })),
      }),
    });
  }
  return {
    dataset: args.dataset,
    source: stream.file,
    tables: [
      {
        title:
          `prequential recommendation, ${stream.events.length} events, ${results[0]?.testPoints ?? 0} test points (rating >= 4${args.from ? `, from event ${args.from} on: the prefix before it is learned, not tested` : ''}), ${stream.userIds.length} learners, ${stream.itemIds.length} items; ` +
          `${(100 * sameSecondShare(stream.events)).toFixed(1)}% of events share their second with another of the same learner (kept in file order)`,
        columns: ['method', 'Recall@10', 'NDCG@10', 'coverage', 'events/s', 'wall s', 'cpu s'],
        rows: results.map((r) => [
          r.name,
          r.recall.toFixed(4),
          r.ndcg.toFixed(4),
          r.coverage.toFixed(3),
          Math.round(r.eventsPerSecond),
          r.seconds.toFixed(1),
          r.cpuSeconds === undefined ? 'n/a' : r.cpuSeconds.toFixed(1),
        ]),
      },
      ...(experiment
        ? [
            {
              title: `experiment ${experiment.id} on the served path: each learner ranked under their variant (hash of experiment id and learner id), test points split by variant`,
              columns: ['method', 'variant', 'learners', 'test points', 'Recall@10', 'NDCG@10'],
              rows: servedResults.flatMap((r) =>
                (r.variants ?? []).map((v) => [r.name, v.variant, v.learners, v.testPoints, v.recall.toFixed(4), v.ndcg.toFixed(4)]),
              ),
            },
          ]
        : []),
      {
        // the figure's data as numbers, so claims about the curve can be checked without redrawing it
        title: 'Recall@10 per window of 5,000 events (the figure)',
        columns: ['events', ...results.map((r) => r.name)],
        rows: (results[0]?.windows ?? []).map((w, i) => [w.endEvent, ...results.map((r) => r.windows[i]?.recall.toFixed(4) ?? '')]),
      },
    ],
    results: results.map((r) => ({ ...r })),
    figures,
    totalSeconds: (performance.now() - t0) / 1000,
    totalCpuSeconds: (cpuAll.user + cpuAll.system) / 1e6,
  };
}
