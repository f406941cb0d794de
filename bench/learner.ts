/**
 * The learner stage's own CPU per event, in process, without Kafka or Redis: the production LearnerProcessor
 * (distributed mode, the configuration `npm start` uses, onnxruntime candidate kernel) over the `ingest` scenario's
 * workload (10k resources with random factors and one topic each, 2,000 learners, view/click/complete/bookmark
 * events), fed in fetched batches as the stage runner does, lists written to the in-memory serving store (which
 * encodes them with the same list codec as Redis). The item stage is emulated in the same process: every item update
 * the learner sends is encoded (as the Kafka sink does) and applied at once to the replica it ranks from
 * (pipelines/item/apply); its time is measured apart and reported beside the stage's.
 *
 * Modes: `backlog` (batches of 500 records of a full topic, the stage's lag rule holding re-ranks over 8 batches while
 * more than 2,000 records wait) and `live` (batches of 16 events of 16 different learners, caught up: one re-rank per
 * event). `--baseline <checkout>` runs the same workload with another checkout's code (e.g. /work/main) in
 * alternating child processes and compares the lists every run wrote (a digest of every learner's final list: the
 * same digest = the same lists). `--growth`: #19 item 5's table (10k / 100k / 1M resources, IVF at 1M; 10k / 1M
 * learners).
 *
 * `npm run bench -- learner [--quick] [--json] [--events N] [--rounds N] [--baseline <checkout>] [--profile] [--growth]`
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as os from 'node:os';
import * as path from 'node:path';
import * as fs from 'node:fs';
import { emitReport, newReport, progress, type BenchArgs } from './lib/report';
import { round } from './lib/stats';
import { summarise } from './profile';
import type { Row } from './lib/table';

const HERE = path.resolve(__dirname, '..');

export interface ChildSpec {
  root: string;
  mode: 'backlog' | 'live';
  resources: number;
  learners: number;
  events: number;
  profile?: string;
  /** Every learner in state before the run (a 5-resource history each), as a stage that has seen them all would hold. */
  preload?: boolean;
  /** pipeline.ivfMinRows for this run (default: the config's); 0 = the exact kernel at every size. */
  ivfMinRows?: number;
  /** Return the final top-10 ids of the first this many learners (list overlap between runs). */
  sample?: number;
}

export interface ChildResult {
  root: string;
  mode: string;
  resources: number;
  learners: number;
  events: number;
  cpuMs: number;
  wallMs: number;
  /** time inside the emulated item stage (encode + apply of the updates the learner sent) */
  itemMs: number;
  reranks: number;
  usesOnnx: boolean;
  digest: string;
  profileFile?: string;
  /** learners scored from the IVF index, and the index's build wall ms (0: not used) */
  ivfLearners?: number;
  ivfBuildMs?: number;
  sample?: string[][];
}

/* ------------------------------------------------------------------ child: one run with one checkout's code */

