import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Kafka } from 'kafkajs';
import type { Redis } from 'ioredis';
import type { Config } from '../../lib/config';
import { ensureTopics } from '../../lib/kafka/topics';
import { createLogger } from '../../lib/log';
import { createInstrumentation, type Instrumentation } from '../../lib/metrics/instrumentation';
import { RedisServingStore } from '../../serving/redis-store';
import { createDecode } from '../../consumers/decode/decoders';
import { Pipeline, type StageName } from '../../pipelines/pipeline';
import { FileCheckpointStore } from '../../consumers/state/checkpoint';
import { deleteKeys, testKafka, testRedis, testRegistry } from '../helpers';
import type { EmbedFn } from '../../models/content/text';
import { TestPublisher } from './publish';

/** Everything a pipeline integration test needs against the real stack, with one close(). */
export interface PipelineHarness {
  config: Config;
  kafka: Kafka;
  redis: Redis;
  store: RedisServingStore;
  publisher: TestPublisher;
  instr: Instrumentation;
  stateDir: string;
  start(stages: StageName[], opts?: StartOptions): Promise<Pipeline>;
  close(): Promise<void>;
}

export interface StartOptions {
  synchronousItems?: boolean;
  /** Consumer group prefix (a separate "deployment" over the same topics). */
  groupPrefix?: string;
  /** Checkpoint dir; default the harness' stateDir. */
  stateDir?: string;
  /** Serving store key prefix; default the config's. */
  keyPrefix?: string;
  evaluateEvery?: number;
  /** Learner stage: bounded replica staleness in gradients per item-updates partition (Pipeline default 2000). */
  maxReplicaLag?: number;
  /** The content encoder for the catalogue stage (default none: seeded random factors, no similar items). */
  embed?: EmbedFn;
  /** How often the stages compare the serving epoch and their write generation (Pipeline default 5000 ms). */
  servingEpochIntervalMs?: number;
}

export async function createHarness(config: Config): Promise<PipelineHarness> {
  const kafka = testKafka(config, 'pipeline-test');
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, config);
  await admin.disconnect();
  const redis = testRedis(config);
  const instr = createInstrumentation();
  const store = new RedisServingStore({ redis, keyPrefix: config.redis.keyPrefix, emit: instr });
  const registry = testRegistry(config);
  const publisher = new TestPublisher(config, kafka, registry);
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ls-pipeline-'));
  const pipelines: Pipeline[] = [];
  const closers: (() => Promise<void>)[] = [];
  // A stage that falls back from onnxruntime to the JS kernel under jest is a false pass of every test here (they
  // mean the product's path): close() fails on it.
  const fallbacks: string[] = [];
  const logger = createLogger({
    level: 'warn',
    write: (line) => {
      if (line.includes('"msg":"onnxruntime')) fallbacks.push(line);
      process.stderr.write(line + '\n');
    },
  });
  return {
    config,
    kafka,
    redis,
    store,
    publisher,
    instr,
    stateDir,
    async start(stages, opts = {}) {
      const { decode, close } = await createDecode({ config, kafka, registry, emit: instr, logger });
      closers.push(close);
      const p = new Pipeline({
        config,
        kafka,
        decode,
        store: opts.keyPrefix ? new RedisServingStore({ redis, keyPrefix: opts.keyPrefix, emit: instr }) : store,
        logger,
        emit: instr,
        stages,
        synchronousItems: opts.synchronousItems,
        checkpoints: new FileCheckpointStore(opts.stateDir ?? stateDir),
        stateDir: opts.stateDir ?? stateDir,
        ...(opts.groupPrefix ? { groupPrefix: opts.groupPrefix } : {}),
        evaluateEvery: opts.evaluateEvery,
        maxReplicaLag: opts.maxReplicaLag,
        embed: opts.embed,
        servingEpochIntervalMs: opts.servingEpochIntervalMs,
      });
      pipelines.push(p);
      await p.start();
      return p;
    },
    async close() {
      for (const p of pipelines) await p.stop();
      for (const c of closers) await c();
      await publisher.close();
      // Every key of this test (sub-prefixes included): the shared Redis has a memory cap.
      await deleteKeys(redis, config.redis.keyPrefix);
      redis.disconnect();
      fs.rmSync(stateDir, { recursive: true, force: true });
      if (fallbacks.length > 0) throw new Error(`a stage ranked with the JS kernel, not onnxruntime: ${fallbacks[0]}`);
    },
  };
}
