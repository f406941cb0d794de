import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createKafka } from '../../lib/kafka/client';
import type { Logger } from '../../lib/log';
import { cdsArgs, finishCds } from './cds';
import { copyClosure } from './download';
import { ensureDir } from './paths';
import { pollUntil } from './ports';
import { halt, probeStatus, type LaunchSpec, type ServiceStatus, type StackContext } from './service';
import { requireJava, run } from './tools';

const LOG4J_VERSION = '2.26.1';
/** Kafka 4 logs through slf4j 1.7's API in its pom; the log4j2 binding we add is an slf4j 2 provider, so pin 2.x. */
const SLF4J_VERSION = '2.0.17';

function dirs(ctx: StackContext) {
  const { kafkaVersion, scalaVersion } = ctx.config.stack;
  const home = path.join(ctx.paths.data, 'kafka');
  return {
    libs: path.join(ctx.paths.cache, `kafka_${scalaVersion}-${kafkaVersion}`),
    home,
    logDirs: path.join(home, 'data'),
    properties: path.join(home, 'server.properties'),
    log4j: path.join(home, 'log4j2.properties'),
    clusterIdFile: path.join(home, 'cluster-id'),
  };
}

/** The address we use for our own broker (the configured broker list may point elsewhere when unmanaged). */
export function localBroker(ctx: StackContext): string {
  return `127.0.0.1:${ctx.config.stack.kafkaPort}`;
}

const silent: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {}, child: () => silent };

/** Ready = the broker answers DescribeCluster (metadata is served, so the controller elected itself). */
/**
 * A random KRaft cluster id (16 bytes, base64url). Like Kafka's own Uuid.randomUuid(), never one that begins with
 * '-': the storage tool's argument parser would read it as an option (CI failed once on "-139t9mcLdmxqV2vhTYCPw").
 */
export function newClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

