/** Command-line arguments of `npm run eval` (scripts/eval.ts), parsed and checked before any work starts. */
import { parseArgs } from 'node:util';
import { ValidationError } from '../../lib/errors';
import { RUNNERS } from './runners';
import type { EvalArgs } from './types';

function positiveInt(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!(Number.isInteger(n) && n > 0)) throw new ValidationError(`--${name} must be a positive integer (got ${v})`);
  return n;
}

/** @returns the runner's arguments and whether to print JSON instead of the tables */
export function parseEvalArgs(argv: string[]): { args: EvalArgs; json: boolean } {
  const { values } = parseArgs({
    args: argv,
    options: {
      dataset: { type: 'string' },
      path: { type: 'string' },
      json: { type: 'boolean', default: false },
      limit: { type: 'string' },
      from: { type: 'string' },
      experiment: { type: 'string' },
      'batch-events': { type: 'string' },
      plot: { type: 'string' },
      methods: { type: 'string' },
      seed: { type: 'string' },
      workers: { type: 'string' },
      split: { type: 'string' },
      reps: { type: 'string' },
      items: { type: 'string' },
      dim: { type: 'string' },
    },
  });
  const dataset = values.dataset;
  if (!dataset || !RUNNERS[dataset]) {
    throw new ValidationError(`--dataset is required, one of: ${Object.keys(RUNNERS).join(', ')}`);
  }
  if (values.split !== undefined && RUNNERS[dataset] !== RUNNERS.statics) {
    throw new ValidationError(`--split applies to --dataset statics only (not ${dataset})`);
  }
  // silently ignoring them would print default-sized timings under a command line that asked for others
  const timing = (['reps', 'items', 'dim'] as const).filter((k) => values[k] !== undefined);
  if (dataset === 'edx-interests') {
    if (values.dim !== undefined) throw new ValidationError(`--dim applies to --dataset kernels only (not ${dataset})`);
  } else if (dataset !== 'kernels' && timing.length > 0) {
    throw new ValidationError(`--${timing[0]} applies to --dataset kernels and edx-interests only (not ${dataset})`);
  }
  const dims = values.dim?.split(',').map((d) => positiveInt('dim', d.trim()) as number);
  return {
    json: values.json,
    args: {
      dataset,
      path: values.path,
      limit: positiveInt('limit', values.limit),
      from: positiveInt('from', values.from),
      experiment: values.experiment,
      batchEvents: positiveInt('batch-events', values['batch-events']),
      plot: values.plot,
      methods: values.methods
        ?.split(',')
        .map((s) => s.trim())
        .filter(Boolean),
      seed: values.seed !== undefined ? Number(values.seed) : undefined,
      workers: values.workers !== undefined ? Number(values.workers) : undefined,
      split: values.split,
      reps: positiveInt('reps', values.reps),
      items: positiveInt('items', values.items),
      dims,
    },
  };
}
