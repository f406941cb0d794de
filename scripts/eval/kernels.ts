/**
 * Which kernel ranks one learner against the whole catalogue fastest? Float32Array loops + partial top-k (the kernel
 * in models/kernel), ml-matrix mmul + the same top-k, and onnxruntime (Gemm + TopK in one graph).
 *   npm run eval -- --dataset kernels [--items 9742] [--dim 10,32] [--reps 2000] [--json]
 */
import { loadavg } from 'node:os';
import { Matrix } from 'ml-matrix';
import * as ort from 'onnxruntime-node';
import { dotAll, topK } from '../../models/kernel';
import { mulberry32 } from '../../models/random/prng';
import { scoreTopKModel } from '../../models/kernel/onnx-graph';
import type { EvalArgs, EvalReport } from './types';

export interface KernelRow {
  kernel: string;
  dim: number;
  usPerRanking: number;
}

export interface KernelBenchOptions {
  /** catalogue size; default 9742 (movielens-latest-small) */
  items: number;
  /** factor dimensions to time; default [10, 32] (ISGD's and online MF's) */
  dims: number[];
  /** rankings timed for the Float32Array kernel; ml-matrix gets reps/10 and onnxruntime reps/2 (at least 50 each),
   * because they are slower per call and the figure is a mean anyway. Default 2000. */
  reps: number;
}

function time(reps: number, fn: (r: number) => void): number {
  for (let r = 0; r < Math.min(50, reps); r++) fn(r); // warm up the JIT
  const t0 = performance.now();
  for (let r = 0; r < reps; r++) fn(r);
  return ((performance.now() - t0) * 1000) / reps;
}

async function timeAsync(reps: number, fn: (r: number) => Promise<void>): Promise<number> {
  for (let r = 0; r < Math.min(50, reps); r++) await fn(r);
  const t0 = performance.now();
  for (let r = 0; r < reps; r++) await fn(r);
  return ((performance.now() - t0) * 1000) / reps;
}

/** Microseconds per ranking of one learner (dot products + top-10) for each kernel and dimension. */
export async function benchKernels(opts: KernelBenchOptions): Promise<{ rows: KernelRow[]; checksum: number }> {
  const { items: n, dims, reps } = opts;
  const rows: KernelRow[] = [];
  // summed from every kernel's output so the JIT cannot drop the work as dead code
  let checksum = 0;
  for (const dim of dims) {
    const rng = mulberry32(dim);
    const users = Array.from({ length: 64 }, () => Float32Array.from({ length: dim }, () => rng() - 0.5));
    const items = Float32Array.from({ length: n * dim }, () => rng() - 0.5);
    const scores = new Float64Array(n);
    const out = new Int32Array(10);
    rows.push({
      kernel: 'Float32Array loop + heap top-k',
      dim,
      usPerRanking: time(reps, (r) => {
        dotAll(users[r & 63], items, n, dim, scores);
        checksum += topK(scores, n, 10, out)[0];
      }),
    });

    const Q = new Matrix(n, dim);
    for (let i = 0; i < n; i++) for (let f = 0; f < dim; f++) Q.set(i, f, items[i * dim + f]);
    const QT = Q.transpose();
    const U = users.map((u) => Matrix.rowVector(Array.from(u)));
    rows.push({
      kernel: 'ml-matrix mmul + heap top-k',
      dim,
      usPerRanking: time(Math.max(50, Math.round(reps / 10)), (r) => {
        const s = U[r & 63].mmul(QT).getRow(0);
        for (let i = 0; i < n; i++) scores[i] = s[i];
        checksum += topK(scores, n, 10, out)[0];
      }),
    });

    const session = await ort.InferenceSession.create(scoreTopKModel(dim), { intraOpNumThreads: 1, interOpNumThreads: 1 });
    try {
      const mask = new Float32Array(n);
      const qT = new ort.Tensor('float32', items, [n, dim]);
      const mT = new ort.Tensor('float32', mask, [1, n]);
      const kT = new ort.Tensor('int64', BigInt64Array.from([10n]), [1]);
      const uT = users.map((u) => new ort.Tensor('float32', u, [1, dim]));
      rows.push({
        kernel: 'onnxruntime Gemm + TopK (1 thread)',
        dim,
        usPerRanking: await timeAsync(Math.max(50, Math.round(reps / 2)), async (r) => {
          const res = await session.run({ U: uT[r & 63], Q: qT, M: mT, K: kT });
          checksum += Number((res.indices.data as BigInt64Array)[0]);
        }),
      });
    } finally {
      await session.release();
    }
  }
  return { rows, checksum };
}

/** `--dataset kernels`: synthetic random factors, no dataset read. */
export async function evalKernels(args: EvalArgs): Promise<EvalReport> {
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const opts: KernelBenchOptions = { items: args.items ?? 9742, dims: args.dims ?? [10, 32], reps: args.reps ?? 2000 };
  // the machine is shared: the load next to the timings says how far to trust their absolute values
  const loadBefore = loadavg()[0];
  const { rows, checksum } = await benchKernels(opts);
  const loadAfter = loadavg()[0];
  const cpu = process.cpuUsage(cpu0);
  return {
    dataset: args.dataset,
    source: `synthetic: ${opts.items} random items, 64 random learners, seed = dim (no dataset read); load average (1 min) ${loadBefore.toFixed(2)} before, ${loadAfter.toFixed(2)} after`,
    tables: [
      {
        title: `ranking ${opts.items} items, top-10, microseconds per learner (lower is better), reps ${opts.reps}`,
        columns: ['kernel', 'dim', 'us per learner'],
        rows: rows.map((r) => [r.kernel, r.dim, r.usPerRanking.toFixed(1)]),
      },
    ],
    results: { ...opts, loadAverage: { before: loadBefore, after: loadAfter }, rows, checksum },
    figures: [],
    totalSeconds: (performance.now() - t0) / 1000,
    totalCpuSeconds: (cpu.user + cpu.system) / 1e6,
  };
}