export async function child(spec: ChildSpec): Promise<ChildResult> {
  const r = spec.root;
  // every module from the checkout under test (its own ItemTable, processor, ranker, store...)
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { LearnerProcessor } = require(path.join(r, 'pipelines/learner/processor')) as typeof import('../pipelines/learner/processor');
  const { learnerStageSettings } = require(path.join(r, 'pipelines/pipeline')) as typeof import('../pipelines/pipeline');
  const { loadConfig } = require(path.join(r, 'lib/config')) as typeof import('../lib/config');
  const { ItemTable } = require(path.join(r, 'pipelines/model/item-table')) as typeof import('../pipelines/model/item-table');
  const { applyItemUpdate } = require(path.join(r, 'pipelines/item/apply')) as typeof import('../pipelines/item/apply');
  const { encodeItemUpdate } = require(path.join(r, 'pipelines/messages')) as typeof import('../pipelines/messages');
  const { MemoryServingStore } = require(path.join(r, 'serving/memory-store')) as typeof import('../serving/memory-store');
  const { createLogger } = require(path.join(r, 'lib/log')) as typeof import('../lib/log');
  const { noopEmitter } = require(path.join(r, 'lib/metrics/instrumentation')) as typeof import('../lib/metrics/instrumentation');
  const { mulberry32, gaussian } = require(path.join(r, 'models/random/prng')) as typeof import('../models/random/prng');
  const { startProfile } = require(path.join(HERE, 'bench/lib/cpuprofile')) as typeof import('./lib/cpuprofile');
  const { EngagedSet } = require(path.join(r, 'pipelines/model/engaged')) as typeof import('../pipelines/model/engaged');
  /* eslint-enable @typescript-eslint/no-require-imports */
  type Ev = import('../consumers/event-types').InteractionEvent;

  const config = loadConfig({ env: {} });
  const s = learnerStageSettings(config);
  const model = s.model;
  const dim = model.dim;
  // the ingest scenario's catalogue (bench/lib/pipeline publishCatalogue): random factors, one topic of 300
  const TOPICS = Array.from({ length: 300 }, (_, i) => `topic-${i}`);
  const replica = new ItemTable(dim, 1024);
  const crng = mulberry32(3);
  const ids: string[] = [];
  for (let i = 0; i < spec.resources; i++) {
    const f = new Float32Array(dim);
    for (let d = 0; d < dim; d++) f[d] = gaussian(crng, 0.1);
    const id = `r${i}`;
    ids.push(id);
    replica.set({
      itemId: id,
      factors: f,
      bias: 0,
      count: 1,
      lastT: 0,
      active: true,
      meta: { type: 'article', topics: [TOPICS[Math.floor(crng() * TOPICS.length)]], skills: [], title: `Resource ${i}` },
    });
  }
  // the event stream (bench/lib/pipeline interactionMessages), event time 10 ms apart
  const T0 = 1_760_000_000_000;
  const erng = mulberry32(9);
  const types: Ev['type'][] = ['view', 'click', 'click', 'complete', 'bookmark'];
  const events: Ev[] = [];
  const LIVE_BATCH = 16;
  for (let i = 0; i < spec.events; i++) {
    let u = Math.floor(erng() * spec.learners);
    if (spec.mode === 'live') {
      // 16 different learners per batch: one event per learner per batch
      const start = i - (i % LIVE_BATCH);
      while (events.slice(start, i).some((e) => e.userId === `u${u}`)) u = (u + 1) % spec.learners;
    }
    events.push({
      kind: 'interaction',
      eventId: `b-9-${i}`,
      userId: `u${u}`,
      resourceId: ids[Math.floor(erng() * ids.length)],
      type: types[Math.floor(erng() * types.length)],
      value: undefined,
      dwellMs: 1000,
      occurredAt: T0 + 10 * i,
    });
  }
  let itemMs = 0;
  const sink = {
    backlog: 0,
    send: (u: Parameters<typeof applyItemUpdate>[2]) => {
      const t = performance.now();
      encodeItemUpdate(u);
      applyItemUpdate(replica, model, u);
      itemMs += performance.now() - t;
    },
    flush: () => Promise.resolve(),
  };
  let clock = T0;
  const store = new MemoryServingStore({ now: () => clock });
  let reranks = 0;
  const emit = { ...noopEmitter, emit: (name: string) => void (name === 'rerank' && reranks++) } as typeof noopEmitter;
  const topics = { interactions: 'i', quizAttempts: 'q', profiles: 'p', erasures: 'e', itemUpdates: 'u' };
  const p = new LearnerProcessor({
    decode: (rec) => Promise.resolve(events[Number(rec.offset)]),
    model,
    store,
    emit,
    logger: createLogger({ level: 'warn' }),
    topics,
    sink,
    replica,
    maxReplicaLag: 0,
    tombstone: () => Promise.resolve(),
    topN: s.topN,
    historyLength: s.historyLength,
    rerankIntervalMs: s.rerankIntervalMs,
    signalRefreshMs: s.signalRefreshMs,
    onnxMinWork: config.pipeline.onnxMinWork,
    ivf: { minRows: spec.ivfMinRows ?? config.pipeline.ivfMinRows, nprobe: config.pipeline.ivfNprobe },
    ranking: s.ranking,
    reviews: s.reviews,
    modelVersion: 'bench',
    now: () => clock,
    manualReranks: true,
  });
  p.restore(0, null);
  if (spec.preload) {
    const learners = p.groupState(0)!.learners;
    const prng = mulberry32(11);
    for (let u = 0; u < spec.learners; u++) {
      const history = Array.from({ length: 5 }, () => ids[Math.floor(prng() * ids.length)]);
      const engaged = new EngagedSet();
      for (const id of history) engaged.add(id);
      learners.set(`u${u}`, {
        cf: model.newLearner(),
        interactions: 5,
        quizzes: 0,
        history,
        interests: [],
        completed: [],
        lastEventAt: T0,
        engaged,
      });
    }
  }
  for (let i = 0; i < 200 && !p.usesOnnx; i++) await new Promise((res) => setTimeout(res, 25));
  // a large catalogue's IVF index is built in the background at the first re-rank: built before the timed run, as a
  // stage running for a while holds it (its build time is reported apart)
  const ivf = p.candidateIndex;
  if (ivf?.ready(replica) === false) await ivf.pending;
  const value = Buffer.alloc(1);
  const batch = spec.mode === 'live' ? LIVE_BATCH : 500;
  const stopProfile = spec.profile ? startProfile(spec.profile) : null;
  if (stopProfile) await stopProfile.started;
  let lagBatches = 0;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let k = 0; k < events.length; k += batch) {
    const end = Math.min(events.length, k + batch);
    for (let j = k; j < end; j++) {
      clock = events[j].occurredAt;
      await p.apply(0, { topic: 'i', partition: 0, offset: String(j), key: null, value, timestamp: clock, headers: {} });
    }
    // records still waiting in the partition after this batch (a full topic: the rest of the stream)
    const behind = spec.mode === 'live' ? 0 : events.length - end;
    p.afterBatch(0, behind);
    // the stage's lag rule (LearnerProcessor.afterBatch): more than 2,000 records waiting holds the batch's learners
    // for up to 8 batch ends; runDue() would release them, so it runs only where the stage released them
    lagBatches = behind > 2000 ? lagBatches + 1 : 8;
    if (lagBatches >= 8) {
      lagBatches = 0;
      await p.reranker.runDue();
    }
  }
  await p.reranker.drain();
  const c1 = process.cpuUsage(c0);
  const wallMs = performance.now() - t0;
  const profileFile = stopProfile ? await stopProfile() : undefined;
  const usesOnnx = p.usesOnnx && p.scoredBy.js === 0;
  // what was served: every learner's final list (without the write's wall-clock stamp)
  const h = createHash('sha256');
  for (let u = 0; u < Math.min(spec.learners, 50_000); u++) {
    const l = await store.getRecommendations(`u${u}`);
    if (l) h.update(JSON.stringify(l.items));
  }
  const sample: string[][] = [];
  for (let u = 0; u < (spec.sample ?? 0); u++)
    sample.push(((await store.getRecommendations(`u${u}`))?.items ?? []).slice(0, 10).map((x) => x.resourceId));
  await p.stop();
  return {
    ivfLearners: p.scoredBy.ivf ?? 0,
    ivfBuildMs: ivf && ivf.builds > 0 ? ivf.lastBuildMs : 0,
    sample,
    root: r,
    mode: spec.mode,
    resources: spec.resources,
    learners: spec.learners,
    events: spec.events,
    cpuMs: (c1.user + c1.system) / 1000,
    wallMs,
    itemMs,
    reranks,
    usesOnnx,
    digest: h.digest('hex').slice(0, 16),
    profileFile,
  };
}

