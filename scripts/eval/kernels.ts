/**
 * Which kernel ranks one learner against the whole catalogue fastest? Float32Array loops + partial top-k (the kernel
 * in models/kernel), ml-matrix mmul + the same top-k, and onnxruntime (Gemm + TopK in one graph).
 *   npx tsx scripts/eval/kernels.ts [--items 9742] [--dim 10,32] [--reps 2000]
 */
import { parseArgs } from 'node:util';
import { Matrix } from 'ml-matrix';
import * as ort from 'onnxruntime-node';
import { dotAll, topK } from '../../models/kernel';
import { mulberry32 } from '../../models/random/prng';
import { scoreTopKModel } from '../../models/kernel/onnxGraph';

interface Row {
  kernel: string;
  dim: number;
  usPerRanking: number;
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

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { items: { type: 'string' }, dim: { type: 'string' }, reps: { type: 'string' }, json: { type: 'boolean' } } });
  const n = Number(values.items ?? 9742);
  const dims = (values.dim ?? '10,32').split(',').map(Number);
  const reps = Number(values.reps ?? 2000);
  const rows: Row[] = [];
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
      usPerRanking: time(Math.max(50, reps / 10), (r) => {
        const s = U[r & 63].mmul(QT).getRow(0);
        for (let i = 0; i < n; i++) scores[i] = s[i];
        checksum += topK(scores, n, 10, out)[0];
      }),
    });

    const session = await ort.InferenceSession.create(scoreTopKModel(dim), { intraOpNumThreads: 1, interOpNumThreads: 1 });
    const mask = new Float32Array(n);
    const qT = new ort.Tensor('float32', items, [n, dim]);
    const mT = new ort.Tensor('float32', mask, [1, n]);
    const kT = new ort.Tensor('int64', BigInt64Array.from([10n]), [1]);
    const uT = users.map((u) => new ort.Tensor('float32', u, [1, dim]));
    rows.push({
      kernel: 'onnxruntime Gemm + TopK (1 thread)',
      dim,
      usPerRanking: await timeAsync(Math.max(50, reps / 2), async (r) => {
        const res = await session.run({ U: uT[r & 63], Q: qT, M: mT, K: kT });
        checksum += Number((res.indices.data as BigInt64Array)[0]);
      }),
    });
    await session.release();
  }
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ items: n, rows, checksum }, null, 2)}\n`);
    return;
  }
  process.stdout.write(`ranking ${n} items, top-10, microseconds per learner (lower is better)\n`);
  for (const r of rows) process.stdout.write(`${r.kernel.padEnd(38)} dim ${String(r.dim).padStart(3)}  ${r.usPerRanking.toFixed(1).padStart(9)} us\n`);
  process.stdout.write(`(checksum ${checksum})\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${String(err)}\n`);
  process.exit(1);
});
