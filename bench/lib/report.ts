import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { formatTable, type Row } from './table';

/** Command-line flags every scenario understands. */
export interface BenchArgs {
  /** Print the JSON report on stdout (tables then go to stderr). */
  json: boolean;
  /** Smaller sizes / shorter runs, for a smoke check (seconds instead of minutes). */
  quick: boolean;
  /** Remaining scenario-specific arguments. */
  rest: string[];
}

export function parseBenchArgs(argv: string[]): BenchArgs {
  const rest: string[] = [];
  let json = false;
  let quick = false;
  for (const a of argv) {
    if (a === '--json') json = true;
    else if (a === '--quick') quick = true;
    else rest.push(a);
  }
  return { json, quick, rest };
}

export interface Section {
  title: string;
  rows: Row[];
  columns?: string[];
  /** Lines printed under the table (targets, baselines, caveats). */
  notes?: string[];
}

export interface Report {
  scenario: string;
  quick: boolean;
  startedAt: string;
  machine: ReturnType<typeof machine>;
  sections: Section[];
  /** Target checks: what was asked, what was measured, pass or not. */
  targets: { target: string; measured: string; pass: boolean }[];
  /** Headline numbers of a scenario by name (for scripts comparing runs), when it has any. */
  figures?: Record<string, number>;
}

export function machine(): { node: string; cpu: string; cores: number; memGiB: number; platform: string; loadAvg1m: number } {
  return {
    // the machine is shared: the 1-minute load average at start says how much of the 2 cores the run really had
    loadAvg1m: Number(os.loadavg()[0].toFixed(2)),
    node: process.version,
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    memGiB: Math.round(os.totalmem() / 2 ** 30),
    platform: `${os.platform()} ${os.release()}`,
  };
}

export function newReport(scenario: string, args: BenchArgs): Report {
  return { scenario, quick: args.quick, startedAt: new Date().toISOString(), machine: machine(), sections: [], targets: [] };
}

/** Progress on stderr, so `--json` output on stdout stays parseable. */
export function progress(msg: string): void {
  process.stderr.write(`[bench] ${msg}\n`);
}

/**
 * Prints every section as a table (stdout, or stderr with --json), writes the JSON to bench/results/<scenario>-<time>.json
 * (gitignored) and, with --json, prints it on stdout. Returns the file written.
 */
export function emitReport(report: Report, args: BenchArgs): string {
  const out = args.json ? process.stderr : process.stdout;
  const m = report.machine;
  out.write(
    `\n# ${report.scenario}${report.quick ? ' (quick)' : ''} — ${m.cpu}, ${m.cores} cores, ${m.memGiB} GiB, Node ${m.node}, load avg at start ${m.loadAvg1m}, end ${os.loadavg()[0].toFixed(2)}\n`,
  );
  for (const s of report.sections) {
    out.write(`\n## ${s.title}\n\n${formatTable(s.rows, s.columns)}\n`);
    for (const n of s.notes ?? []) out.write(`\n${n}\n`);
  }
  if (report.targets.length) {
    out.write(
      `\n## Targets\n\n${formatTable(report.targets.map((t) => ({ target: t.target, measured: t.measured, result: t.pass ? 'met' : 'MISSED' })))}\n`,
    );
  }
  const dir = path.join(__dirname, '..', 'results');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${report.scenario}${report.quick ? '-quick' : ''}-${report.startedAt.replace(/[:.]/g, '-')}.json`);
  const json = JSON.stringify(report, null, 2);
  fs.writeFileSync(file, json + '\n');
  out.write(`\nJSON written to ${path.relative(process.cwd(), file)}\n`);
  if (args.json) process.stdout.write(json + '\n');
  return file;
}