/* ------------------------------------------------------------------ parent: rounds, baseline, tables */

function runChild(spec: ChildSpec): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const args = ['--import', 'tsx', __filename, '--child', JSON.stringify(spec)];
    const c = spawn(process.execPath, ['--max-old-space-size=8192', ...args], { cwd: spec.root, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.once('exit', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      if (code !== 0) return reject(new Error(`learner bench child (${spec.root}, ${spec.mode}) exited with ${code}: ${out.slice(-500)}`));
      try {
        resolve(JSON.parse(line) as ChildResult);
      } catch (err) {
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
  });
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

export async function run(args: BenchArgs): Promise<void> {
  const report = newReport('learner', args);
  const arg = (name: string) => {
    const i = args.rest.indexOf(name);
    return i >= 0 ? args.rest[i + 1] : undefined;
  };
  const events = Number(arg('--events') ?? (args.quick ? 4000 : 20_000));
  const rounds = Number(arg('--rounds') ?? (args.quick ? 1 : 3));
  const base = arg('--baseline');
  const roots = base ? [HERE, path.resolve(base)] : [HERE];
  const label = (root: string) => (root === HERE ? 'this checkout' : `baseline ${root}`);
  const load0 = os.loadavg()[0];
  const rows: Row[] = [];
  const figures: Record<string, number> = {};
  for (const mode of rounds > 0 ? (['backlog', 'live'] as const) : []) {
    const byRoot = new Map<string, ChildResult[]>(roots.map((r) => [r, []]));
    for (let k = 0; k < rounds; k++) {
      // alternate the order each round: neither checkout always runs first on a machine whose load drifts
      const order = k % 2 === 0 ? roots : [...roots].reverse();
      for (const root of order) {
        progress(`${mode}: round ${k + 1}/${rounds}, ${label(root)}`);
        byRoot.get(root)!.push(await runChild({ root, mode, resources: 10_000, learners: 2000, events }));
      }
    }
    const mine = byRoot.get(HERE)!;
    const cpuMine = median(mine.map((x) => x.cpuMs / x.events));
    for (const root of roots) {
      const rs = byRoot.get(root)!;
      const cpu = median(rs.map((x) => x.cpuMs / x.events));
      const item = median(rs.map((x) => x.itemMs / x.events));
      const wall = median(rs.map((x) => x.wallMs));
      rows.push({
        mode,
        code: label(root),
        events,
        cpu_ms_per_event: round(cpu),
        of_which_item_stage_ms: round(item),
        learner_ms_per_event: round(cpu - item),
        events_per_s: round((1000 * events) / wall),
        reranks: rs[0].reranks,
        vs_this_cpu: root === HERE ? '100%' : `${round((100 * cpu) / cpuMine)}%`,
        lists_digest: [...new Set(rs.map((x) => x.digest))].join(','),
        onnx: rs.every((x) => x.usesOnnx),
      });
      figures[`${mode}.${root === HERE ? 'this' : 'baseline'}.cpuMsPerEvent`] = cpu;
      figures[`${mode}.${root === HERE ? 'this' : 'baseline'}.learnerMsPerEvent`] = cpu - item;
    }
    if (base) {
      const same = new Set(roots.flatMap((r) => byRoot.get(r)!.map((x) => x.digest))).size === 1;
      report.targets.push({
        target: `${mode}: the same lists as the baseline (digest of every learner's final list)`,
        measured: same ? 'identical' : 'DIFFERENT',
        pass: same,
      });
    }
    const learner = figures[`${mode}.this.learnerMsPerEvent`];
    const limit = mode === 'backlog' ? 0.05 : 0.15;
    report.targets.push({
      target: `${mode}: learner-stage CPU <= ${limit} ms per event (in process, item stage apart)`,
      measured: `${round(learner)} ms`,
      pass: learner <= limit,
    });
  }
  if (rounds > 0)
    report.sections.push({
      title: 'Learner stage in process (10k resources, 2,000 learners, onnxruntime kernel), median of rounds',
      rows,
      notes: [
        `load average (1 min) ${round(load0)} at start, ${round(os.loadavg()[0])} at the end, ${os.cpus().length} cores; rounds alternate the checkouts`,
        'cpu_ms_per_event: process CPU (all threads, onnxruntime included) / events; of_which_item_stage: the emulated item stage (encode + apply of the item updates); learner = the difference',
        "lists_digest: digest of every learner's final list (items, scores, reasons): equal digests = identical lists",
      ],
    });
  if (args.rest.includes('--profile')) {
    for (const mode of ['backlog', 'live'] as const) {
      const r = await runChild({ root: HERE, mode, resources: 10_000, learners: 2000, events, profile: `learner-${mode}` });
      const prof = summarise(JSON.parse(fs.readFileSync(r.profileFile!, 'utf8')) as Parameters<typeof summarise>[0], 30);
      const busy = prof.totalMs - (prof.byArea.find(([a]) => a === '(idle)')?.[1] ?? 0);
      report.sections.push({
        title: `CPU profile, ${mode} (self time per event by function)`,
        rows: prof.byFunction
          .filter(([f]) => f !== '(idle) :0')
          .slice(0, 25)
          .map(([f, ms]) => ({ function: f, us_per_event: round((1000 * ms) / events), share: `${round((100 * ms) / busy)}%` })),
        notes: [`profile: ${r.profileFile}`, 'areas: ' + prof.byArea.map(([a, ms]) => `${a} ${round((1000 * ms) / events)} us`).join('; ')],
      });
    }
  }
  if (args.rest.includes('--growth')) await growth(report, args);
  report.figures = figures;
  emitReport(report, args);
}

/**
 * #19 item 5: how the stage's cost grows with the catalogue and with the learners it holds (backlog mode, every
 * learner in state). At 1M resources twice: the exact kernel (onnxruntime Gemm + TopK over every row,
 * pipeline.ivfMinRows 0) and the default, inverted-file candidates (pipelines/learner/ivf, from 200k rows); the
 * overlap of the two runs' final top-10 lists is what the approximation costs in served lists.
 */
async function growth(report: ReturnType<typeof newReport>, args: BenchArgs): Promise<void> {
  const events = args.quick ? 1000 : 4000;
  const points: { resources: number; learners: number; ivfMinRows?: number }[] = [
    { resources: 10_000, learners: 10_000 },
    { resources: 100_000, learners: 10_000 },
    { resources: 1_000_000, learners: 10_000, ivfMinRows: 0 },
    { resources: 1_000_000, learners: 10_000 },
    { resources: 10_000, learners: 1_000_000 },
  ];
  const SAMPLE = 500;
  const rows: Row[] = [];
  const samples: string[][][] = [];
  const load0 = os.loadavg()[0];
  for (const pt of points) {
    const exact = pt.ivfMinRows === 0;
    progress(
      `growth: ${pt.resources.toLocaleString()} resources, ${pt.learners.toLocaleString()} learners${exact ? ', exact kernel' : ''}`,
    );
    const r = await runChild({
      root: HERE,
      mode: 'backlog',
      ...pt,
      events,
      preload: true,
      sample: pt.resources === 1_000_000 ? SAMPLE : 0,
    });
    if (pt.resources === 1_000_000) samples.push(r.sample ?? []);
    rows.push({
      resources: pt.resources,
      learners: pt.learners,
      events,
      events_per_s: round((1000 * events) / r.wallMs),
      cpu_ms_per_event: round(r.cpuMs / events),
      learner_ms_per_event: round((r.cpuMs - r.itemMs) / events),
      reranks: r.reranks,
      cpu_ms_per_rerank: round(r.cpuMs / r.reranks),
      kernel:
        (r.ivfLearners ?? 0) > 0
          ? `IVF (build ${round((r.ivfBuildMs ?? 0) / 1000)} s, before the run)`
          : r.usesOnnx
            ? 'onnxruntime (exact)'
            : 'js',
    });
  }
  const notes = [
    `load average (1 min) ${round(load0)} at start, ${round(os.loadavg()[0])} at the end; events/s is wall time on the shared machine, CPU per event is what compares`,
  ];
  if (samples.length === 2) {
    const [a, b] = samples;
    let hit = 0;
    let total = 0;
    a.forEach((list, u) => {
      const other = new Set(b[u] ?? []);
      total += list.length;
      for (const id of list) if (other.has(id)) hit++;
    });
    const overlap = total > 0 ? hit / total : NaN;
    notes.push(
      `1M resources: the final top-10 lists of the first ${SAMPLE} learners with IVF candidates share ${round(100 * overlap)}% of their items with the exact kernel's (default pipeline.ivfNprobe: 16 partitions scanned of ~1,024)`,
    );
    rows.forEach((row) => {
      if (row.resources === 1_000_000 && String(row.kernel).startsWith('IVF')) row.top10_overlap_with_exact = round(overlap);
    });
  }
  report.sections.push({ title: "How the learner stage's cost grows (backlog mode, every learner in state, in process)", rows, notes });
}

if (require.main === module && process.argv[2] === '--child') {
  child(JSON.parse(process.argv[3]) as ChildSpec).then(
    (r) => {
      process.stdout.write(JSON.stringify(r) + '\n');
      process.exit(0);
    },
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}
