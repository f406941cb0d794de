/**
 * Process entry of the pipeline: `npx tsx pipelines/main.ts --stage learner|item|catalog|experiment|all [--sync]`.
 *   --stage all     every stage in this process (default); a comma list (`--stage item,catalog,experiment`) runs those
 *   --instance I    learner instance index when the learner stage runs as several processes on one host (lib/config/
 *                   layout.ts: what `npm start` and the systemd template unit run): /metrics on metrics.port + 1 + I
 *                   instead of metrics.port, its own serving-epoch file, I in its log lines
 *   --metrics-port P  /metrics, /healthz and /readyz on P whatever --instance says (one learner per pod: the k8s
 *                   StatefulSet in infra/k8s/learner.yaml gives every pod the same port and its ordinal as --instance)
 *   --learner-peers P1,P2,...  /readyz of this process also reports the learner instances whose /readyz answer on
 *                   those 127.0.0.1 ports (`npm start` gives them to the non-learner process: one URL for the whole
 *                   pipeline)
 *   --sync          deterministic mode: the learner stage owns the item table and applies item gradients at once
 *                   (needs one partition per topic); the item stage is not started
 *   --no-encoder    do not load the ONNX content encoder (new resources then start from a seeded random factor,
 *                   declared interests match by catalogue topic)
 *   --group-prefix P   consumer group ids are P + stage (default <topicPrefix>learnstream-)
 *   --state kafka|files  where stage checkpoints live (default kafka). kafka: the compacted topic
 *                      <prefix>learnstream.state-changelog, one transaction per checkpoint with the consumed offsets,
 *                      only changed rows rewritten (consumers/state/changelog.ts): any instance on any host, with an
 *                      empty state dir, restores from Kafka. files: <state-dir>/<stage>/group-<g>.json, one JSON
 *                      snapshot per partition group rewritten whole (a shared volume for several hosts)
 *   --changelog        the same as --state kafka (older command lines)
 *   --state-dir D      local directory (default <dataDir>/state): the checkpoint files with --state files, and the
 *                      serving-epoch markers either way; never required to hold anything for a restore with kafka
 * Serves /metrics, /healthz and /readyz on config metrics.host:metrics.port (LEARNSTREAM_METRICS_HOST, _PORT; + 1 + I with --instance I). SIGINT/SIGTERM stop gracefully (final
 * checkpoint, then exit 0); an unrecoverable error exits 1 with the cause on stderr.
 */
import { Registry } from 'prom-client';
import { loadConfig } from '../lib/config';
import { learnerMetricsPort } from '../lib/config/layout';
import { errorMessage, ValidationError } from '../lib/errors';
import { createKafka } from '../lib/kafka/client';
import { changelogTopicPlan, ensureChangelogTopic, ensureTopics } from '../lib/kafka/topics';
import { createLogger } from '../lib/log';
import { bindInstrumentation, createInstrumentation, createMetrics, serveMetrics, type Emitter, type MetricsServer } from '../lib/metrics';
import { createServingRedis } from '../lib/redis/client';
import { createRegistryClient } from '../lib/registry/client';
import { RedisServingStore } from '../serving/redis-store';
import type { EmbedFn } from '../models/content/text';
import { OnnxSentenceEncoder, resolveEncoderDir } from '../lib/encoder';
import { createDecode, createSecondaryDecode } from '../consumers/decode/decoders';
import { Pipeline, type StageName } from './pipeline';
import { FileCheckpointStore } from '../consumers/state/checkpoint';
import { KafkaChangelogStore } from '../consumers/state/changelog';
import { PeerReadiness } from './peer-readiness';
import type { MetricsRole } from '../lib/metrics';

/** Metric families a process with these stages sets (lib/metrics OWNERS). */
export function metricsRoles(stages: StageName[]): MetricsRole[] {
  return [
    'pipeline',
    ...(stages.includes('learner') ? (['learner'] as const) : []),
    ...(stages.includes('experiment') ? (['experiment'] as const) : []),
  ];
}

