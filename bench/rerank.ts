/**
 * Re-rank: CPU per models/ranking rank() call on inputs shaped like the learner stage's (pipelines/learner/rank.ts:
 * ~350 candidates = 3 × topN collaborative plus extras, topN 100, MMR over the first 20 with factor rows as vectors,
 * reserveNew 3, P(success) for ~70% of the candidates, prerequisites, a completed set). The learner stage re-ranks a
 * learner on nearly every event, so this is per-event CPU.
 *   rank      models/ranking rank() (what production uses)
 *   baseline  the frozen pre-optimisation copy (test/unit/rank-reference), measured in the same process, rounds
 *             alternating with `rank` so both see the same machine load
 * Both must return identical lists before their times mean anything. `--profile` adds the top functions by self time
 * of `rank` (a CPU profile of its timed phase, in bench/results/).
 * `npm run bench -- rerank [--quick] [--json] [--profile] [--rounds N]`; no services needed.
 */
import { rank } from '../models/ranking';
import { rank as baselineRank } from '../test/unit/rank-reference/rank';
import { startProfile } from './lib/cpuprofile';
import { makeRankCase, type RankCase } from './lib/rank-inputs';
import { emitReport, newReport, progress, type BenchArgs } from './lib/report';
import { cpuMs, round, summarize } from './lib/stats';
import type { Row } from './lib/table';
import { summarise } from './profile';
import * as fs from 'node:fs';

type RankFn = typeof rank;

/** Learners per timed rep: different learners' inputs in turn, as the stage sees them (no single hot input). */
const CASES = 16;

/** CPU µs per rank() call, one sample per rep (a rep = one call per case), for `ms` of wall time. */
function measure(fn: RankFn, cases: readonly RankCase[], ms: number, out: number[]): void {
  const t0 = performance.now();
  do {
    const c0 = cpuMs();
    for (const c of cases) fn(c.input, c.options);
    out.push(((cpuMs() - c0) * 1000) / cases.length);
  } while (performance.now() - t0 < ms);
}

function agree(cases: readonly RankCase[]): boolean {
  return cases.every((c) => JSON.stringify(rank(c.input, c.options)) === JSON.stringify(baselineRank(c.input, c.options)));
}

export async function run(args: BenchArgs): Promise<void> {
  const report = newReport('rerank', args);
  const roundsArg = args.rest.indexOf('--rounds');
  const rounds = roundsArg >= 0 ? Number(args.rest[roundsArg + 1]) : args.quick ? 3 : 8;
  const profile = args.rest.includes('--profile');
  const sizes = args.quick ? [350] : [100, 350, 1000];
  const phaseMs = args.quick ? 150 : 400;
  const rows: Row[] = [];
  const notes: string[] = [];
  for (const n of sizes) {
    progress(`${n} candidates: ${CASES} learners, ${rounds} alternating rounds of ${phaseMs} ms per implementation`);
    const cases = Array.from({ length: CASES }, (_, k) => makeRankCase(100 + k, { n, shape: 'learner' }));
    const same = agree(cases);
    // warm both up (JIT) before any timed round
    const scratch: number[] = [];
    measure(baselineRank, cases, phaseMs, scratch);
    measure(rank, cases, phaseMs, scratch);
    const base: number[] = [];
    const cur: number[] = [];
    const stop = profile && n === 350 ? startProfile('rerank') : undefined;
    if (stop) await stop.started;
    for (let r = 0; r < rounds; r++) {
      // alternate which goes first: a load change mid-round then hurts both alike
      if (r % 2 === 0) {
        measure(baselineRank, cases, phaseMs, base);
        measure(rank, cases, phaseMs, cur);
      } else {
        measure(rank, cases, phaseMs, cur);
        measure(baselineRank, cases, phaseMs, base);
      }
    }
    if (stop) {
      const file = await stop();
      const s = summarise(JSON.parse(fs.readFileSync(file, 'utf8')) as Parameters<typeof summarise>[0], 12);
      notes.push(
        `CPU profile of the ${n}-candidate rounds (both implementations): ${file}; top self time:`,
        ...s.byFunction.map(([f, ms]) => `    ${ms.toFixed(0).padStart(6)} ms  ${f}`),
      );
    }
    const b = summarize(base);
    const c = summarize(cur);
    rows.push({
      candidates: n,
      topN: 100,
      mmr_head: 20,
      baseline_cpu_us: round(b.p50),
      rank_cpu_us: round(c.p50),
      baseline_p95_us: round(b.p95),
      rank_p95_us: round(c.p95),
      x_vs_baseline: round(b.p50 / c.p50),
      reps: `${b.n}/${c.n}`,
      identical: same,
    });
  }
  report.sections.push({
    title: 'CPU µs per rank() call (median over reps; a rep ranks 16 different learners once each)',
    rows,
    notes: [
      `baseline = the pre-optimisation ranker (test/unit/rank-reference), measured in the same process in ${rounds} rounds alternating with rank; identical = both return the same JSON for every case.`,
      ...notes,
    ],
  });
  const at350 = rows.find((r) => r.candidates === 350);
  if (at350)
    report.targets.push({
      target: 'rank() at 350 candidates returns the baseline lists',
      measured: String(at350.identical),
      pass: at350.identical === true,
    });
  emitReport(report, args);
  await Promise.resolve();
}
