/**
 * Per-function A/B of the learner stage's re-rank parts across checkouts, in one process: each checkout's own modules
 * (`rank()` of models/ranking, `Recommender.pool` + `score`, `topKSelect`) on the same inputs, rounds alternating the
 * order, outputs compared (an error if any checkout's differs from the first's). Finer than the whole-stage
 * `npm run bench -- learner --baseline`, whose spread between pairs on a shared machine is larger than a cut of a few
 * percent. `npx tsx bench/parts-ab.ts <checkout> <checkout> [...]` (e.g. a detached checkout of main, then this one);
 * each checkout needs its own modules resolvable (node_modules in it or above it).
 */
import * as path from 'node:path';
import { makeRankCase } from './lib/rank-inputs';
import { gaussian, mulberry32 } from '../models/random/prng';

/* eslint-disable @typescript-eslint/no-require-imports */
type RankFn = typeof import('../models/ranking/rank').rank;
type SelectFn = typeof import('../models/kernel/select').topKSelect;
type RecommenderClass = typeof import('../models/recommender/recommender').Recommender;
type SignalsClass = typeof import('../models/recommender/signals').ItemSignals;

const median = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1];

/** One checkout's part: `work` is what is timed (`calls` calls of the part), `output` what is compared (not timed). */
interface Part {
  work: (round: number) => void;
  output: () => string;
}

function ab(roots: string[], label: string, rounds: number, calls: number, parts: Part[]): void {
  const outs = parts.map((p) => p.output());
  outs.forEach((o, q) => {
    if (o !== outs[0]) throw new Error(`${label}: ${roots[q]} differs from ${roots[0]}`);
  });
  const per = roots.map(() => [] as number[]);
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 ? [...roots.keys()].reverse() : [...roots.keys()];
    for (const q of order) {
      const t0 = process.cpuUsage();
      parts[q].work(round);
      const t = process.cpuUsage(t0);
      per[q].push((t.user + t.system) / calls);
    }
  }
  roots.forEach((r, q) =>
    process.stdout.write(
      `${label.padEnd(14)} ${median(per[q]).toFixed(1).padStart(7)} us per call  ${r} (median of ${rounds} rounds, same output)\n`,
    ),
  );
}

type Case = ReturnType<typeof makeRankCase>;

function rankCases(): Case[] {
  const rng = mulberry32(5);
  const out: Case[] = [];
  for (let seed = 1; seed <= 40; seed++) {
    const { input, options } = makeRankCase(seed, { n: 330, shape: 'learner' });
    // as the learner stage hands them: no completed resource, one candidate per id, the recommender's relevance
    const seen = new Set<string>();
    const candidates = input.candidates.filter(
      (c) => !input.learner.completed.has(c.resourceId) && !seen.has(c.resourceId) && seen.add(c.resourceId),
    );
    for (const c of candidates) c.relevance = gaussian(rng, 0.3);
    out.push({
      input: { ...input, candidates, uniqueIds: true, excludesCompleted: true },
      options: { ...options, weights: { relevance: 1, collab: 0, popularity: 0 } },
    });
  }
  return out;
}

function main(roots: string[]): void {
  const cases = rankCases();
  const ranks = roots.map((r) => (require(path.join(r, 'models/ranking/rank')) as { rank: RankFn }).rank);
  ab(
    roots,
    'rank()',
    16,
    4 * cases.length,
    ranks.map((rank) => ({
      work: () => {
        for (let rep = 0; rep < 4; rep++) for (const c of cases) rank(c.input, c.options);
      },
      output: () => cases.map((c) => JSON.stringify(rank(c.input, c.options))).join('\n'),
    })),
  );

  const N = 10_000;
  const worlds = roots.map((r) => {
    const { Recommender } = require(path.join(r, 'models/recommender/recommender')) as { Recommender: RecommenderClass };
    const { ItemSignals } = require(path.join(r, 'models/recommender/signals')) as { ItemSignals: SignalsClass };
    const rng = mulberry32(7);
    const s = new ItemSignals();
    for (let i = 0; i < N; i++) s.addPopularity(i, 1 + Math.floor(rng() * 5), Math.floor(rng() * 1e6));
    for (let e = 0; e < 40_000; e++) s.addLink(Math.floor(rng() * N), Math.floor(rng() * N), 1, Math.floor(rng() * 1e6));
    return { s, rec: new Recommender(), rng: mulberry32(9) };
  });
  // a few engagements between two learners' re-ranks move some items' popularity (and now and then the maximum)
  const step = (w: (typeof worlds)[number], t: number): Float64Array => {
    for (let u = 0; u < 5; u++) w.s.addPopularity(Math.floor(w.rng() * N), 1, t);
    const recent = Array.from({ length: 10 }, () => Math.floor(w.rng() * N));
    const extra = Int32Array.from({ length: 300 }, () => Math.floor(w.rng() * N));
    const pool = w.rec.pool(w.s, recent, extra, N, () => true, t);
    const vals = new Float64Array(pool.length);
    w.rec.score(w.s, pool, undefined, vals);
    return vals;
  };
  ab(
    roots,
    'pool + score',
    16,
    500,
    worlds.map((w) => ({
      work: (round) => {
        for (let r = 0; r < 500; r++) step(w, 2e6 + round * 500 + r);
      },
      output: () => Array.from({ length: 200 }, (_, r) => step(w, 1e6 + r).join(',')).join('\n'),
    })),
  );

  const dim = 32;
  const B = 16;
  const rng = mulberry32(3);
  const items = Float32Array.from({ length: N * dim }, () => gaussian(rng, 0.1));
  const S = new Float32Array(B * N);
  for (let j = 0; j < B; j++) {
    const u = Float32Array.from({ length: dim }, () => gaussian(rng, 0.3));
    for (let i = 0; i < N; i++) {
      let s = 0;
      for (let d = 0; d < dim; d++) s += u[d] * items[i * dim + d];
      S[j * N + i] = s;
    }
    for (let r = 0; r < 20; r++) S[j * N + Math.floor(rng() * N)] = -Infinity;
  }
  const selects = roots.map((r) => (require(path.join(r, 'models/kernel/select')) as { topKSelect: SelectFn }).topKSelect);
  ab(
    roots,
    'topKSelect',
    16,
    100 * B,
    selects.map((select) => ({
      work: () => {
        for (let rep = 0; rep < 100; rep++) for (let j = 0; j < B; j++) select(S, j * N, N, 300);
      },
      output: () => Array.from({ length: B }, (_, j) => select(S, j * N, N, 300).join(',')).join('\n'),
    })),
  );
}
/* eslint-enable @typescript-eslint/no-require-imports */

if (require.main === module) {
  const roots = process.argv.slice(2).map((r) => path.resolve(r));
  if (roots.length < 2) throw new Error('usage: npx tsx bench/parts-ab.ts <checkout> <checkout> [...]');
  main(roots);
}
