/** Plain-text table for the terminal and for pasting into docs/benchmarks.md (it is valid Markdown). */
export type Row = Record<string, string | number | boolean | null | undefined>;

export function formatTable(rows: Row[], columns?: string[]): string {
  if (rows.length === 0) return '(no rows)';
  const cols = columns ?? [...new Set(rows.flatMap((r) => Object.keys(r)))];
  // NaN = not measured for this row (e.g. ml-matrix at 1M): an empty cell, not the word
  const cell = (v: Row[string]): string =>
    v === undefined || v === null || Number.isNaN(v) ? '' : typeof v === 'number' ? fmtNum(v) : String(v);
  const body = rows.map((r) => cols.map((c) => cell(r[c])));
  const width = cols.map((c, i) => Math.max(c.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]): string => `| ${cells.map((c, i) => c.padEnd(width[i])).join(' | ')} |`;
  return [line(cols), `|${width.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)].join('\n');
}

function fmtNum(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v)) return v.toLocaleString('en-US');
  const a = Math.abs(v);
  return a >= 100 ? Math.round(v).toLocaleString('en-US') : a >= 1 ? v.toFixed(2) : v.toPrecision(3);
}
