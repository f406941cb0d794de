/**
 * Prequential evaluation CLI:
 *   npm run eval -- --dataset <name> [--path <dir>] [--json] [--limit N] [--from N] [--plot <file.svg>|none] [--methods a,b]
 *                   [--workers N] [--seed S] [--split test|validation (statics)] [--reps N] [--items N] [--dim a,b]
 * (--reps, --items, --dim: `--dataset kernels`, the scoring-kernel timing on synthetic factors)
 * Prints a table per evaluation (or the JSON results with --json) and writes the along-the-stream figure.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, relative } from 'node:path';
import { errorMessage } from '../lib/errors';
import { parseEvalArgs } from './eval/args';
import { RUNNERS } from './eval/runners';
import type { EvalTable } from './eval/types';

function formatTable(t: EvalTable): string {
  const cells = [t.columns, ...t.rows.map((r) => r.map(String))];
  const widths = t.columns.map((_, c) => Math.max(...cells.map((r) => String(r[c]).length)));
  const line = (r: (string | number)[]) => r.map((x, c) => String(x).padEnd(widths[c])).join('  ');
  return [t.title, line(t.columns), widths.map((w) => '-'.repeat(w)).join('  '), ...t.rows.map(line)].join('\n');
}

async function main(): Promise<void> {
  const { args, json } = parseEvalArgs(process.argv.slice(2));
  const { dataset } = args;
  const report = await RUNNERS[dataset](args);
  for (const f of report.figures) {
    mkdirSync(dirname(f.path), { recursive: true });
    writeFileSync(f.path, f.svg);
  }
  if (json) {
    const { source, totalSeconds, totalCpuSeconds, results } = report;
    process.stdout.write(`${JSON.stringify({ dataset, source, totalSeconds, totalCpuSeconds, results }, null, 2)}\n`);
    return;
  }
  const out = [`source: ${report.source}`, ...report.tables.map(formatTable)];
  for (const f of report.figures) out.push(`figure: ${relative(process.cwd(), f.path)}`);
  const cpu = report.totalCpuSeconds === undefined ? '' : `, ${report.totalCpuSeconds.toFixed(1)} s CPU (all threads)`;
  out.push(`total: ${report.totalSeconds.toFixed(1)} s wall${cpu}`);
  process.stdout.write(`${out.join('\n\n')}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`eval failed: ${errorMessage(err)}\n`);
  process.exit(1);
});
