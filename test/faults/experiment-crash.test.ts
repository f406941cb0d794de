/**
 * Attribution is exact across kill -9 (issue 21): the experiment stage (pipelines/experiment/, beside the learner
 * stage in a pipeline process with an experiment configured) is killed with SIGKILL twice while it consumes a stream
 * of impressions, repeated impressions, clicks (matched and unmatched) and quiz attempts, each time with work applied
 * in memory but not yet checkpointed, and restarted. At the end, per variant, its checkpointed tally and the gauges
 * its /metrics serves equal a fold of the same events through the tally in order (models/experiments/tally.ts): no
 * impression or click lost, none counted twice.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Config } from '../../lib/config';
import { ensureTopics } from '../../lib/kafka/topics';
import { assignVariant } from '../../models/experiments/assign';
import { ExperimentTally, type VariantTotals } from '../../models/experiments/tally';
import type { Experiment } from '../../models/experiments/types';
import type { ExperimentGroupJSON } from '../../pipelines/experiment/processor';
import type { KindedEvent } from '../../schemas';
import { topicName } from '../../schemas/topics';
import { deleteKeys, testConfig, testKafka, testRedis, testRegistry, waitFor } from '../helpers';
import { freePort, readCheckpoints, StageProcess, stageEnv } from '../pipeline-support/procs';
import { TestPublisher } from '../pipeline-support/publish';

jest.setTimeout(300_000);

const EXP = {
  id: 'crash-exp',
  description: '',
  active: true,
  variants: [
    { name: 'control', weight: 1 },
    { name: 'treatment', weight: 1, ranking: { mmrLambda: 1 } },
  ],
} satisfies Experiment;
const LEARNERS = 30;
const ROUNDS = 3;

type Row = Pick<VariantTotals, 'learners' | 'impressions' | 'clicks' | 'attempts' | 'successes' | 'crossovers' | 'unmatched'>;
const rows = (totals: VariantTotals[]): Record<string, Row> =>
  Object.fromEntries(
    totals
      .filter((t) => t.experiment === EXP.id)
      .sort((a, b) => a.variant.localeCompare(b.variant))
      .map((t) => [
        t.variant,
        {
          learners: t.learners,
          impressions: t.impressions,
          clicks: t.clicks,
          attempts: t.attempts,
          successes: t.successes,
          crossovers: t.crossovers,
          unmatched: t.unmatched,
        },
      ]),
  );

/** The stream, in three parts (one per process lifetime): per learner and round a list of 5 shown, one shown again, two clicks (one on a resource not shown: unmatched), a quiz attempt. */
function stream(): KindedEvent[][] {
  let n = 0;
  const t0 = Date.now() - 3_600_000;
  const ctx = { platform: 'test', device: null, session: null };
  const interaction = (userId: string, resourceId: string, type: 'impression' | 'click', recommId: string): KindedEvent => ({
    kind: 'interaction',
    event: {
      eventId: `xc-${n}`,
      userId,
      resourceId,
      type,
      value: null,
      dwellMs: 0,
      occurredAt: t0 + n++ * 10,
      context: ctx,
      review: false,
      recommId,
    },
  });
  const parts: KindedEvent[][] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const part: KindedEvent[] = [];
    for (let u = 0; u < LEARNERS; u++) {
      const userId = `xc-u${u}`;
      const recommId = `${EXP.id}.${assignVariant(EXP, userId).name}.r${round}u${u}`;
      const shown = Array.from({ length: 5 }, (_, k) => `xc-r${(u + round + k) % 40}`);
      for (const r of shown) part.push(interaction(userId, r, 'impression', recommId));
      part.push(interaction(userId, shown[0], 'impression', recommId)); // shown again: counted once
      part.push(interaction(userId, shown[(u + round) % 5], 'click', recommId));
      part.push(interaction(userId, 'xc-not-shown', 'click', recommId)); // unmatched
      part.push({
        kind: 'quizAttempt',
        event: {
          eventId: `xc-${n}`,
          userId,
          itemId: 'xc-q',
          resourceId: null,
          skills: ['xc-s'],
          correct: (u + round) % 3 !== 0,
          score: null,
          attempt: 1,
          responseTimeMs: 1000,
          occurredAt: t0 + n++ * 10,
        },
      });
    }
    parts.push(part);
  }
  return parts;
}

/** The tally of the events folded in order: what the stage must hold whatever it went through. */
function truth(events: KindedEvent[]): Record<string, Row> {
  const t = new ExperimentTally();
  for (const e of events) {
    if (e.kind === 'quizAttempt') t.quiz(e.event.userId, e.event.correct, e.event.occurredAt);
    else if (e.kind === 'interaction' && e.event.type === 'impression')
      t.impression(e.event.userId, e.event.recommId, e.event.resourceId, e.event.occurredAt);
    else if (e.kind === 'interaction') t.click(e.event.userId, e.event.recommId, e.event.resourceId);
  }
  return rows(t.variantTotals());
}

function checkpointed(dir: string): { totals: Record<string, Row>; offsets: Record<string, string> } {
  const cp = readCheckpoints<ExperimentGroupJSON>(dir, 'experiment').get(0);
  return { totals: cp ? rows(ExperimentTally.fromJSON(cp.state.tally).variantTotals()) : {}, offsets: cp?.offsets ?? {} };
}

