/**
 * Ingest with the learner stage as separate processes (issue 19, item 2): `npm run bench -- ingest --instances 1,2`.
 * For each instance count, in the same run and in a fresh world (random prefixes, 4 partitions, the same catalogue and
 * events), the processes `npm start` runs for that layout (lib/config/layout.ts): k × `pipelines/main.ts --stage
 * learner --instance i` and one `--stage item` process (the learner's replica follows it). The events are produced
 * once the learner consumer group is stable with all k members (no rebalance inside the window), much faster than the
 * learners consume them, so they read a backlog. The window opens with the first event produced and closes when every
 * event has been consumed and the learners' lists are written (events consumed and lists written stop moving). Per count: events/s in the
 * window and CPU ms per event of the learner processes (process_cpu_seconds_total from each one's /metrics, so only
 * their own CPU), the item process' CPU beside it, and the 1-minute load average at both ends (the machine is shared:
 * the ratio between counts in one run is the figure, not the absolute rates).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfig } from '../lib/config';
import { createWorld, interactionMessages, produceAll, publishCatalogue, type BenchWorld } from './lib/pipeline';
import { progress, type Report } from './lib/report';
import { round } from './lib/stats';
import type { Row } from './lib/table';

const ROOT = path.join(__dirname, '..');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Proc {
  child: ChildProcess;
  port: number;
  exited: Promise<void>;
}

function startStage(w: BenchWorld, args: string[], basePort: number, port: number, stateDir: string, logFile: string): Proc {
  const log = fs.openSync(logFile, 'a');
  // checkpoint files, as the figures in docs/benchmarks.md were measured (the product's default is --state kafka)
  const stage = [...args, '--no-encoder', '--state', 'files', '--state-dir', stateDir];
  const child = spawn(process.execPath, ['--import', 'tsx', 'pipelines/main.ts', ...stage], {
    cwd: ROOT,
    env: {
      ...process.env,
      LEARNSTREAM_KAFKA_TOPIC_PREFIX: w.config.kafka.topicPrefix,
      LEARNSTREAM_KAFKA_PARTITIONS: String(w.config.kafka.partitions),
      LEARNSTREAM_REDIS_KEY_PREFIX: w.config.redis.keyPrefix,
      LEARNSTREAM_METRICS_PORT: String(basePort),
      LEARNSTREAM_LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', log, log],
  });
  fs.closeSync(log);
  return { child, port, exited: new Promise((r) => child.once('exit', () => r())) };
}

/** Sums of the series of `names` on a process' /metrics (NaN while it does not answer). */
async function scrape(port: number, names: string[], where: (line: string) => boolean = () => true): Promise<number[]> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(2000) })).text();
    return names.map((n) => {
      let s = 0;
      for (const line of text.split('\n'))
        if ((line.startsWith(`${n} `) || line.startsWith(`${n}{`)) && where(line)) s += Number(line.split(' ').pop());
      return s;
    });
  } catch {
    return names.map(() => NaN);
  }
}

interface Sample {
  consumed: number;
  lists: number;
  learnerCpuS: number;
  itemCpuS: number;
}

async function sample(learners: Proc[], item: Proc, interactions: string): Promise<Sample> {
  let consumed = 0;
  let lists = 0;
  let learnerCpuS = 0;
  for (const l of learners) {
    const [c] = await scrape(l.port, ['learnstream_pipeline_events_consumed_total'], (line) => line.includes(`topic="${interactions}"`));
    const [lw, cpu] = await scrape(l.port, ['learnstream_pipeline_lists_written_total', 'process_cpu_seconds_total']);
    consumed += c;
    lists += lw;
    learnerCpuS += cpu;
  }
  const [itemCpuS] = await scrape(item.port, ['process_cpu_seconds_total']);
  return { consumed, lists, learnerCpuS, itemCpuS };
}

async function groupStable(w: BenchWorld, groupId: string, members: number): Promise<boolean> {
  const admin = w.kafka.admin();
  await admin.connect();
  try {
    const { groups } = await admin.describeGroups([groupId]);
    return groups[0]?.state === 'Stable' && groups[0].members.length === members;
  } finally {
    await admin.disconnect();
  }
}

export interface InstancesResult {
  instances: number;
  events: number;
  seconds: number;
  eventsPerS: number;
  cpuMsPerEvent: number;
  itemCpuMsPerEvent: number;
  load: [number, number];
}

