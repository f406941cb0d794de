/**
 * State in Kafka (issue 17, item 7): restore time of a learner-stage partition group with 100,000 learners from the
 * compacted changelog (consumers/state/changelog.ts, the product's default state store), with an empty state dir,
 * against the file checkpoint of the same state in the same run (FileCheckpointStore, `--state files`). And what a
 * checkpoint costs in each store after 1% of the rows changed: records, bytes and milliseconds per put, for the three
 * stage states that grow (a learner group with its knowledge model, an item-stage group's item table, a catalogue
 * group's content rows). Every third learner has answered quizzes (a real KnowledgeModel, 5 attempts each over 500
 * items and 10 skills), so the knowledge model's per-learner records and population terms are in the figures too.
 * `npm run bench -- changelog [--quick] [--json] [--learners N]`; needs Kafka (the stack is started when absent).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { loadConfig } from '../lib/config';
import { createKafka } from '../lib/kafka/client';
import { mulberry32 } from '../models/random/prng';
import { KnowledgeModel } from '../models/knowledge/model';
import { deserializeGroup, learnerChanged, serializeGroup, type LearnerGroupJSON } from '../pipelines/learner/state';
import { ItemTable } from '../pipelines/model/item-table';
import type { ItemGroupJSON } from '../pipelines/item/processor';
import type { CatalogGroupJSON } from '../pipelines/catalog/processor';
import { KafkaChangelogStore, type PutStats, type RestoreStats } from '../consumers/state/changelog';
import { FileCheckpointStore, type Checkpoint } from '../consumers/state/checkpoint';
import { emitReport, newReport, progress, type BenchArgs } from './lib/report';
import { ensureStack } from './lib/stack';
import { round } from './lib/stats';
import type { Row } from './lib/table';

type Entry = LearnerGroupJSON['learners'][number][1];

function learnerEntry(rng: () => number, dim: number, k: number): Entry {
  const f = new Float32Array(dim).map(() => (rng() - 0.5) * 0.2);
  const h = Array.from({ length: 20 }, () => `r${Math.floor(rng() * 10_000)}`);
  return {
    f: Buffer.from(f.buffer).toString('base64'),
    b: rng() * 0.1,
    c: 20 + k,
    lt: Date.now(),
    n: 20 + k,
    q: 0,
    h,
    i: [],
    t: Date.now(),
  };
}

const f32 = (rng: () => number, dim: number) => new Float32Array(dim).map(() => (rng() - 0.5) * 0.2);

// A full collection before each timed step, so one step's garbage (the baseline's 120 MB of fresh rows) is not
// collected inside the next one's figure.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** One stage group's state: its checkpoint, and a change of 1% of its rows. */
interface Scenario {
  title: string;
  stage: string;
  rows: number;
  /**
   * The group's checkpoint now. `reuse` false: every row built and encoded afresh (the learner state before its rows
   * were reused: the baseline); scenarios whose state builds every row afresh anyway ignore it.
   */
  checkpoint(reuse: boolean): Checkpoint;
  /** Changes 1% of the rows. */
  change(): void;
  /** Whether checkpoint(true) reuses the unchanged rows (then the put after 1% is also measured without). */
  reuses: boolean;
  /** Rows in a restored state (checks the restore is whole). */
  count(state: unknown): number;
  note: string;
}

/**
 * Puts the first and the changed checkpoint in each store and restores both: the changelog from a new store (an
 * instance with an empty state dir), the file from its dir. A scenario that reuses rows is also put, in the same run,
 * to a topic of its own with checkpoints that encode every row (the baseline). Rows of the report: one per
 * store (and baseline).
 */