/** The experiment gauges a stage process serves, as rows per variant (empty while it is not up). */
async function gauges(port: number): Promise<Record<string, Row>> {
  const text = await fetch(`http://127.0.0.1:${port}/metrics`).then(
    (r) => r.text(),
    () => '',
  );
  const out: Record<string, Row> = {};
  const kinds: Record<string, keyof Row> = {
    impressions: 'impressions',
    clicks: 'clicks',
    quiz_attempts: 'attempts',
    quiz_successes: 'successes',
    crossovers: 'crossovers',
    unmatched_clicks: 'unmatched',
  };
  for (const line of text.split('\n')) {
    const m = /^learnstream_experiment_(attributed_messages|exposed_learners)\{(.*)\} (\S+)$/.exec(line);
    if (!m) continue;
    const labels = Object.fromEntries([...m[2].matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (labels.experiment !== EXP.id) continue;
    const row = (out[labels.variant] ??= {
      learners: 0,
      impressions: 0,
      clicks: 0,
      attempts: 0,
      successes: 0,
      crossovers: 0,
      unmatched: 0,
    });
    if (m[1] === 'exposed_learners') row.learners = Number(m[3]);
    else row[kinds[labels.kind]] = Number(m[3]);
  }
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)));
}

describe('experiment stage: impressions and clicks per variant exact across kill -9', () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ls-exp-crash-'));
  let proc: StageProcess | undefined;
  let config: Config | undefined;
  afterAll(async () => {
    if (proc?.running) await proc.kill9();
    if (config) {
      const redis = testRedis(config);
      await deleteKeys(redis, config.redis.keyPrefix);
      redis.disconnect();
    }
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('checkpointed tally and gauges equal the in-order fold after two kills mid-stream', async () => {
    const cfg = (config = testConfig('exp-crash', { kafka: { partitions: 1 }, experiments: [EXP] }));
    const kafka = testKafka(cfg, 'exp-crash');
    const admin = kafka.admin();
    await admin.connect();
    await ensureTopics(admin, cfg);
    const parts = stream();
    const all = parts.flat();
    const expected = truth(all);
    expect(Object.keys(expected)).toEqual(['control', 'treatment']);

    // the experiment is declared in the process's configuration file, as npm start reads it
    const configFile = path.join(work, 'config.json');
    fs.writeFileSync(configFile, JSON.stringify({ experiments: [EXP] }));
    const dir = path.join(work, 'state');
    const port = freePort();
    const env = stageEnv(cfg, {
      LEARNSTREAM_CONFIG: configFile,
      LEARNSTREAM_METRICS_PORT: String(port),
      LEARNSTREAM_CHECKPOINT_INTERVAL_MS: '1000',
      LEARNSTREAM_TOP_N: '10',
      LEARNSTREAM_RERANK_INTERVAL_MS: '2000',
    });
    proc = new StageProcess('exp-crash', ['--stage', 'all', '--sync', '--no-encoder', '--state', 'files', '--state-dir', dir], env, work);
    const p = proc;
    const pub = new TestPublisher(cfg, kafka, testRegistry(cfg));
    const interactions = topicName('interactions', cfg.kafka.topicPrefix);
    const quizzes = topicName('quizAttempts', cfg.kafka.topicPrefix);
    const position = () => {
      const o = checkpointed(dir).offsets;
      return Number(o[`${interactions}:0`] ?? 0) + Number(o[`${quizzes}:0`] ?? 0);
    };
    const kills: string[] = [];
    let published = 0;
    p.start();
    for (const [i, part] of parts.entries()) {
      await pub.publish(part);
      published += part.length;
      if (i === parts.length - 1) break;
      // kill while the in-memory tally is ahead of the checkpoint (applied, not saved: the restart must replay it);
      // if a checkpoint always came first, kill after 5 s anyway
      const sum = (r: Record<string, Row>) => Object.values(r).reduce((s, x) => s + x.impressions + x.clicks + x.attempts + x.unmatched, 0);
      await waitFor(async () => (await gauges(port)).control !== undefined || (!p.running && Promise.reject(new Error(p.log()))), {
        timeoutMs: 120_000,
        intervalMs: 50,
        message: 'the experiment stage counting',
      });
      await waitFor(async () => sum(await gauges(port)) > sum(checkpointed(dir).totals), { timeoutMs: 5000, intervalMs: 20 }).catch(
        () => undefined,
      );
      const inMemory = await gauges(port);
      const before = position();
      await p.kill9();
      kills.push(
        `kill ${i + 1}: ${published} published, checkpoint at ${before} offsets, ${sum(inMemory)} counted in memory vs ${sum(checkpointed(dir).totals)} checkpointed`,
      );
      p.start();
    }
    await pub.close();
    const ends = await admin.fetchTopicOffsets(interactions);
    const quizEnds = await admin.fetchTopicOffsets(quizzes);
    await admin.disconnect();
    const end = Number(ends[0].high) + Number(quizEnds[0].high);
    expect(end).toBe(all.length);

    // caught up: checkpointed at the topics' ends, and the gauges equal the fold
    await waitFor(async () => position() >= end && JSON.stringify(await gauges(port)) === JSON.stringify(expected), {
      timeoutMs: 120_000,
      intervalMs: 200,
      message: 'caught up with exact counts',
    }).catch(() => undefined); // the expect below shows the difference
    expect(await gauges(port)).toEqual(expected);
    expect(await p.stop()).toBe(0);
    expect(checkpointed(dir).totals).toEqual(expected);
    expect(position()).toBe(end);
    process.stdout.write(
      `experiment stage across kill -9: ${all.length} events, ${p.starts} starts; ${kills.join('; ')}; final per variant ${JSON.stringify(expected)}\n`,
    );
  });
});