async function runOnce(k: number, n: number, users: number, items: number, basePort: number, work: string): Promise<InstancesResult> {
  const w = await createWorld(`inst${k}`, 4);
  const procs: Proc[] = [];
  try {
    const resources = await publishCatalogue(w, items);
    const messages = interactionMessages(w, n, users, resources);
    const stateDir = fs.mkdtempSync(path.join(work, `state-${k}-`));
    const item = startStage(w, ['--stage', 'item'], basePort, basePort, stateDir, path.join(work, `item-${k}.log`));
    procs.push(item);
    const learners: Proc[] = [];
    for (let i = 0; i < k; i++)
      learners.push(
        startStage(
          w,
          ['--stage', 'learner', '--instance', String(i)],
          basePort,
          basePort + 1 + i,
          stateDir,
          path.join(work, `learner-${k}-${i}.log`),
        ),
      );
    procs.push(...learners);
    const groupId = `${w.config.kafka.topicPrefix}learnstream-learner`;
    const interactions = w.topic.interactions;
    const deadline = Date.now() + 300_000;
    while (!(await groupStable(w, groupId, k))) {
      if (Date.now() > deadline) throw new Error(`learner group not stable with ${k} members after 300 s (logs in ${work})`);
      await sleep(100);
    }
    let s0 = await sample(learners, item, interactions);
    while (Number.isNaN(s0.learnerCpuS + s0.itemCpuS)) {
      if (Date.now() > deadline) throw new Error(`a stage process does not serve /metrics after 300 s (logs in ${work})`);
      await sleep(100);
      s0 = await sample(learners, item, interactions);
    }
    // every member holds its partitions before the first event arrives (no rebalance in the window); the producer
    // outruns the learners many times over, so they read a backlog all the same
    const load0 = os.loadavg()[0];
    const t0 = performance.now();
    progress(`${k} learner instance(s): group stable; producing and measuring`);
    await produceAll(w, messages);
    let last = s0;
    let lastChange = performance.now();
    let tEnd = t0;
    // done when every event is consumed and neither consumption nor list writes moved for 3 s (the last re-ranks)
    for (;;) {
      await sleep(250);
      const s = await sample(learners, item, interactions);
      if (s.consumed !== last.consumed || s.lists !== last.lists) {
        lastChange = performance.now();
        tEnd = lastChange;
        last = s;
      }
      if (s.consumed >= n && performance.now() - lastChange > 3000) break;
      if (performance.now() - lastChange > 60_000)
        throw new Error(`${k} learner instance(s): no progress for 60 s at ${s.consumed} of ${n} events (logs in ${work})`);
    }
    const events = last.consumed - s0.consumed;
    const seconds = (tEnd - t0) / 1000;
    return {
      instances: k,
      events,
      seconds,
      eventsPerS: events / seconds,
      cpuMsPerEvent: ((last.learnerCpuS - s0.learnerCpuS) * 1000) / events,
      itemCpuMsPerEvent: ((last.itemCpuS - s0.itemCpuS) * 1000) / events,
      load: [load0, os.loadavg()[0]],
    };
  } finally {
    for (const p of procs) p.child.kill('SIGTERM');
    await Promise.all(procs.map((p) => Promise.race([p.exited, sleep(30_000).then(() => p.child.kill('SIGKILL'))])));
    await w.close();
  }
}

/** Runs the comparison and adds its section, figures and target to `report`. */
export async function runInstances(report: Report, counts: number[], n: number, users: number, items: number): Promise<void> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ls-bench-inst-'));
  // the stages' metrics ports: the configured one and the next ones (as npm start derives them)
  const basePort = loadConfig().metrics.port;
  const results: InstancesResult[] = [];
  try {
    for (const k of counts) {
      progress(
        `${k} learner instance(s): producing ${n.toLocaleString()} interactions (${users} learners, ${items.toLocaleString()} resources, 4 partitions)`,
      );
      results.push(await runOnce(k, n, users, items, basePort, work));
    }
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  const base = results[0];
  const rows: Row[] = results.map((r) => ({
    learner_instances: r.instances,
    events_in_window: r.events,
    seconds: round(r.seconds),
    events_per_s: round(r.eventsPerS),
    vs_first: `${round((100 * r.eventsPerS) / base.eventsPerS)}%`,
    learner_cpu_ms_per_event: round(r.cpuMsPerEvent),
    item_process_cpu_ms_per_event: round(r.itemCpuMsPerEvent),
    load_1m_start_end: `${r.load[0].toFixed(1)} / ${r.load[1].toFixed(1)}`,
  }));
  report.sections.push({
    title: `Learner stage as ${counts.join(' vs ')} processes (npm start's layout), backlog of ${n.toLocaleString()} events over 4 partitions`,
    rows,
    notes: [
      'Each count in a fresh world (same catalogue, same events), k x `pipelines/main.ts --stage learner --instance i` + one `--stage item` process, run one after the other in this run.',
      "Window: events produced once the learner group is stable with all k members, from the first produced to the last consumed / list written; learner CPU from each process' process_cpu_seconds_total.",
      `The machine has ${os.availableParallelism()} cores shared with other work: the load average says how much of them the run had; compare the counts within the run.`,
    ],
  });
  report.figures = { ...report.figures };
  for (const r of results) {
    report.figures[`instances${r.instances}_events_per_s`] = round(r.eventsPerS);
    report.figures[`instances${r.instances}_cpu_ms_per_event`] = round(r.cpuMsPerEvent);
  }
  if (results.length > 1) {
    const last = results[results.length - 1];
    report.figures.instances_speedup = round(last.eventsPerS / base.eventsPerS);
  }
}
