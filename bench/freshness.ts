/**
 * Freshness: time from producing an interaction to its learner's list being acknowledged by Redis, at 100, 1,000 and
 * 5,000 events/s. Measured by the pipeline itself: every list write emits `list.written {freshnessMs}` = Redis ACK
 * time - Kafka record timestamp (set at produce) of the newest event the list reflects. Coalescing: a learner's events
 * within pipeline.rerankIntervalMs share one re-rank; the list then counts once, for its newest event.
 * The learner and item stages run in this process (distributed mode, replica of model.item-factors) on config.kafka.partitions
 * partitions; the producer paces pre-serialised events from the same process.
 * `npm run bench -- freshness [--quick] [--json] [--profile [--profile-rate R]] [--max-replica-lag N]` (--profile: CPU
 * profile of the 1,000/s step, or of the step at R/s; --max-replica-lag: the learner's wait for its replica, pipeline default 2000, 0 = off); needs the stack (started when absent).
 */
import { loadConfig } from '../lib/config';
import { createWorld, interactionMessages, publishCatalogue, startLearner, type BenchWorld } from './lib/pipeline';
import { emitReport, newReport, progress, type BenchArgs } from './lib/report';
import { ensureStack } from './lib/stack';
import { startProfile } from './lib/cpuprofile';
import { cpuMs, round, summarize } from './lib/stats';
import { summarise } from './profile';
import * as fs from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Row } from './lib/table';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Sends `msgs` at `rate`/s: every 5 ms, whatever the schedule says is due, as one batch; acks awaited at the end. */
async function paced(w: BenchWorld, msgs: { key: string; value: Buffer }[], rate: number): Promise<{ seconds: number; failed: number }> {
  const t0 = performance.now();
  let sent = 0;
  let failed = 0;
  const inflight = new Set<Promise<unknown>>();
  while (sent < msgs.length) {
    const due = Math.min(msgs.length, Math.floor(((performance.now() - t0) / 1000) * rate) + 1);
    if (due > sent) {
      const p = w.producer.send({ topic: w.topic.interactions, messages: msgs.slice(sent, due), acks: 1 }).catch(() => void failed++);
      inflight.add(p);
      void p.finally(() => inflight.delete(p));
      sent = due;
    }
    await sleep(5);
  }
  await Promise.all(inflight);
  return { seconds: (performance.now() - t0) / 1000, failed };
}

