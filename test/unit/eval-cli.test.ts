/**
 * @jest-environment ./test/helpers/ort-environment.js
 */
/**
 * `npm run eval` argument handling (scripts/eval/args.ts) and the `kernels` entry it dispatches to: the scoring-kernel
 * table of docs/evaluation.md comes from the same CLI as every other figure there.
 */
import { parseEvalArgs } from '../../scripts/eval/args';
import { evalKernels } from '../../scripts/eval/kernels';
import { RUNNERS } from '../../scripts/eval/runners';
import { expandMethods, TUNING_GRID } from '../../scripts/eval/tuning-grid';
import { HybridRecommender } from '../../models/hybrid';

describe('npm run eval arguments', () => {
  it('dispatches --dataset kernels to the kernel timing, with its own options', () => {
    const { args, json } = parseEvalArgs(['--dataset', 'kernels', '--reps', '300', '--items', '500', '--dim', '4, 8', '--json']);
    expect(json).toBe(true);
    expect(args).toMatchObject({ dataset: 'kernels', reps: 300, items: 500, dims: [4, 8] });
    expect(RUNNERS[args.dataset]).toBe(evalKernels);
  });

  it('parses the shared options for the dataset evaluations', () => {
    const { args, json } = parseEvalArgs([
      '--dataset',
      'movielens',
      '--limit',
      '30000',
      '--methods',
      'a, b,',
      '--plot',
      'none',
      '--seed',
      '3',
    ]);
    expect(json).toBe(false);
    expect(args).toMatchObject({ dataset: 'movielens', limit: 30000, methods: ['a', 'b'], plot: 'none', seed: 3 });
    expect(args.reps).toBeUndefined();
  });

  it('rejects options that do not apply, bad numbers and unknown datasets before any work', () => {
    expect(() => parseEvalArgs(['--dataset', 'movielens', '--reps', '10'])).toThrow(
      '--reps applies to --dataset kernels and edx-interests only',
    );
    expect(() => parseEvalArgs(['--dataset', 'edx-interests', '--dim', '32'])).toThrow('--dim applies to --dataset kernels only');
    expect(parseEvalArgs(['--dataset', 'edx-interests', '--reps', '5', '--items', '2000']).args).toMatchObject({ reps: 5, items: 2000 });
    expect(() => parseEvalArgs(['--dataset', 'kernels', '--split', 'validation'])).toThrow('--split applies to --dataset statics only');
    expect(() => parseEvalArgs(['--dataset', 'kernels', '--reps', '0'])).toThrow('--reps must be a positive integer');
    expect(() => parseEvalArgs(['--dataset', 'kernels', '--dim', '10,x'])).toThrow('--dim must be a positive integer');
    expect(() => parseEvalArgs(['--dataset', 'movielens', '--limit', '1.5'])).toThrow('--limit must be a positive integer');
    expect(() => parseEvalArgs(['--dataset', 'nope'])).toThrow('one of:');
    expect(() => parseEvalArgs([])).toThrow('--dataset is required');
    expect(() => parseEvalArgs(['--dataset', 'kernels', '--bogus'])).toThrow();
  });
});

describe('--dataset kernels', () => {
  it('times the three kernels per dimension and reports the load next to the figures', async () => {
    const report = await evalKernels({ dataset: 'kernels', items: 300, dims: [4, 6], reps: 20 });
    const kernels = ['Float32Array loop + heap top-k', 'ml-matrix mmul + heap top-k', 'onnxruntime Gemm + TopK (1 thread)'];
    expect(report.tables[0].rows.map((r) => [r[0], r[1]])).toEqual([...kernels.map((k) => [k, 4]), ...kernels.map((k) => [k, 6])]);
    const results = report.results as { items: number; reps: number; rows: { usPerRanking: number }[]; loadAverage: { before: number } };
    expect(results).toMatchObject({ items: 300, reps: 20, dims: [4, 6] });
    for (const r of results.rows) expect(r.usPerRanking).toBeGreaterThan(0);
    expect(results.loadAverage.before).toBeGreaterThanOrEqual(0);
    expect(report.source).toContain('load average');
    expect(report.figures).toEqual([]);
  });
});

describe('--methods tuning-grid', () => {
  /** The settings a HybridRecommender actually runs with, flattened to one level. */
  const settings = (r: HybridRecommender): Record<string, unknown> => {
    const s = r.serialize();
    return {
      ...s.options.transitions,
      popularityWeight: s.options.popularityWeight,
      collabWeight: s.options.collabWeight,
      popularityHalfLifeSeconds: s.options.popularityHalfLifeSeconds,
    };
  };

  it('expands to the chosen settings and every grid variant, each moving exactly one setting from the chosen ones', () => {
    const names = expandMethods(['isgd', 'tuning-grid']);
    expect(names.slice(0, 3)).toEqual(['isgd', 'full-without-mf', 'full-model']);
    expect(names.slice(3)).toEqual(Object.keys(TUNING_GRID));
    const chosenWithoutMf = settings(new HybridRecommender({ collabWeight: 0 }));
    const chosen = settings(new HybridRecommender());
    for (const [name, opts] of Object.entries(TUNING_GRID)) {
      const got = settings(new HybridRecommender(opts));
      const base = name.startsWith('grid-mf') ? chosen : chosenWithoutMf;
      const moved = Object.keys(base).filter((k) => got[k] !== base[k]);
      expect({ name, moved: moved.length }).toEqual({ name, moved: 1 });
    }
  });
});