export interface MainArgs {
  stages: StageName[];
  sync: boolean;
  encoder: boolean;
  groupPrefix?: string;
  stateDir?: string;
  /** Where checkpoints live (--state): the compacted changelog topic (default; consumers/state/changelog.ts) or files. */
  state: 'kafka' | 'files';
  /** Learner instance index (--instance). */
  instance?: number;
  /** Metrics ports of learner instances whose readiness this process reports too (--learner-peers). */
  learnerPeers?: number[];
  /** The /metrics port, overriding the one the layout derives (--metrics-port). */
  metricsPort?: number;
}

export function parseArgs(argv: string[]): MainArgs {
  let stage = 'all';
  let sync = false;
  let encoder = true;
  let groupPrefix: string | undefined;
  let stateDir: string | undefined;
  let state: MainArgs['state'] = 'kafka';
  let instance: number | undefined;
  let learnerPeers: number[] | undefined;
  let metricsPort: number | undefined;
  const int = (flag: string, v: string | undefined, min: number): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > 65535) throw new ValidationError(`${flag} must be an integer >= ${min} (got ${v})`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--stage') stage = argv[++i] ?? '';
    else if (a.startsWith('--stage=')) stage = a.slice(8);
    else if (a === '--sync') sync = true;
    else if (a === '--no-encoder') encoder = false;
    else if (a === '--group-prefix') groupPrefix = argv[++i];
    else if (a === '--state-dir') stateDir = argv[++i];
    else if (a === '--changelog') state = 'kafka';
    else if (a === '--state' || a.startsWith('--state=')) {
      const v = a === '--state' ? argv[++i] : a.slice(8);
      if (v !== 'kafka' && v !== 'files') throw new ValidationError(`--state must be kafka or files (got ${v})`);
      state = v;
    } else if (a === '--instance') instance = int('--instance', argv[++i], 0);
    else if (a === '--metrics-port') metricsPort = int('--metrics-port', argv[++i], 0);
    else if (a === '--learner-peers')
      learnerPeers = (argv[++i] ?? '')
        .split(',')
        .filter((p) => p !== '')
        .map((p) => int('--learner-peers', p, 1));
    else throw new ValidationError(`unknown argument ${a}`);
  }
  const all: StageName[] = ['learner', 'item', 'catalog', 'experiment'];
  const extra = {
    sync,
    encoder,
    groupPrefix,
    stateDir,
    state,
    ...(instance !== undefined ? { instance } : {}),
    ...(learnerPeers ? { learnerPeers } : {}),
    ...(metricsPort !== undefined ? { metricsPort } : {}),
  };
  if (stage === 'all') return { stages: all, ...extra };
  const stages = stage.split(',');
  const bad = stages.filter((s) => !all.includes(s as StageName));
  if (bad.length > 0 || stages.length === 0)
    throw new ValidationError(`--stage must be all or a comma list of learner, item, catalog, experiment (got ${stage})`);
  return { stages: [...new Set(stages)] as StageName[], ...extra };
}

async function loadEncoder(dir: string, emit: Emitter, log: ReturnType<typeof createLogger>): Promise<EmbedFn | undefined> {
  try {
    const enc = await OnnxSentenceEncoder.load(dir, { emit });
    return enc.embed;
  } catch (err) {
    log.warn('content encoder unavailable: new resources start from a seeded random factor, declared interests match by catalogue topic', {
      err: errorMessage(err),
    });
    return undefined;
  }
}