export async function run(args: BenchArgs): Promise<void> {
  const report = newReport('freshness', args);
  const base = loadConfig();
  const rates = [100, 1000, 5000];
  const seconds = args.quick ? 4 : 10;
  const items = args.quick ? 2000 : 10_000;
  const users = 20_000;
  const stack = await ensureStack(base);
  const rows: Row[] = [];
  const ioRows: Row[] = [];
  const w = await createWorld('fresh', base.kafka.partitions);
  let learner: Awaited<ReturnType<typeof startLearner>> | null = null;
  try {
    progress(`catalogue of ${items.toLocaleString()} resources; learner stage on ${base.kafka.partitions} partitions`);
    const resources = await publishCatalogue(w, items);
    let consumed = 0;
    let window: number[] | null = null;
    w.instr.on('event.consumed', (e) => {
      if (e.topic === w.topic.interactions) consumed++; // not the item stage's model.item-updates records
    });
    w.instr.on('list.written', (e) => window?.push(e.freshnessMs));
    // I/O per event of each step: Redis commands (a MULTI or a pipelined batch counts once per store call) and
    // records produced per topic, and the learners per re-rank batch
    const io = { redis: new Map<string, number>(), records: new Map<string, number>(), sends: 0, batches: 0, reranks: 0 };
    w.instr.on('redis.command', (e) => io.redis.set(e.command, (io.redis.get(e.command) ?? 0) + 1));
    w.instr.on('producer.sent', (e) => {
      const t = e.topic.slice(w.config.kafka.topicPrefix.length);
      io.records.set(t, (io.records.get(t) ?? 0) + e.count);
      io.sends++;
    });
    w.instr.on('rerank', (e) => {
      io.reranks++;
      io.batches += 1 / (e.batch ?? 1);
    });
    const profileArg = args.rest.indexOf('--profile-rate');
    const profileRate = profileArg >= 0 ? Number(args.rest[profileArg + 1]) : 1000;
    const lagArg = args.rest.indexOf('--max-replica-lag');
    learner = await startLearner(w, lagArg >= 0 ? { maxReplicaLag: Number(args.rest[lagArg + 1]) } : {});
    // warm-up: JIT, replica, Redis connections; not measured
    const warm = interactionMessages(w, 300, users, resources, 1);
    await paced(w, warm, 300);
    let expected = warm.length;
    const t0 = Date.now();
    while (consumed < expected && Date.now() - t0 < 30_000) await sleep(20);
    await learner.pipeline.learner!.reranker.drain();

    for (const [i, rate] of rates.entries()) {
      // the top rate runs shorter: past saturation a longer step only grows the backlog (and the run time)
      const stepS = rate >= 5000 ? Math.min(seconds, 4) : seconds;
      const msgs = interactionMessages(w, rate * stepS, users, resources, 100 + i);
      progress(`${rate.toLocaleString()} events/s for ${stepS} s`);
      window = [];
      io.redis.clear();
      io.records.clear();
      io.sends = io.batches = io.reranks = 0;
      const stopProfile = args.rest.includes('--profile') && rate === profileRate ? startProfile(`freshness-${rate}`) : null;
      const c0 = cpuMs();
      // how long the event loop was held (a re-rank batch ranked in one block delays every ack behind it)
      const loop = monitorEventLoopDelay({ resolution: 5 });
      loop.enable();
      const sent = await paced(w, msgs, rate);
      expected += msgs.length;
      // let the stage catch up (bounded): events it is still behind on show up as high freshness, as they should
      const t1 = Date.now();
      while (consumed < expected && Date.now() - t1 < 30_000) await sleep(20);
      const behind = expected - consumed;
      await learner.pipeline.learner!.reranker.drain();
      loop.disable();
      // the whole process: producer, learner and item stages, replica; live traffic (one event per learner per batch)
      const cpuPerEvent = (cpuMs() - c0) / msgs.length;
      if (stopProfile) {
        const file = await stopProfile();
        const prof = summarise(JSON.parse(fs.readFileSync(file, 'utf8')) as Parameters<typeof summarise>[0], 15);
        const busy = prof.totalMs - (prof.byArea.find(([a]) => a === '(idle)')?.[1] ?? 0);
        report.sections.push({
          title: `CPU profile at ${rate.toLocaleString()} events/s (self time by area)`,
          rows: prof.byArea.map(([a, ms]) => ({
            area: a,
            self_ms: round(ms),
            share_of_busy: a === '(idle)' ? '' : `${round((100 * ms) / busy)}%`,
          })),
          notes: [
            `profile: ${file}`,
            'top functions: ' +
              prof.byFunction
                .filter(([f]) => !f.startsWith('('))
                .slice(0, 8)
                .map(([f, ms]) => `${f} ${round(ms)} ms`)
                .join('; '),
          ],
        });
      }
      const s = summarize(window);
      window = null;
      rows.push({
        target_rate: rate,
        seconds: stepS,
        achieved_produce_rate: round(msgs.length / sent.seconds),
        events: msgs.length,
        lists_written: s.n,
        p50_ms: round(s.p50),
        p95_ms: round(s.p95),
        p99_ms: round(s.p99),
        max_ms: round(s.max),
        not_consumed_after_30s: behind,
        loop_delay_p99_ms: round(loop.percentile(99) / 1e6),
        loop_delay_max_ms: round(loop.max / 1e6),
        process_cpu_ms_per_event: round(cpuPerEvent),
      });
      const per = (n: number) => round(n / msgs.length);
      ioRows.push({
        target_rate: rate,
        redis_calls_per_event: per([...io.redis.values()].reduce((a, b) => a + b, 0)),
        redis_by_command: [...io.redis].map(([c, n]) => `${c} ${per(n)}`).join(', '),
        kafka_records_per_event: [...io.records].map(([t, n]) => `${t} ${per(n)}`).join(', '),
        kafka_sends_per_event: per(io.sends),
        learners_per_rerank_batch: io.batches > 0 ? round(io.reranks / io.batches) : 0,
      });
      if (rate === 1000)
        report.targets.push({
          target: 'freshness p99 <= 50 ms at 1,000 events/s',
          measured: `p50 ${round(s.p50)} ms, p99 ${round(s.p99)} ms`,
          pass: s.p99 <= 50 && behind === 0,
        });
      if (rate === 1000)
        report.targets.push({
          target: 'live: CPU <= 0.15 ms per event at 1,000 events/s (whole process incl. producer and item stage)',
          measured: `${round(cpuPerEvent)} ms`,
          pass: cpuPerEvent <= 0.15,
        });
      if (behind > 0 && i < rates.length - 1) {
        progress(`stage ${behind} events behind; waiting for it before the next rate`);
        const t2 = Date.now();
        while (consumed < expected && Date.now() - t2 < 120_000) await sleep(50);
      }
    }
  } finally {
    await learner?.stop();
    await w.close();
    await stack.stop();
  }
  report.sections.push({
    title: 'Produce -> list written (ms)',
    rows,
    notes: [
      `${users.toLocaleString()} learners, ${items.toLocaleString()} resources (dim ${base.model.dim}, top-${base.pipeline.topN} lists), re-rank coalescing ${base.pipeline.rerankIntervalMs} ms, ${base.kafka.partitions} partitions, one learner-stage process.`,
      'Percentiles are over lists written during each step (one per re-rank; a list reflecting several events counts once, for its newest).',
      `loop_delay: event-loop delay (perf_hooks, 5 ms resolution) over the step: how long the loop was held at once. Re-rank chunk: pipeline.rerankChunk ${base.pipeline.rerankChunk} (0 = a batch ranked in one block).`,
    ],
  });
  report.sections.push({
    title: 'I/O per event of each step (learner and item stages)',
    rows: ioRows,
    notes: [
      'Redis: store calls by command (a MULTI, or a batch of list writes, is one call). Kafka: records produced per topic (prefix stripped) and produce requests.',
    ],
  });
  emitReport(report, args);
}