export async function describeKafka(
  ctx: StackContext,
  brokers: string[],
): Promise<{ clusterId: string; controller: number | null; brokers: number }> {
  const kafka = createKafka({ ...ctx.config, kafka: { ...ctx.config.kafka, brokers } }, 'stack-probe', {
    logger: silent,
    retry: { retries: 0 },
    connectionTimeout: 1000,
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    const c = await admin.describeCluster();
    return { clusterId: c.clusterId, controller: c.controller, brokers: c.brokers.length };
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** The broker config we write on every start (exported for the unit test). */
export function serverProperties(ctx: StackContext): string {
  const { kafkaPort, kafkaControllerPort } = ctx.config.stack;
  const d = dirs(ctx);
  const partitions = ctx.config.kafka.partitions;
  return [
    '# Written by infra/stack/kafka.ts on every start; edit that file, not this one.',
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@127.0.0.1:${kafkaControllerPort}`,
    `listeners=PLAINTEXT://127.0.0.1:${kafkaPort},CONTROLLER://127.0.0.1:${kafkaControllerPort}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${kafkaPort}`,
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=PLAINTEXT',
    'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    `log.dirs=${d.logDirs}`,
    `num.partitions=${partitions}`,
    // Single node: every internal topic has one replica, or group commits and transactions never become available.
    'offsets.topic.replication.factor=1',
    'offsets.topic.num.partitions=8',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'transaction.state.log.num.partitions=8',
    'share.coordinator.state.topic.replication.factor=1',
    'share.coordinator.state.topic.min.isr=1',
    'default.replication.factor=1',
    'min.insync.replicas=1',
    // Tests create a group per case; a rebalance delay would add 3 s to each.
    'group.initial.rebalance.delay.ms=0',
    // Dev-sized logs: small segments, one day or 512 MiB per partition, small preallocated indexes.
    'log.segment.bytes=33554432',
    'log.retention.hours=24',
    'log.retention.bytes=536870912',
    // Retention checks and cleaner passes are cheap on a dev broker: quick ones let the erasure test
    // (test/integration/privacy-erasure.test.ts) watch deletion and compaction happen within seconds. Production
    // brokers keep Kafka's defaults (5 min, 15 s), which the documented erasure bound includes.
    'log.retention.check.interval.ms=2000',
    'log.cleaner.backoff.ms=1000',
    // The first retention check runs this long after the broker starts (Kafka's default 30 s): an erasure right after a
    // fresh start waited for it, so the erasure test failed when it ran first (21.7 s against its 9 s bound).
    'log.initial.task.delay.ms=2000',
    'log.index.size.max.bytes=1048576',
    'log.cleaner.dedupe.buffer.size=16777216',
    'num.network.threads=2',
    'num.io.threads=4',
    'num.recovery.threads.per.data.dir=1',
    'auto.create.topics.enable=true',
    'delete.topic.enable=true',
    '',
  ].join('\n');
}

function log4jProperties(ctx: StackContext): string {
  const file = path.join(ctx.paths.logs, 'kafka.log');
  return [
    'status = warn',
    'appender.file.type = RollingFile',
    'appender.file.name = file',
    `appender.file.fileName = ${file}`,
    `appender.file.filePattern = ${file}.%i`,
    'appender.file.layout.type = PatternLayout',
    'appender.file.layout.pattern = [%d] %p %m (%c)%n',
    'appender.file.policies.type = Policies',
    'appender.file.policies.size.type = SizeBasedTriggeringPolicy',
    'appender.file.policies.size.size = 10MB',
    'appender.file.strategy.type = DefaultRolloverStrategy',
    'appender.file.strategy.max = 2',
    'rootLogger.level = INFO',
    'rootLogger.appenderRef.file.ref = file',
    // Per-request and per-partition state chatter would fill the log in a benchmark.
    'logger.request.name = kafka.request.logger',
    'logger.request.level = WARN',
    'logger.state.name = state.change.logger',
    'logger.state.level = WARN',
    'logger.cleaner.name = kafka.log.LogCleaner',
    'logger.cleaner.level = WARN',
    '',
  ].join('\n');
}

function classpath(ctx: StackContext): string {
  return `${dirs(ctx).libs}/*`;
}

/** `-Xms` = `-Xmx` for the broker so its footprint is fixed from the start; the one-shot format tool gets less. */
function jvmArgs(ctx: StackContext, marker: string, heap = ctx.config.stack.kafkaHeap, fixedHeap = true): string[] {
  return [
    ...(fixedHeap ? [`-Xms${heap}`] : []),
    `-Xmx${heap}`,
    '-XX:+UseG1GC',
    '-XX:MaxGCPauseMillis=20',
    '-XX:+ExitOnOutOfMemoryError',
    '-Djava.awt.headless=true',
    `-Dlog4j2.configurationFile=${dirs(ctx).log4j}`,
    `-Dkafka.logs.dir=${ctx.paths.logs}`,
    marker,
    '-cp',
    classpath(ctx),
  ];
}

/** Downloads the broker jars (once per version) and formats the storage (once per data dir). */
async function prepare(ctx: StackContext): Promise<void> {
  const java = requireJava(17);
  const d = dirs(ctx);
  const { kafkaVersion, scalaVersion } = ctx.config.stack;
  await copyClosure(
    ctx.paths.cache,
    d.libs,
    [
      { groupId: 'org.apache.kafka', artifactId: `kafka_${scalaVersion}`, version: kafkaVersion },
      { groupId: 'org.apache.logging.log4j', artifactId: 'log4j-slf4j2-impl', version: LOG4J_VERSION },
      { groupId: 'org.apache.logging.log4j', artifactId: 'log4j-core', version: LOG4J_VERSION },
      { groupId: 'org.slf4j', artifactId: 'slf4j-api', version: SLF4J_VERSION },
    ],
    ctx.log,
  );
  ensureDir(d.home);
  ensureDir(ctx.paths.logs);
  fs.writeFileSync(d.properties, serverProperties(ctx));
  fs.writeFileSync(d.log4j, log4jProperties(ctx));
  if (!fs.existsSync(path.join(d.logDirs, 'meta.properties'))) {
    // Kafka's cluster id: 16 random bytes, URL-safe base64 without padding (what `kafka-storage random-uuid` prints).
    const clusterId = fs.existsSync(d.clusterIdFile) ? fs.readFileSync(d.clusterIdFile, 'utf8').trim() : newClusterId();
    fs.writeFileSync(d.clusterIdFile, clusterId + '\n');
    ctx.log(`kafka: formatting storage (cluster id ${clusterId})`);
    await run(java, [
      ...jvmArgs(ctx, '-Dlearnstream.stack=kafka-format', '256m', false),
      'kafka.tools.StorageTool',
      'format',
      `--cluster-id=${clusterId}`,
      '-c',
      d.properties,
      '--ignore-formatted',
    ]);
  }
}

/**
 * The broker creates __consumer_offsets and __transaction_state on first use, and the first group join or
 * transactional producer then fails with "coordinator is loading". Touch both once after a start, so the first test
 * or pipeline stage meets a warm broker.
 */
async function warmUp(ctx: StackContext): Promise<void> {
  const kafka = createKafka({ ...ctx.config, kafka: { ...ctx.config.kafka, brokers: [localBroker(ctx)] } }, 'stack-warmup', {
    logger: silent,
  });
  const admin = kafka.admin();
  const producer = kafka.producer({ transactionalId: 'learnstream-stack-warmup', idempotent: true, maxInFlightRequests: 1 });
  try {
    await admin.connect();
    await pollUntil(
      async () => {
        await admin.fetchOffsets({ groupId: 'learnstream-stack-warmup' });
        return true;
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    await producer.connect();
    await pollUntil(
      async () => {
        const txn = await producer.transaction();
        await txn.abort();
        return true;
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
  } finally {
    await producer.disconnect().catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
  }
}

export function marker(ctx: StackContext): string {
  return `-Dlearnstream.stack=kafka:${ctx.paths.data}`;
}

/** How to run our broker; undefined when the config points at an existing cluster. */
export function kafkaSpec(ctx: StackContext): LaunchSpec | undefined {
  if (!ctx.config.kafka.managed) return undefined;
  const m = marker(ctx);
  return {
    service: 'kafka',
    needsJava: true,
    extraPorts: [ctx.config.stack.kafkaControllerPort],
    logFile: path.join(ctx.paths.logs, 'kafka.log'),
    port: ctx.config.stack.kafkaPort,
    marker: m,
    graceMs: 30_000,
    prepare: () => prepare(ctx),
    command: () => {
      const java = requireJava(17);
      const cds = cdsArgs(ctx.paths.cache, cdsName(ctx), java);
      return { cmd: java, args: [...cds, ...jvmArgs(ctx, m), 'kafka.Kafka', dirs(ctx).properties], cwd: dirs(ctx).home };
    },
    ready: async () => (await describeKafka(ctx, [localBroker(ctx)])).brokers > 0,
    warmUp: () => warmUp(ctx),
  };
}

function cdsName(ctx: StackContext): string {
  return `kafka_${ctx.config.stack.scalaVersion}-${ctx.config.stack.kafkaVersion}`;
}

export async function kafkaDown(ctx: StackContext): Promise<string> {
  const how = await halt(ctx, 'kafka', 30_000);
  if (how !== 'not running') finishCds(ctx.paths.cache, cdsName(ctx), requireJava(17), how);
  return how;
}

export async function kafkaStatus(ctx: StackContext): Promise<ServiceStatus> {
  const managed = ctx.config.kafka.managed;
  const brokers = managed ? [localBroker(ctx)] : ctx.config.kafka.brokers;
  let detail: string | undefined;
  const status = await probeStatus(ctx, 'kafka', managed, ctx.config.stack.kafkaPort, async () => {
    const c = await describeKafka(ctx, brokers);
    detail = `cluster ${c.clusterId}, ${c.brokers} broker(s)${managed ? `, Kafka ${ctx.config.stack.kafkaVersion}` : ''}`;
    return true;
  });
  return { ...status, detail: detail ?? (managed ? undefined : brokers.join(',')) };
}