export async function main(argv: string[]): Promise<void> {
  const args = parseArgs(argv);
  const config = loadConfig();
  const logger = createLogger({
    level: config.logLevel,
    base: { component: 'pipeline', stages: args.stages.join(','), ...(args.instance !== undefined ? { instance: args.instance } : {}) },
    idSecret: config.privacy.logIdSecret || undefined,
  });
  const registry = new Registry();
  const instr = createInstrumentation();
  // Only the families this process' stages set: a learner-only gauge exported by the item/catalogue process would
  // say something false (lib/metrics OWNERS).
  bindInstrumentation(instr, createMetrics(registry, { roles: metricsRoles(args.stages) }));
  let metrics: MetricsServer | null = null;
  const kafka = createKafka(config, `pipeline-${args.stages.join('-')}${args.instance !== undefined ? `-${args.instance}` : ''}`);
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, config);
  // compacted, with the erasure bounds of personal data (it holds learners' state by id), and its dead-letter twin
  const changelogTopic = args.state === 'kafka' ? await ensureChangelogTopic(admin, config) : changelogTopicPlan(config).name;
  await admin.disconnect();
  const changelog =
    args.state === 'kafka'
      ? new KafkaChangelogStore({
          kafka,
          topic: changelogTopic,
          partitions: config.kafka.partitions,
          transactionalPrefix: `${config.kafka.topicPrefix}learnstream-changelog-`,
          emit: instr,
          logger: logger.child({ component: 'dead-letter' }),
        })
      : undefined;
  // One Redis, or a Redis Cluster when config.redis.clusterNodes are set.
  const redis = createServingRedis(config);
  // after an erasure the learner stage's DEL is followed by an AOF rewrite within privacy.aofRewriteMs (erasure bound)
  const store = new RedisServingStore({
    redis,
    keyPrefix: config.redis.keyPrefix,
    emit: instr,
    ownsClient: true,
    aofRewriteAfterEraseMs: config.privacy.aofRewriteMs,
    onAofRewrite: (o) =>
      o.ok
        ? logger.info('redis AOF rewrite requested after erasure', { replies: o.replies })
        : logger.warn('redis AOF rewrite after erasure failed', { error: o.error }),
  });
  const registryClient = createRegistryClient(config);
  const decode = await createDecode({ config, kafka, registry: registryClient, emit: instr, logger });
  let embed: EmbedFn | undefined;
  // The learner stage embeds declared interests with the same encoder the catalogue stage embeds resources with.
  if (args.encoder && (args.stages.includes('catalog') || args.stages.includes('learner'))) {
    embed = await loadEncoder(resolveEncoderDir(config), instr, logger);
  }
  let exiting = false;
  const pipeline = new Pipeline({
    config,
    kafka,
    decode: decode.decode,
    secondaryDecode: createSecondaryDecode({ config, registry: registryClient }),
    store,
    logger,
    emit: instr,
    stages: args.stages,
    synchronousItems: args.sync,
    embed,
    ...(args.instance !== undefined ? { instance: args.instance } : {}),
    ...(args.groupPrefix ? { groupPrefix: args.groupPrefix } : {}),
    checkpoints: changelog ?? new FileCheckpointStore(args.stateDir ?? `${config.dataDir}/state`),
    ...(args.stateDir ? { stateDir: args.stateDir } : {}),
    onFatal: (err) => {
      logger.error('stage crashed', { err: errorMessage(err) });
      process.stderr.write(`learnstream pipeline: fatal: ${errorMessage(err)}\n`);
      process.exit(1);
    },
  });
  const shutdown = async (signal: string) => {
    if (exiting) return;
    exiting = true;
    logger.info('stopping', { signal });
    try {
      peers?.stop();
      await pipeline.stop();
      await changelog?.close();
      await decode.close();
      await store.close();
      await metrics?.close();
      process.exit(0);
    } catch (err) {
      process.stderr.write(`learnstream pipeline: error while stopping: ${errorMessage(err)}\n`);
      process.exit(1);
    }
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  // /readyz: 503 while starting and whenever a replica consumer is down, with the reason; with --learner-peers also
  // while any learner instance is not ready (or not answering).
  const peers = args.learnerPeers?.length ? new PeerReadiness(args.learnerPeers) : undefined;
  peers?.start();
  const readiness = () => {
    const own = pipeline.readiness();
    const others = peers?.reasons() ?? [];
    // a group that replayed its input because its changelog state could not be rebuilt: worth knowing, not unready
    const notes = (changelog?.fallbacks ?? []).map(
      (f) =>
        `${f.stage}/${f.group} replayed its input from the start at ${new Date(f.at).toISOString()}: changelog state not rebuildable (${f.reason}: ${f.detail})`,
    );
    return { ready: own.ready && others.length === 0, reasons: [...own.reasons, ...others], notes };
  };
  const metricsPort = args.metricsPort ?? (args.instance !== undefined ? learnerMetricsPort(config, args.instance) : config.metrics.port);
  metrics = await serveMetrics(registry, metricsPort, config.metrics.host, { readiness });
  await pipeline.start();
  logger.info('ready', { metrics: `http://127.0.0.1:${metrics.port}/metrics` });
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`learnstream pipeline: ${errorMessage(err)}\n`);
    process.exit(1);
  });
}
