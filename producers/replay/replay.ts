import type { Dataset } from '../datasets';
import { KIND_EVENT, validateEvent, type KindedEvent } from '../../schemas';
import { formatIssue } from '../../schemas/validate';
import type { Publisher } from '../publisher';

export interface ReplayProgress {
  done: number;
  total: number;
  failed: number;
  elapsedMs: number;
}

export interface ReplayOptions {
  /** Target events per second (catalogue included); 0 or undefined = as fast as the broker acknowledges. */
  rate?: number;
  /** Called about every `progressIntervalMs` and once at the end. */
  onProgress?: (p: ReplayProgress) => void;
  /** Default 250 ms. */
  progressIntervalMs?: number;
  /** Publish the catalogue (resources) before the events. Default true. */
  catalogue?: boolean;
  /** Clock for the future-timestamp rule, epoch ms. Default Date.now. */
  now?: () => number;
}

export interface ReplaySummary {
  dataset: string;
  resources: number;
  events: number;
  /** Records the broker acknowledged (resources + events). */
  acked: number;
  /** Records not in Kafka: `invalid` ones plus those the broker did not acknowledge. acked + failed = all records. */
  failed: number;
  /** Records validateEvent rejected; they were never sent (counted in `failed` too). */
  invalid: number;
  /** Invalid records by issue code (`out-of-range`, `too-long`, ...); a record with several issues counts under each. */
  invalidByCode: Record<string, number>;
  /** First few failure messages; an invalid record's names its position, kind, id and every issue. */
  errors: string[];
  durationMs: number;
  eventsPerSec: number;
  skipped: Record<string, number>;
  notes: string[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const MAX_ERRORS = 10;

/**
 * Publishes a dataset through the Publisher in its original time order: the catalogue first, then the events.
 * Calls are issued in order without awaiting each ack (the publisher batches and applies backpressure), so per-key
 * order on the partitions is the dataset's order. Rate limiting schedules event i at start + i / rate.
 *
 * Every record first goes through validateEvent, the validator the collector and the consumers run: a mapping bug
 * or a bad row is counted (`invalid`, `invalidByCode`, `errors`) and never sent, instead of being dead-lettered
 * downstream or, for a rule Avro cannot express, slipping through.
 */
export async function replay(
  dataset: Dataset,
  publisher: Pick<Publisher, 'publishValid' | 'flush'>,
  opts: ReplayOptions = {},
): Promise<ReplaySummary> {
  const records: KindedEvent[] = [
    ...(opts.catalogue === false ? [] : dataset.resources.map((r) => ({ kind: 'resource' as const, event: r }))),
    ...dataset.events,
  ];
  const total = records.length;
  const started = performance.now();
  let acked = 0;
  let failed = 0;
  let invalid = 0;
  const invalidByCode: Record<string, number> = {};
  const errors: string[] = [];
  const clock = opts.now ?? Date.now;
  let lastReport = 0;
  const report = (force = false) => {
    const now = performance.now();
    if (!opts.onProgress || (!force && now - lastReport < (opts.progressIntervalMs ?? 250))) return;
    lastReport = now;
    opts.onProgress({ done: acked + failed, total, failed, elapsedMs: now - started });
  };
  const inflight: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    // Yield now and then so acks, timers and the progress bar get a turn during a fast loop.
    if (i % 2000 === 1999) {
      await sleep(0);
      report();
    }
    if (opts.rate && opts.rate > 0) {
      const due = started + (i / opts.rate) * 1000;
      const wait = due - performance.now();
      if (wait > 1) await sleep(wait);
    }
    const record = records[i];
    const checked = validateEvent(KIND_EVENT[record.kind], record.event, { now: clock() });
    if (!checked.ok) {
      invalid++;
      failed++;
      for (const code of new Set(checked.issues.map((x) => x.code))) invalidByCode[code] = (invalidByCode[code] ?? 0) + 1;
      if (errors.length < MAX_ERRORS)
        errors.push(`record ${i} (${record.kind} ${recordId(record)}) is invalid: ${checked.issues.map(formatIssue).join('; ')}`);
      continue;
    }
    const p = publisher.publishValid({ kind: record.kind, event: checked.value } as KindedEvent).then(
      () => {
        acked++;
      },
      (err: unknown) => {
        failed++;
        if (errors.length < MAX_ERRORS) errors.push((err as Error)?.message ?? String(err));
      },
    );
    inflight.push(p);
  }
  const ticker = setInterval(() => report(), opts.progressIntervalMs ?? 250);
  try {
    await publisher.flush();
    await Promise.all(inflight);
  } finally {
    clearInterval(ticker);
  }
  report(true);
  const durationMs = performance.now() - started;
  return {
    dataset: dataset.name,
    resources: opts.catalogue === false ? 0 : dataset.resources.length,
    events: dataset.events.length,
    acked,
    failed,
    invalid,
    invalidByCode,
    errors,
    durationMs,
    eventsPerSec: acked / (durationMs / 1000),
    skipped: dataset.skipped,
    notes: dataset.notes,
  };
}

function recordId(r: KindedEvent): string {
  const e = r.event as { eventId?: unknown; requestId?: unknown; resourceId?: unknown; userId?: unknown };
  return String(r.kind === 'resource' ? e.resourceId : (e.eventId ?? e.requestId ?? e.userId)).slice(0, 140);
}

/** `[#######-------]  52.1%  52,480/100,836  31,020 ev/s  ETA 2s` */
export function progressLine(p: ReplayProgress, width = 24): string {
  const frac = p.total === 0 ? 1 : p.done / p.total;
  const filled = Math.round(frac * width);
  const rate = p.elapsedMs > 0 ? p.done / (p.elapsedMs / 1000) : 0;
  const eta = rate > 0 ? (p.total - p.done) / rate : Infinity;
  const n = (x: number) => Math.round(x).toLocaleString('en-US');
  const etaText = Number.isFinite(eta) ? (eta >= 60 ? `${Math.floor(eta / 60)}m${Math.round(eta % 60)}s` : `${Math.ceil(eta)}s`) : '?';
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${(frac * 100).toFixed(1).padStart(5)}%  ${n(p.done)}/${n(p.total)}  ${n(rate)} ev/s  ETA ${etaText}${p.failed ? `  failed ${n(p.failed)}` : ''}`;
}
