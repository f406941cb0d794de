/**
 * Ranking kernel: time to rank one learner over 10k / 100k / 1M resources at 32 / 64 / 128 dimensions.
 *   loops     models/kernel dotAll + topK (what production uses) — the baseline every other row is compared with
 *   unroll4   same loop with four accumulators (a candidate for models/kernel)
 *   ml-matrix Matrix.mmul(user column) + topK over the column (≤ 100k rows: 1M boxed Float64 rows is > 1 GiB)
 *   onnx      onnxruntime-node Gemm(transB) + TopK graph built in code, items as an initializer, 1 intra-op thread
 * Batched re-ranks (B learners at once): loops B times, a JS blocked kernel (each item row read once for all B), onnx B.
 * For 1M, IVF candidate generation (k-means partitions, probe the best nprobe) with recall of the exhaustive top-10.
 * `npm run bench -- kernel [--quick] [--json]`; no services needed.
 */
import { Matrix } from 'ml-matrix';
import * as ort from 'onnxruntime-node';
import { dotAll, OnnxTopK, topK } from '../models/kernel';
import { makeItems, makeTopics, makeUsers } from './lib/factors';
import { buildIvf, ivfScratch, negHalfSquaredNorms, searchIvf, type NearestFn } from '../models/kernel/ivf';
import { buildScoreTopKModel } from './lib/onnx';
import { emitReport, newReport, progress, type BenchArgs } from './lib/report';
import { round, timeAsync } from './lib/stats';
import type { Row } from './lib/table';

const K = 10;

/** dotAll with four independent accumulators (dim % 4 == 0): shorter dependency chains for V8's scalar code. */
export function dotAll4(user: Float32Array, items: Float32Array, n: number, dim: number, out: Float32Array): void {
  for (let i = 0, o = 0; i < n; i++, o += dim) {
    let s0 = 0,
      s1 = 0,
      s2 = 0,
      s3 = 0;
    for (let f = 0; f < dim; f += 4) {
      s0 += user[f] * items[o + f];
      s1 += user[f + 1] * items[o + f + 1];
      s2 += user[f + 2] * items[o + f + 2];
      s3 += user[f + 3] * items[o + f + 3];
    }
    out[i] = s0 + s1 + (s2 + s3);
  }
}

/** Scores B users against all items reading each item row once (row-major users[b * dim + f]; out[b * n + i]). */
export function dotBlocked(users: Float32Array, b: number, items: Float32Array, n: number, dim: number, out: Float32Array): void {
  for (let i = 0, o = 0; i < n; i++, o += dim) {
    for (let u = 0, uo = 0; u < b; u++, uo += dim) {
      let s0 = 0,
        s1 = 0;
      for (let f = 0; f < dim; f += 2) {
        s0 += users[uo + f] * items[o + f];
        s1 += users[uo + f + 1] * items[o + f + 1];
      }
      out[u * n + i] = s0 + s1;
    }
  }
}

