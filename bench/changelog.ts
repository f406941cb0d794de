/**
 * State in Kafka (issue 17, item 7): restore time of a learner-stage partition group with 100,000 learners from the
 * compacted changelog (consumers/state/changelog.ts), with an empty state dir, against the file checkpoint of the
 * same state in the same run (FileCheckpointStore, what a restart with its state dir reads). Also what a commit
 * writes: the first put (every learner), then a put after 1% of the learners changed (only those, plus the group's
 * other fields and the offsets). Every third learner has answered quizzes (a real KnowledgeModel, 5 attempts each over
 * 500 items and 10 skills), so the knowledge model's per-learner records are in the figures too.
 * `npm run bench -- changelog [--quick] [--json] [--learners N]`; needs Kafka (the stack is started when absent).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { loadConfig } from '../lib/config';
import { createKafka } from '../lib/kafka/client';
import { mulberry32 } from '../models/random/prng';
import { KnowledgeModel } from '../models/knowledge/model';
import type { LearnerGroupJSON } from '../pipelines/learner/state';
import { KafkaChangelogStore } from '../consumers/state/changelog';
import { FileCheckpointStore } from '../consumers/state/checkpoint';
import { emitReport, newReport, progress, type BenchArgs } from './lib/report';
import { ensureStack } from './lib/stack';
import { round } from './lib/stats';

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

export async function run(args: BenchArgs): Promise<void> {
  const report = newReport('changelog', args);
  const lArg = args.rest.indexOf('--learners');
  const n = lArg >= 0 ? Number(args.rest[lArg + 1]) : args.quick ? 10_000 : 100_000;
  const config = loadConfig();
  const stack = await ensureStack(config);
  const kafka = createKafka(config, 'bench-changelog');
  const topic = `${config.kafka.topicPrefix}bench-changelog-${randomBytes(3).toString('hex')}`;
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    topics: [
      {
        topic,
        numPartitions: 1,
        replicationFactor: config.kafka.replicationFactor,
        configEntries: [{ name: 'cleanup.policy', value: 'compact' }],
      },
    ],
  });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ls-bench-changelog-'));
  const opts = { kafka, topic, partitions: 1, transactionalPrefix: `${topic}-` };
  try {
    const rng = mulberry32(5);
    const learners: LearnerGroupJSON['learners'] = Array.from({ length: n }, (_, i) => [
      `u${i}`,
      learnerEntry(rng, config.model.dim, i % 7),
    ]);
    const km = new KnowledgeModel();
    const answer = (i: number) => {
      const item = Math.floor(rng() * 500);
      km.update({ userId: `u${i}`, itemId: `q${item}`, skills: [`s${item % 10}`], correct: rng() < 0.6 ? 1 : 0, timestamp: Date.now() });
    };
    let quizzers = 0;
    for (let i = 0; i < n; i += 3) {
      for (let k = 0; k < 5; k++) answer(i);
      quizzers++;
    }
    const state = { learners, knowledge: km.serialize(), erased: [] } as LearnerGroupJSON;
    const cp = { offsets: { 'learning.interactions:0': String(n * 20) }, state, writtenAt: Date.now() };
    const bytes = JSON.stringify(cp).length;

    progress(`${n.toLocaleString()} learners (${(bytes / 1e6).toFixed(1)} MB of state): first put`);
    const writer = new KafkaChangelogStore(opts);
    let t = performance.now();
    await writer.put('learner', 0, cp);
    const firstPut = (performance.now() - t) / 1000;
    const afterFirst = Number((await admin.fetchTopicOffsets(topic))[0].high);
    // 1% of the learners learned something
    const changed = Math.ceil(n / 100);
    for (let i = 0; i < changed; i++) {
      const u = Math.floor(rng() * n);
      learners[u][1].n++;
      if (u % 3 === 0) answer(u); // a quiz: the learner's knowledge record changes too
    }
    state.knowledge = km.serialize();
    t = performance.now();
    await writer.put('learner', 0, { ...cp, writtenAt: Date.now() });
    const secondPut = (performance.now() - t) / 1000;
    await writer.close();
    const offs = await admin.fetchTopicOffsets(topic);
    const records = Number(offs[0].high);
    const secondRecords = records - afterFirst;

    progress('restore with an empty state dir: a new store reads the changelog');
    const reader = new KafkaChangelogStore(opts);
    t = performance.now();
    const back = await reader.get<LearnerGroupJSON>('learner', 0);
    const restore = (performance.now() - t) / 1000;
    await reader.close();
    if (!back || back.state.learners.length !== n) throw new Error(`restored ${back?.state.learners.length ?? 0} of ${n} learners`);
    if (back.state.knowledge.learners.length !== quizzers)
      throw new Error(`restored the knowledge of ${back.state.knowledge.learners.length} of ${quizzers} learners`);

    progress('baseline: the same checkpoint as a file');
    const files = new FileCheckpointStore(dir);
    t = performance.now();
    await files.put('learner', 0, cp);
    const filePut = (performance.now() - t) / 1000;
    t = performance.now();
    await files.get('learner', 0);
    const fileGet = (performance.now() - t) / 1000;

    report.sections.push({
      title: `Learner-stage group of ${n.toLocaleString()} learners: changelog vs file checkpoint`,
      rows: [
        {
          store: 'Kafka changelog',
          first_put_s: round(firstPut),
          first_put_records: afterFirst,
          put_after_1pct_changed_s: round(secondPut),
          second_put_records: secondRecords,
          restore_s: round(restore),
          records_in_topic: records,
          learners_per_s_restored: round(n / restore),
        },
        {
          store: 'file (baseline)',
          first_put_s: round(filePut),
          put_after_1pct_changed_s: round(filePut),
          restore_s: round(fileGet),
          records_in_topic: '',
          learners_per_s_restored: round(n / fileGet),
        },
      ],
      notes: [
        `State ${(bytes / 1e6).toFixed(1)} MB as JSON (dim ${config.model.dim}, 20-resource histories; ${quizzers.toLocaleString()} learners with knowledge-model beliefs). The changelog's second put wrote ${secondRecords} records: the distinct learners among ${changed.toLocaleString()} random changes (and the knowledge records of those who answered a quiz), the group's other fields, the head and the transaction marker; a file checkpoint rewrites everything every time.`,
        'The restore joins a throwaway consumer group first (a few seconds of the figure on a loaded machine).',
      ],
    });
  } finally {
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
    fs.rmSync(dir, { recursive: true, force: true });
    await stack.stop();
  }
  emitReport(report, args);
}
