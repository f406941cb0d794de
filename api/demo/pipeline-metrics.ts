/**
 * The few pipeline figures the demo page's latency/freshness panel shows, read from the pipeline's own /metrics
 * (Prometheus text format, lib/metrics/index.ts). Histograms give counts per bucket only, so a quantile is reported
 * as the bucket bound it falls under (`≤ 0.1 s`), never interpolated; figures are since the pipeline started.
 */

export interface HistogramFigures {
  count: number;
  /** Mean in seconds; null with no observation. */
  meanSec: number | null;
  /** Upper bound (seconds) of the bucket holding the median / 95th percentile; null with no observation, '+Inf' when
   * it lies beyond the largest finite bucket (a string, as JSON has no infinity). */
  p50LeSec: number | '+Inf' | null;
  p95LeSec: number | '+Inf' | null;
}

export interface PipelineFigures {
  /** learnstream_pipeline_freshness_seconds{source="personal"}: event time → personal list written. */
  freshness: HistogramFigures;
  /** learnstream_ranking_rerank_duration_seconds. */
  rerank: HistogramFigures;
  /** learnstream_pipeline_events_consumed_total, all topics. */
  eventsConsumed: number;
  /** learnstream_pipeline_lists_written_total, all sources. */
  listsWritten: number;
}

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parseSamples(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = LINE.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(LABEL)) labels[l[1]] = l[2];
    const value = m[3] === '+Inf' ? Infinity : Number(m[3]);
    if (!Number.isNaN(value)) out.push({ name: m[1], labels, value });
  }
  return out;
}

/** One histogram's figures, its series matching `where` summed (they share their bucket bounds). */
export function histogramFigures(
  samples: Sample[],
  name: string,
  where: (labels: Record<string, string>) => boolean = () => true,
): HistogramFigures {
  const mine = samples.filter((s) => s.name.startsWith(name) && where(s.labels));
  const total = (suffix: string) => mine.filter((s) => s.name === name + suffix).reduce((a, s) => a + s.value, 0);
  const count = total('_count');
  const sum = total('_sum');
  const byLe = new Map<number, number>();
  for (const s of mine) {
    if (s.name !== `${name}_bucket`) continue;
    const le = s.labels.le === '+Inf' ? Infinity : Number(s.labels.le);
    byLe.set(le, (byLe.get(le) ?? 0) + s.value);
  }
  const buckets = [...byLe].sort((a, b) => a[0] - b[0]);
  const quantile = (q: number): number | '+Inf' | null => {
    if (count === 0) return null;
    const le = buckets.find(([, c]) => c >= q * count)?.[0] ?? Infinity;
    return Number.isFinite(le) ? le : '+Inf';
  };
  return { count, meanSec: count === 0 ? null : sum / count, p50LeSec: quantile(0.5), p95LeSec: quantile(0.95) };
}

export function pipelineFigures(text: string): PipelineFigures {
  const samples = parseSamples(text);
  const sum = (name: string) => samples.filter((s) => s.name === name).reduce((a, s) => a + s.value, 0);
  return {
    freshness: histogramFigures(samples, 'learnstream_pipeline_freshness_seconds', (l) => l.source === 'personal'),
    rerank: histogramFigures(samples, 'learnstream_ranking_rerank_duration_seconds'),
    eventsConsumed: sum('learnstream_pipeline_events_consumed_total'),
    listsWritten: sum('learnstream_pipeline_lists_written_total'),
  };
}
