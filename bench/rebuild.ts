/**
 * Serving-view rebuild (issue 17, item 4): learners/s at which the learner stage rewrites its part of Redis from its
 * own state after the serving store came back empty (pipelines/learner/rewrite.ts, started by the epoch check in
 * pipelines/serving-epoch.ts). A learner and item stage (this process, distributed mode, the whole catalogue in the
 * replica) first learns `learners` × 2 interactions; then every key of the run's prefix is deleted (the epoch key
 * too), the epoch check runs, and the rewrite is timed until its last list is acknowledged. Baseline in the same run:
 * the same stage's live ingest (events/s and lists/s over the same learners and catalogue).
 * `npm run bench -- rebuild [--quick] [--json] [--learners N]`; needs the stack (started when absent).
 */
import { loadConfig } from '../lib/config';
import { createRedis } from '../lib/redis/client';
import { createWorld, interactionMessages, produceAll, publishCatalogue, startLearner } from './lib/pipeline';
import { emitReport, newReport, progress, type BenchArgs } from './lib/report';
import { ensureStack } from './lib/stack';
import { cpuMs, round } from './lib/stats';

async function until(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export async function run(args: BenchArgs): Promise<void> {
  const report = newReport('rebuild', args);
  const lArg = args.rest.indexOf('--learners');
  const users = lArg >= 0 ? Number(args.rest[lArg + 1]) : args.quick ? 3000 : 20_000;
  const n = users * 2;
  const items = args.quick ? 2000 : 10_000;
  const stack = await ensureStack(loadConfig());
  try {
    const w = await createWorld('rebuild', 1);
    try {
      progress(
        `producing ${n.toLocaleString()} interactions of ${users.toLocaleString()} learners over ${items.toLocaleString()} resources`,
      );
      const resources = await publishCatalogue(w, items);
      const messages = interactionMessages(w, n, users, resources);
      await produceAll(w, messages);
      let consumed = 0;
      let lists = 0;
      let t0 = 0;
      w.instr.on('event.consumed', (e) => {
        if (e.topic !== w.topic.interactions) return;
        if (t0 === 0) t0 = performance.now();
        consumed++;
      });
      w.instr.on('list.written', () => void lists++);
      const learner = await startLearner(w);
      try {
        const lp = learner.pipeline.learner!;
        progress('learner stage: live ingest (baseline)');
        await until(() => consumed >= n, 900_000, 'learner stage ingest');
        await lp.reranker.drain();
        const ingestS = (performance.now() - t0) / 1000;
        const ingestLists = lists;
        const held = lp.groupIds().reduce((s, g) => s + (lp.groupState(g)?.learners.size ?? 0), 0);

        progress(`deleting every key of the run (${held.toLocaleString()} learners' lists, the epoch key)`);
        const redis = createRedis(w.config);
        let cursor = '0';
        do {
          const [next, keys] = await redis.scan(cursor, 'MATCH', `${w.config.redis.keyPrefix}*`, 'COUNT', 1000);
          cursor = next;
          if (keys.length) await redis.unlink(...keys);
        } while (cursor !== '0');
        const epoch = learner.pipeline.epochs[0];
        if (!epoch) throw new Error('the pipeline watches no serving epoch (store without epoch support?)');
        progress('epoch check → rewrite');
        const c0 = cpuMs();
        const before = epoch.rewrites;
        await epoch.check();
        const cpuS = (cpuMs() - c0) / 1000;
        const r = learner.pipeline.lastLearnerRewrite;
        if (epoch.rewrites !== before + 1 || !r) throw new Error('the epoch check did not rewrite');
        // the rewrite reports done when its backlog is down to one chunk: count what Redis holds now
        await lp.reranker.drain();
        let back = 0;
        cursor = '0';
        do {
          const [next, keys] = await redis.scan(cursor, 'MATCH', `${w.config.redis.keyPrefix}rec:*`, 'COUNT', 1000);
          cursor = next;
          back += keys.length;
        } while (cursor !== '0');
        redis.disconnect();
        report.sections.push({
          title: 'Serving-view rewrite of the learner stage vs its live ingest (same process, same learners)',
          rows: [
            {
              path: 'live ingest (baseline)',
              learners: held,
              events: n,
              seconds: round(ingestS),
              events_per_s: round(n / ingestS),
              lists_written: ingestLists,
              lists_per_s: round(ingestLists / ingestS),
            },
            {
              path: 'rewrite after Redis loss',
              learners: r.learners,
              events: 0,
              seconds: round(r.seconds),
              learners_per_s: round(r.perSecond),
              cpu_ms_per_learner: round((cpuS * 1000) / Math.max(1, r.learners)),
              lists_back: back,
            },
          ],
          notes: [
            `Catalogue of ${items.toLocaleString()} resources (dim ${w.config.model.dim}); each learner's list is a full re-rank (top-${w.config.pipeline.topN}) plus its side keys (knowledge, completed, interests where it has them).`,
            'lists_back = recommendation keys in Redis after the rewrite (every learner the stage holds should have one).',
          ],
        });
        report.targets.push({ target: 'every learner held has its list back', measured: `${back} of ${held}`, pass: back >= held });
      } finally {
        await learner.stop();
      }
    } finally {
      await w.close();
    }
  } finally {
    await stack.stop();
  }
  emitReport(report, args);
}