async function measure(
  sc: Scenario,
  changelog: (baseline?: boolean) => KafkaChangelogStore,
  files: FileCheckpointStore,
  dir: string,
): Promise<{ rows: Row[]; restore: number; fileRestore: number; phases?: RestoreStats }> {
  progress(`${sc.title}: changelog`);
  const writer = changelog();
  const cold = sc.reuses ? changelog(true) : undefined;
  const timed = async <T>(fn: () => T | Promise<T>): Promise<[T, number]> => {
    gc();
    const t = performance.now();
    const v = await fn();
    return [v, performance.now() - t];
  };
  const [first] = await timed(() => sc.checkpoint(true));
  const [, firstMs] = await timed(() => writer.put(sc.stage, 0, first));
  const firstPut = writer.lastPut.get(`${sc.stage}/0`)!;
  await cold?.put(sc.stage, 0, sc.checkpoint(false));
  sc.change();
  let baseline: { snapMs: number; putMs: number; put: PutStats } | undefined;
  if (cold) {
    const [cp, snapMs] = await timed(() => sc.checkpoint(false));
    const [, putMs] = await timed(() => cold.put(sc.stage, 0, cp));
    baseline = { snapMs, putMs, put: cold.lastPut.get(`${sc.stage}/0`)! };
    await cold.close();
  }
  const [second, secondSnapMs] = await timed(() => sc.checkpoint(true));
  const [, secondMs] = await timed(() => writer.put(sc.stage, 0, second));
  const secondPut = writer.lastPut.get(`${sc.stage}/0`)!;
  await writer.close();
  const reader = changelog();
  const [back, restoreMs] = await timed(() => reader.get(sc.stage, 0));
  const restore = restoreMs / 1000;
  const phases = reader.restored.get(`${sc.stage}/0`);
  await reader.close();
  if (!back || sc.count(back.state) !== sc.count(second.state))
    throw new Error(`${sc.title}: restored ${back ? sc.count(back.state) : 0} of ${sc.count(second.state)} rows`);

  progress(`${sc.title}: file (baseline)`);
  const [, fileFirstMs] = await timed(() => files.put(sc.stage, 0, first));
  const [, fileSecondMs] = await timed(() => files.put(sc.stage, 0, second));
  const fileBytes = fs.statSync(path.join(dir, sc.stage, 'group-0.json')).size;
  const [, fileRestoreMs] = await timed(() => files.get(sc.stage, 0));
  const fileRestore = fileRestoreMs / 1000;
  const mb = (b: number) => round(b / 1e6);
  const changelogRow = (store: string, snapMs: number, putMs: number, put: PutStats, restoreS: number | null): Row => ({
    state: sc.title,
    store,
    first_put_ms: round(firstMs),
    first_put_records: firstPut.records,
    first_put_MB: mb(firstPut.bytes),
    snapshot_after_1pct_ms: round(snapMs),
    put_after_1pct_ms: round(putMs),
    put_after_1pct_records: put.records,
    put_after_1pct_rows: put.rows,
    put_after_1pct_MB: mb(put.bytes),
    restore_s: restoreS === null ? '' : round(restoreS),
  });
  return {
    restore,
    fileRestore,
    ...(phases ? { phases } : {}),
    rows: [
      changelogRow('Kafka changelog (default)', secondSnapMs, secondMs, secondPut, restore),
      ...(baseline
        ? [changelogRow('Kafka changelog, every row encoded (baseline)', baseline.snapMs, baseline.putMs, baseline.put, null)]
        : []),
      {
        state: sc.title,
        store: 'files (--state files)',
        first_put_ms: round(fileFirstMs),
        first_put_records: 1,
        first_put_MB: mb(fileBytes),
        snapshot_after_1pct_ms: round(secondSnapMs),
        put_after_1pct_ms: round(fileSecondMs),
        put_after_1pct_records: 1,
        put_after_1pct_rows: sc.rows,
        put_after_1pct_MB: mb(fileBytes),
        restore_s: round(fileRestore),
      },
    ],
  };
}