async function onnxSession(
  items: Float32Array,
  n: number,
  dim: number,
  k: number,
  threads = 1,
  bias?: Float32Array,
): Promise<ort.InferenceSession> {
  const model = buildScoreTopKModel(items, n, dim, k, bias);
  return ort.InferenceSession.create(model, { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all' });
}

/** k-means assignment through onnxruntime: argmax of x.c - |c|^2/2 with a TopK(1), in chunks of 16k rows. */
const nearestOnnx: NearestFn = async (points, n, centroids, nc, dim) => {
  const half = negHalfSquaredNorms(centroids, nc, dim);
  const session = await onnxSession(centroids, nc, dim, 1, 2, half);
  const out = new Int32Array(n);
  const chunk = 16384;
  for (let a = 0; a < n; a += chunk) {
    const m = Math.min(chunk, n - a);
    const r = await session.run({ users: new ort.Tensor('float32', points.subarray(a * dim, (a + m) * dim), [m, dim]) });
    const idx = r.indices.data as BigInt64Array;
    for (let i = 0; i < m; i++) out[a + i] = Number(idx[i]);
  }
  await session.release();
  return out;
};

function recallAt(truth: Int32Array, got: Int32Array): number {
  const t = new Set(truth);
  let hit = 0;
  for (const g of got) if (t.has(g)) hit++;
  return hit / truth.length;
}

/** Exhaustive top-k of many queries at once through onnxruntime (batched Gemm): the ground truth for recall. */
async function exactTopK(items: Float32Array, n: number, dim: number, queries: Float32Array, nq: number): Promise<Int32Array[]> {
  const session = await onnxSession(items, n, dim, K, 2);
  const out: Int32Array[] = [];
  for (let a = 0; a < nq; a += 32) {
    const m = Math.min(32, nq - a);
    const r = await session.run({ users: new ort.Tensor('float32', queries.subarray(a * dim, (a + m) * dim), [m, dim]) });
    const idx = r.indices.data as BigInt64Array;
    for (let q = 0; q < m; q++) out.push(Int32Array.from(idx.subarray(q * K, (q + 1) * K), Number));
  }
  await session.release();
  return out;
}

/** IVF at one size: build, then per nprobe the median wall/CPU ms per query and recall of the exhaustive top-10. */
async function ivfSection(
  items: Float32Array,
  n: number,
  dim: number,
  topics: ReturnType<typeof makeTopics>,
  quick: boolean,
): Promise<{ rows: Row[]; note: string; chosen: { nprobe: number; ms: number; cpu: number; recall: number } | null }> {
  const nq = quick ? 50 : 200;
  const queries = makeUsers(topics, nq, 4242);
  const nlist = n >= 1_000_000 ? 1024 : 256;
  progress(`IVF build over ${n.toLocaleString()} x ${dim}, ${nlist} partitions`);
  const t0 = performance.now();
  const index = await buildIvf(items, n, dim, { nlist, sample: 24 * nlist, iters: 6, nearest: nearestOnnx });
  const buildS = (performance.now() - t0) / 1000;
  progress(`exhaustive top-${K} of ${nq} learners (ground truth)`);
  const truth = await exactTopK(items, n, dim, queries, nq);
  const scores = new Float32Array(n);
  const ex = await timeAsync(
    () => {
      dotAll(queries.subarray(0, dim), items, n, dim, scores);
      return topK(scores, n, K);
    },
    { minMs: 200 },
  );
  const rows: Row[] = [
    { method: 'exhaustive loops', nprobe: '', scanned_rows: n, wall_ms: round(ex.median), cpu_ms: round(ex.cpu), recall_at_10: 1 },
  ];
  const scratch = ivfScratch(index);
  let chosen: { nprobe: number; ms: number; cpu: number; recall: number } | null = null;
  for (const nprobe of [4, 8, 16, 32, 64]) {
    let rec = 0;
    for (let q = 0; q < nq; q++) rec += recallAt(truth[q], searchIvf(index, queries.subarray(q * dim, (q + 1) * dim), K, nprobe, scratch));
    let q = 0;
    const t = await timeAsync(
      () => {
        const r = searchIvf(index, queries.subarray(q * dim, (q + 1) * dim), K, nprobe, scratch);
        q = (q + 1) % nq;
        return r;
      },
      { minMs: 300, maxReps: 1000 },
    );
    const recall = rec / nq;
    rows.push({
      method: `IVF nlist=${nlist}`,
      nprobe,
      scanned_rows: Math.round((n * nprobe) / nlist),
      wall_ms: round(t.median),
      wall_p95_ms: round(t.p95),
      cpu_ms: round(t.cpu),
      recall_at_10: round(recall),
    });
    if (!chosen && recall >= 0.98) chosen = { nprobe, ms: t.median, cpu: t.cpu, recall };
  }
  return {
    rows,
    chosen,
    note: `${n.toLocaleString()} x ${dim}: IVF build ${buildS.toFixed(1)} s (k-means on ${(24 * nlist).toLocaleString()} sampled rows, 6 Lloyd iterations, assignment via onnxruntime Gemm); recall over ${nq} learners against an exhaustive onnxruntime top-10.`,
  };
}

export async function run(args: BenchArgs): Promise<void> {
  const report = newReport('kernel', args);
  const sizes = args.quick ? [10_000, 100_000] : [10_000, 100_000, 1_000_000];
  const dims = args.quick ? [64] : [32, 64, 128];
  const batch = 32;
  const minMs = args.quick ? 150 : 300;
  const single: Row[] = [];
  const batched: Row[] = [];
  let best100k: { method: string; wall: number; cpu: number } | null = null;
  let batched100k = NaN;
  for (const dim of dims) {
    const topics = makeTopics(dim, 256, dim);
    progress(`generating ${sizes[sizes.length - 1].toLocaleString()} x ${dim} items`);
    const all = makeItems(topics, sizes[sizes.length - 1], 1000 + dim);
    const users = makeUsers(topics, batch, 2000 + dim);
    const user = users.subarray(0, dim);
    for (const n of sizes) {
      const items = all.subarray(0, n * dim);
      const scores = new Float32Array(n);
      progress(`single learner: ${n.toLocaleString()} x ${dim}`);
      const loops = await timeAsync(
        () => {
          dotAll(user, items, n, dim, scores);
          return topK(scores, n, K);
        },
        { minMs },
      );
      const unroll = await timeAsync(
        () => {
          dotAll4(user, items, n, dim, scores);
          return topK(scores, n, K);
        },
        { minMs },
      );
      // the kernels must agree before their times mean anything
      dotAll(user, items, n, dim, scores);
      const ref = topK(scores, n, K);
      dotAll4(user, items, n, dim, scores);
      const refOk = recallAt(ref, topK(scores, n, K)) === 1;
      let mlm: { median: number; cpu: number } = { median: NaN, cpu: NaN };
      if (n <= 100_000) {
        const rows: number[][] = [];
        for (let i = 0; i < n; i++) rows.push(Array.from(items.subarray(i * dim, (i + 1) * dim)));
        const M = new Matrix(rows);
        const U = Matrix.columnVector(Array.from(user));
        mlm = await timeAsync(() => topK(Float64Array.from(M.mmul(U).getColumn(0)), n, K), { minMs, maxReps: 30, slowMs: 20 });
      }
      const session = await onnxSession(items, n, dim, K, 1);
      const feed = { users: new ort.Tensor('float32', user, [1, dim]) };
      const onnxOut = await session.run(feed);
      const onnxOk = recallAt(ref, Int32Array.from(onnxOut.indices.data as BigInt64Array, Number)) >= 0.9;
      const onnx1 = await timeAsync(() => session.run(feed), { minMs });
      // the live item table changes with every event: fed as an input per call instead of a baked-in initializer
      const inputSession = await ort.InferenceSession.create(buildScoreTopKModel(null, n, dim, K), {
        intraOpNumThreads: 1,
        interOpNumThreads: 1,
        graphOptimizationLevel: 'all',
      });
      const inputFeed = { users: feed.users, items: new ort.Tensor('float32', items, [n, dim]) };
      const onnxIn = await timeAsync(() => inputSession.run(inputFeed), { minMs });
      await inputSession.release();
      // what the learner stage uses: models/kernel OnnxTopK (Gemm + bias + TopK, items fed per call)
      const prod = await OnnxTopK.create(dim, 1);
      const prodOk = recallAt(ref, (await prod.topK(user, items, n, K)).indices) >= 0.9;
      const onnxProd = await timeAsync(() => prod.topK(user, items, n, K), { minMs });
      await prod.release();
      const methods = [
        { method: 'loops', t: loops },
        { method: 'unroll4', t: unroll },
        { method: 'onnx', t: onnx1 },
        { method: 'onnx-input', t: onnxIn },
        { method: 'OnnxTopK', t: onnxProd },
        ...(n <= 100_000 ? [{ method: 'ml-matrix', t: mlm }] : []),
      ];
      const best = methods.reduce((a, b) => (b.t.cpu < a.t.cpu ? b : a));
      single.push({
        n,
        dim,
        loops_cpu_ms: round(loops.cpu),
        unroll4_cpu_ms: round(unroll.cpu),
        ml_matrix_cpu_ms: round(mlm.cpu),
        onnx_cpu_ms: round(onnx1.cpu),
        onnx_items_input_cpu_ms: round(onnxIn.cpu),
        OnnxTopK_cpu_ms: round(onnxProd.cpu),
        loops_wall_ms: round(loops.median),
        onnx_wall_ms: round(onnx1.median),
        fastest: best.method,
        x_vs_loops: round(loops.cpu / best.t.cpu),
        agree: refOk && onnxOk && prodOk,
      });
      if (n === 100_000 && dim === 64) best100k = { method: best.method, wall: best.t.median, cpu: best.t.cpu };

      progress(`batched ${batch} learners: ${n.toLocaleString()} x ${dim}`);
      const bfeed = { users: new ort.Tensor('float32', users, [batch, dim]) };
      const perOnnx = await timeAsync(() => session.run(bfeed), { minMs, warmup: 1, minReps: 3 });
      await session.release();
      // 32 exhaustive JS scans of 1M rows per rep would take minutes on this shared machine: onnx only at 1M
      const jsBatch = n < 1_000_000;
      const bScores = jsBatch ? new Float32Array(batch * n) : new Float32Array(0);
      const perLoop = jsBatch
        ? await timeAsync(
            () => {
              for (let b = 0; b < batch; b++) {
                dotAll(users.subarray(b * dim, (b + 1) * dim), items, n, dim, scores);
                topK(scores, n, K);
              }
            },
            { minMs, warmup: 1, minReps: 3 },
          )
        : null;
      const perBlock = jsBatch
        ? await timeAsync(
            () => {
              dotBlocked(users, batch, items, n, dim, bScores);
              for (let b = 0; b < batch; b++) topK(bScores.subarray(b * n, (b + 1) * n), n, K);
            },
            { minMs, warmup: 1, minReps: 3 },
          )
        : null;
      const loopsPer = perLoop ? perLoop.cpu / batch : loops.cpu;
      batched.push({
        n,
        dim,
        batch,
        loops_cpu_ms_per_learner: round(loopsPer),
        blocked_cpu_ms_per_learner: perBlock ? round(perBlock.cpu / batch) : '',
        onnx_cpu_ms_per_learner: round(perOnnx.cpu / batch),
        onnx_wall_ms_per_learner: round(perOnnx.median / batch),
        onnx_x_vs_loops: round(loopsPer / (perOnnx.cpu / batch)),
      });
      if (n === 100_000 && dim === 64) batched100k = perOnnx.median / batch;
    }
    if (dim === 64) {
      for (const n of sizes.filter((x) => x >= 100_000)) {
        const iv = await ivfSection(all.subarray(0, n * dim), n, dim, topics, args.quick);
        report.sections.push({
          title: `${n.toLocaleString()} x ${dim}: candidate generation (IVF) vs exhaustive`,
          rows: iv.rows,
          notes: [
            iv.note,
            'Synthetic factors with latent-topic structure (bench/lib/factors.ts); IVF recall depends on that structure (on isotropic noise no partitioning helps).',
          ],
        });
        const c = iv.chosen;
        // the 1M target is the candidate-generation one; at 100k the exhaustive onnxruntime scan is the path (above)
        if (n >= 1_000_000)
          report.targets.push({
            target: 'rank one learner at 1M <= 10 ms with recall >= 98%',
            measured: c
              ? `${round(c.ms)} ms wall / ${round(c.cpu)} ms CPU, recall ${round(c.recall)} (IVF nprobe=${c.nprobe})`
              : 'no nprobe reached 98% recall',
            pass: !!c && c.cpu <= 10,
          });
      }
    }
  }
  report.sections.unshift({
    title: `Batched re-rank of ${batch} learners (ms per learner)`,
    rows: batched,
    notes: [
      'At 1M the JS batch columns repeat the single-learner figure (32 JS scans of 1M rows per rep are skipped to keep the run short).',
    ],
  });
  report.sections.unshift({
    title: `Rank one learner, exhaustive top-${K} (median ms per call)`,
    rows: single,
    notes: [
      'cpu = user+system CPU of this process per call; wall = elapsed. The machine is shared (see load avg), so wall includes waiting for a core.',
      'agree: unroll4 returns the same top-10 as loops; onnx >= 90% of it (float summation order differs).',
      'onnx: Gemm(transB)+TopK, 1 intra-op thread (one pipeline stage per core), items held by the session as an initializer; onnx_items_input: the item matrix passed as an input tensor on every call (what a live, changing table needs); OnnxTopK: the models/kernel production class (same graph plus a bias/exclusion input). ml-matrix only up to 100k rows (1M boxed Float64 rows > 1 GiB).',
    ],
  });
  if (best100k)
    report.targets.unshift({
      target: 'rank one learner at 100k x 64 <= 2 ms (exhaustive)',
      measured: `${best100k.method}: ${round(best100k.cpu)} ms CPU / ${round(best100k.wall)} ms wall; batched onnx ${round(batched100k)} ms wall per learner`,
      pass: best100k.cpu <= 2,
    });
  emitReport(report, args);
}
