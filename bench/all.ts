/**
 * `npm run bench -- all [--quick] [--with-startup] [--skip a,b] [--pin] [--profiles]`: every scenario in turn, each in its own process
 * (`npm run bench -- <scenario>` exactly as a user runs it, so one scenario's heap, JIT state or open sockets cannot
 * bias the next), on one stack started once here (and stopped at the end only if this run started it). Prints each
 * scenario's own tables as it goes, then one summary of every target the scenarios checked, and writes
 * bench/results/all-<time>.json with the JSON file of each scenario. This is what docs/benchmarks.md is re-measured
 * with from a fresh clone. `startup` clones the checkout and times `npm start` with empty caches (several minutes),
 * so it runs only with --with-startup. `--pin` is passed to `read` (generator and servers on different CPUs).
 * `--profiles` then runs the scenarios with targets on the services (read, ingest, freshness) a second time with
 * `--profile`, for the "where the time goes" of docs/benchmarks.md: separate runs, because the profiler slows what it
 * records, so their figures are not in the target summary.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfig } from '../lib/config';
import { runTsx } from './lib/child';
import { progress, type Report } from './lib/report';
import { ensureStack } from './lib/stack';
import { formatTable } from './lib/table';

/** The order of docs/benchmarks.md: no services first, then the ones that share the stack. */
export const ORDER = ['kernel', 'rerank', 'memory', 'encoder', 'read', 'ingest', 'freshness'] as const;

/** Scenarios that can record a CPU profile of their measured phase. */
const PROFILED = ['read', 'ingest', 'freshness'];

interface Outcome {
  scenario: string;
  /** A --profile re-run: its targets are not part of the summary. */
  profiled?: boolean;
  exitCode: number | null;
  seconds: number;
  /** JSON reports the scenario wrote to bench/results/ during its run. */
  reports: string[];
}

const RESULTS = path.join(__dirname, 'results');

function runScenario(name: string, flags: string[], profiled = false): Promise<Outcome> {
  const before = new Set(fs.existsSync(RESULTS) ? fs.readdirSync(RESULTS) : []);
  const t0 = performance.now();
  return runTsx(path.join(__dirname, 'index.ts'), [name, ...flags]).then((code) => {
    const after = fs.existsSync(RESULTS) ? fs.readdirSync(RESULTS) : [];
    const reports = after.filter((f) => !before.has(f) && f.startsWith(name) && f.endsWith('.json')).map((f) => path.join(RESULTS, f));
    return { scenario: profiled ? `${name} --profile` : name, profiled, exitCode: code, seconds: (performance.now() - t0) / 1000, reports };
  });
}

export async function run(argv: string[]): Promise<void> {
  const quick = argv.includes('--quick');
  const skipAt = argv.indexOf('--skip');
  const skip = new Set(skipAt >= 0 ? (argv[skipAt + 1] ?? '').split(',') : []);
  const names: string[] = ORDER.filter((s) => !skip.has(s));
  if (argv.includes('--with-startup')) names.push('startup');
  const flagsFor = (name: string): string[] => [
    ...(quick ? ['--quick'] : []),
    ...(name === 'read' && argv.includes('--pin') ? ['--pin'] : []),
  ];
  const stack = await ensureStack(loadConfig());
  const outcomes: Outcome[] = [];
  const startedAt = new Date().toISOString();
  try {
    for (const name of names) {
      progress(`all: ${name} (load avg ${os.loadavg()[0].toFixed(2)})`);
      outcomes.push(await runScenario(name, flagsFor(name)));
    }
    if (argv.includes('--profiles')) {
      for (const name of names.filter((n) => PROFILED.includes(n))) {
        progress(`all: ${name} --profile (load avg ${os.loadavg()[0].toFixed(2)})`);
        outcomes.push(await runScenario(name, [...flagsFor(name), '--profile'], true));
      }
    }
  } finally {
    await stack.stop();
  }
  const targets = outcomes
    .filter((o) => !o.profiled)
    .flatMap((o) =>
      o.reports.flatMap((f) => {
        const r = JSON.parse(fs.readFileSync(f, 'utf8')) as Partial<Report>;
        return (r.targets ?? []).map((t) => ({
          scenario: o.scenario,
          target: t.target,
          measured: t.measured,
          result: t.pass ? 'met' : 'MISSED',
        }));
      }),
    );
  const runs = outcomes.map((o) => ({
    scenario: o.scenario,
    exit: o.exitCode ?? 'signal',
    seconds: Math.round(o.seconds),
    report: o.reports.map((f) => path.relative(process.cwd(), f)).join(' ') || '—',
  }));
  process.stdout.write(
    `\n# all scenarios${quick ? ' (quick)' : ''} — started ${startedAt}, load avg at end ${os.loadavg()[0].toFixed(2)}\n\n${formatTable(runs)}\n\n## Targets\n\n${formatTable(targets)}\n`,
  );
  fs.mkdirSync(RESULTS, { recursive: true });
  const file = path.join(RESULTS, `all${quick ? '-quick' : ''}-${startedAt.replace(/[:.]/g, '-')}.json`);
  fs.writeFileSync(file, JSON.stringify({ startedAt, quick, runs: outcomes, targets }, null, 2) + '\n');
  process.stdout.write(`\nJSON written to ${path.relative(process.cwd(), file)}\n`);
  if (outcomes.some((o) => o.exitCode !== 0))
    throw new Error(
      `failed: ${outcomes
        .filter((o) => o.exitCode !== 0)
        .map((o) => o.scenario)
        .join(', ')}`,
    );
}