export async function run(args: BenchArgs): Promise<void> {
  const report = newReport('changelog', args);
  const lArg = args.rest.indexOf('--learners');
  const n = lArg >= 0 ? Number(args.rest[lArg + 1]) : args.quick ? 10_000 : 100_000;
  const nItems = args.quick ? 2_000 : 20_000;
  const nContent = args.quick ? 500 : 5_000;
  const config = loadConfig();
  const stack = await ensureStack(config);
  const kafka = createKafka(config, 'bench-changelog');
  const topic = `${config.kafka.topicPrefix}bench-changelog-${randomBytes(3).toString('hex')}`;
  const baselineTopic = `${topic}-baseline`;
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    topics: [topic, baselineTopic].map((t) => ({
      topic: t,
      numPartitions: 1,
      replicationFactor: config.kafka.replicationFactor,
      configEntries: [{ name: 'cleanup.policy', value: 'compact' }],
    })),
  });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ls-bench-changelog-'));
  const changelog = (baseline = false) =>
    new KafkaChangelogStore({
      kafka,
      topic: baseline ? baselineTopic : topic,
      partitions: 1,
      transactionalPrefix: `${baseline ? baselineTopic : topic}-`,
    });
  const files = new FileCheckpointStore(dir);
  try {
    const rng = mulberry32(5);
    const dim = config.model.dim;

    // learner stage: learners, their knowledge beliefs, the knowledge model's item and skill terms
    const km = new KnowledgeModel();
    const answer = (k: KnowledgeModel, i: number) => {
      const item = Math.floor(rng() * 500);
      k.update({ userId: `u${i}`, itemId: `q${item}`, skills: [`s${item % 10}`], correct: rng() < 0.6 ? 1 : 0, timestamp: Date.now() });
    };
    let quizzers = 0;
    for (let i = 0; i < n; i += 3) {
      for (let k = 0; k < 5; k++) answer(km, i);
      quizzers++;
    }
    // the learner stage's own state (pipelines/learner/state.ts) and snapshot, as its processor checkpoints it
    const group = deserializeGroup({
      learners: Array.from({ length: n }, (_, i) => [`u${i}`, learnerEntry(rng, dim, i % 7)]),
      knowledge: km.serialize(),
      erased: [],
    });
    const learnerScenario: Scenario = {
      title: `learner group, ${n.toLocaleString()} learners`,
      stage: 'learner',
      rows: n + quizzers + 510,
      checkpoint: (reuse) => ({
        offsets: { 'learning.interactions:0': String(n * 20) },
        state: serializeGroup(group, { reuse }),
        writtenAt: Date.now(),
      }),
      change: () => {
        // 1% of the learners learned something (what the processor's learnerOf does first: learnerChanged); those who
        // answered a quiz move their knowledge record and the knowledge model's terms of that item and skill
        for (let i = 0; i < Math.ceil(n / 100); i++) {
          const u = Math.floor(rng() * n);
          const l = group.learners.get(`u${u}`)!;
          learnerChanged(group, l);
          l.interactions++;
          if (u % 3 === 0) answer(group.knowledge, u);
        }
      },
      reuses: true,
      count: (s) => (s as LearnerGroupJSON).learners.length + (s as LearnerGroupJSON).knowledge.learners.length,
      note: `${quizzers.toLocaleString()} learners with knowledge-model beliefs; 500 quiz items and 10 skills of population terms`,
    };

    // item stage: one group's item table (factors, counts, top-20 transitions and popularity per row)
    const table = new ItemTable(dim, nItems);
    const itemRow = (i: number, count: number) =>
      table.set({
        itemId: `res-${i}`,
        factors: f32(rng, dim),
        bias: rng() * 0.1,
        count,
        lastT: Date.now(),
        active: true,
        meta: { type: 'video', topics: [`t${i % 50}`], skills: [`s${i % 10}`], difficulty: 0.5, title: `Resource ${i}` },
      });
    for (let i = 0; i < nItems; i++) itemRow(i, 10);
    for (let i = 0; i < nItems; i++) {
      const to = Array.from({ length: 20 }, () => `res-${Math.floor(rng() * nItems)}`).filter((x, j, a) => a.indexOf(x) === j);
      table.setSignals(i, { to, key: to.map(() => rng()), sumKey: 2, pop: rng() });
    }
    const itemCp = (): Checkpoint => ({
      offsets: { 'model.item-updates:0': String(nItems * 50) },
      state: { items: table.toJSON(), applied: { 'learning.interactions:0': [String(n * 20), 3] } },
      writtenAt: Date.now(),
    });
    const itemScenario: Scenario = {
      title: `item-stage group, ${nItems.toLocaleString()} items`,
      stage: 'item',
      rows: nItems,
      checkpoint: itemCp,
      change: () => {
        for (let k = 0; k < nItems / 100; k++) itemRow(Math.floor(rng() * nItems), 11 + k); // gradients applied
      },
      reuses: false,
      count: (s) => (s as ItemGroupJSON).items.rows.length,
      note: `dim ${dim}, catalogue metadata and up to 20 transitions per row`,
    };

    // catalogue stage: one group's content rows (384-dim unit vectors of the text encoder)
    const content: [string, string, string][] = Array.from({ length: nContent }, (_, i) => [
      `res-${i}`,
      `Resource ${i}`,
      Buffer.from(f32(rng, 384).buffer).toString('base64'),
    ]);
    const catalogCp = (): Checkpoint => ({
      offsets: { 'catalog.resources:0': String(nContent) },
      state: { content: { rows: content.map((r) => [...r] as [string, string, string]) } },
      writtenAt: Date.now(),
    });
    const catalogScenario: Scenario = {
      title: `catalogue group, ${nContent.toLocaleString()} resources`,
      stage: 'catalog',
      rows: nContent,
      checkpoint: catalogCp,
      change: () => {
        for (let k = 0; k < nContent / 100; k++) content[Math.floor(rng() * nContent)][1] += ' (revised)'; // upserts
      },
      reuses: false,
      count: (s) => (s as CatalogGroupJSON).content?.rows.length ?? 0,
      note: '384-dim content vectors',
    };

    const rows: Row[] = [];
    const notes: string[] = [];
    let learnerRestore: { restore: number; fileRestore: number; phases?: RestoreStats } = { restore: 0, fileRestore: 0 };
    for (const sc of [learnerScenario, itemScenario, catalogScenario]) {
      const r = await measure(sc, changelog, files, dir);
      rows.push(...r.rows);
      notes.push(`${sc.title}: ${sc.note}.`);
      if (sc === learnerScenario) learnerRestore = r;
    }
    report.sections.push({
      title: 'Checkpoint cost per store: a put after 1% of the rows changed, and the restore',
      rows,
      notes: [
        ...notes,
        'Changelog records per put = the rows that changed (put_after_1pct_rows: written or tombstoned), the chunks of the remaining fields that changed, and the head; one transaction, the transaction marker not counted. A file checkpoint rewrites the whole group every time.',
        'The changelog restore is a new store reading the topic (an instance with an empty state dir); it joins a throwaway consumer group first (a few seconds of the figure on a loaded machine).',
      ],
    });
    report.sections.push({
      title: `Restore of ${n.toLocaleString()} learners`,
      rows: [
        {
          store: 'Kafka changelog (default)',
          restore_s: round(learnerRestore.restore),
          learners_per_s: round(n / learnerRestore.restore),
          until_first_record_s: round(learnerRestore.phases?.firstRecordSeconds ?? 0),
          reading_s: round(learnerRestore.phases?.readSeconds ?? 0),
          building_s: round(learnerRestore.phases?.buildSeconds ?? 0),
        },
        {
          store: 'files (--state files)',
          restore_s: round(learnerRestore.fileRestore),
          learners_per_s: round(n / learnerRestore.fileRestore),
          until_first_record_s: '',
          reading_s: round(learnerRestore.fileRestore),
          building_s: '',
        },
      ],
      notes: [
        'until_first_record_s: the partition offsets, joining a throwaway consumer group, the first fetch; reading_s: fetching and decoding every record (kafkajs) and reading it; building_s: judging the records (consumers/state/changelog-read.ts) and parsing every row into the state. A file restore is one read and one JSON.parse. Neither includes the stage processor turning the plain state into its own (deserializeGroup), the same for both.',
      ],
    });
  } finally {
    await admin.deleteTopics({ topics: [topic, baselineTopic] }).catch(() => undefined);
    await admin.disconnect();
    fs.rmSync(dir, { recursive: true, force: true });
    await stack.stop();
  }
  emitReport(report, args);
}
