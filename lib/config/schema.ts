import * as os from 'node:os';
import { z } from 'zod';

const port = z.number().int().min(1).max(65535);

/** What a key may do: `read` the /v1 GET routes, `write` events, `admin` erase learners (DELETE, or erasure events). */
export const SCOPES = ['read', 'write', 'admin'] as const;

const apiKey = z.object({
  /** The secret presented in the `x-api-key` header (or `Authorization: Bearer`). */
  key: z.string().min(8, 'API keys must be at least 8 characters'),
  scopes: z.array(z.enum(SCOPES)).min(1),
  name: z.string().default('unnamed'),
  /**
   * Binds the key to one tenant: the ids of the records it writes or erases under an owner's id (`resource` events
   * by resourceId, `profile` and `erasure` events and DELETE /v1/learners/:id by userId) must start with this prefix,
   * else 403. Interactions and quiz attempts are not bound. Absent = unbound (any id).
   */
  idPrefix: z.string().min(1).max(64).optional(),
});

const experimentName = z.string().regex(/^[a-z0-9_-]{1,32}$/, 'experiment and variant names: 1-32 of a-z 0-9 _ -');

/** A variant of an experiment (models/experiments/types.ts); no `ranking` = the control. */
const variant = z.object({
  name: experimentName,
  /** Relative share of learners (share = weight / sum of the experiment's weights). */
  weight: z.number().positive().default(1),
  /** What the variant changes in the learner stage's ranking; absent fields keep the configured value. */
  ranking: z
    .object({
      /** false = the recommender's relevance alone (no difficulty fit, interests, exploration or MMR). */
      learningLayer: z.boolean().optional(),
      /** MMR trade-off: 1 = MMR off (relevance only), lower = a more diverse head. */
      mmrLambda: z.number().min(0).max(1).optional(),
      /** Exploration slots: new resources matching an interest kept in the list whatever their relevance. */
      reserveNew: z.number().int().min(0).max(50).optional(),
      /** Ranker weights (models/ranking RankWeights: relevance, collab, popularity, interest, recent, difficulty...). */
      weights: z
        .partialRecord(z.enum(['relevance', 'collab', 'interest', 'recent', 'difficulty', 'popularity']), z.number().min(0))
        .optional(),
      /** Target P(success) of the difficulty fit. */
      targetSuccess: z.number().gt(0).lt(1).optional(),
    })
    .strict()
    .optional(),
});

/**
 * An A/B experiment: learners are split between its variants by a hash of (experiment id, learner id), weighted;
 * every served list carries a recommId naming the experiment and variant (docs/experiments.md).
 */
const experiment = z
  .object({
    id: experimentName,
    description: z.string().default(''),
    /** false: nobody is assigned and lists are ranked as configured; the counts already made stay readable. */
    active: z.boolean().default(true),
    variants: z.array(variant).min(2, 'an experiment needs at least two variants'),
  })
  .superRefine((e, ctx) => {
    const names = e.variants.map((v) => v.name);
    if (new Set(names).size !== names.length)
      ctx.addIssue({ code: 'custom', path: ['variants'], message: `experiment ${e.id}: duplicate variant name` });
  });

export const configSchema = z
  .object({
    /** Where the local stack keeps data, logs and pid files (ignored by git). */
    dataDir: z.string().default('.learnstream'),
    /** Download cache for broker, registry jars and models. Default ~/.cache/learnstream. */
    cacheDir: z.string().default(''),
    logLevel: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
    kafka: z
      .object({
        /** Broker list. Setting it (env LEARNSTREAM_KAFKA_BROKERS) means "use an existing cluster": no local broker. */
        brokers: z
          .array(z.string().regex(/^[^:\s]+:\d+$/, 'broker must be host:port'))
          .min(1)
          .default(['127.0.0.1:19092']),
        clientId: z.string().default('learnstream'),
        ssl: z.boolean().default(false),
        /** CA bundle (PEM file path) for TLS to brokers; empty = system CAs. */
        sslCaFile: z.string().default(''),
        sasl: z
          .object({
            mechanism: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']),
            username: z.string().min(1),
            password: z.string().min(1),
          })
          .optional(),
        /** Prepended to every topic name, so several deployments can share a cluster. */
        topicPrefix: z.string().default(''),
        /** Partitions for topics we create. */
        partitions: z.number().int().min(1).max(1024).default(4),
        replicationFactor: z.number().int().min(1).default(1),
        /** Start a local broker (derived: false when brokers were given explicitly). */
        managed: z.boolean().default(true),
      })
      .prefault({}),
    registry: z
      .object({
        /** Confluent-compatible schema registry base URL. */
        url: z.string().url().default('http://127.0.0.1:18081/apis/ccompat/v7'),
        username: z.string().optional(),
        password: z.string().optional(),
        managed: z.boolean().default(true),
      })
      .prefault({}),
    redis: z
      .object({
        /** redis:// or rediss:// (TLS) URL; a password may be in the URL or given separately. */
        url: z
          .string()
          .regex(/^rediss?:\/\//, 'redis url must start with redis:// or rediss://')
          .default('redis://127.0.0.1:16379'),
        password: z.string().optional(),
        /** Prefix for every key we write. */
        keyPrefix: z.string().default('ls:'),
        /**
         * host:port of Redis Cluster nodes (any subset: the client discovers the rest). Non-empty = the serving store
         * runs on that cluster through ioredis' Cluster client (url then only gives TLS and password), with one hash
         * slot per learner's keys; empty (default) = the single Redis at url.
         */
        clusterNodes: z.array(z.string().regex(/^[^:\s]+:\d+$/, 'cluster node must be host:port')).default([]),
        managed: z.boolean().default(true),
      })
      .prefault({}),
    stack: z
      .object({
        kafkaVersion: z.string().default('4.1.1'),
        scalaVersion: z.string().default('2.13'),
        apicurioVersion: z.string().default('3.0.9'),
        kafkaPort: port.default(19092),
        kafkaControllerPort: port.default(19093),
        registryPort: port.default(18081),
        redisPort: port.default(16379),
        prometheusPort: port.default(19090),
        /** JVM heap for the broker and the registry, so the stack's memory use is predictable. */
        kafkaHeap: z.string().default('512m'),
        registryHeap: z.string().default('384m'),
        /** Seconds to wait for each service to become ready. */
        readyTimeoutSec: z.number().int().min(5).default(120),
      })
      .prefault({}),
    api: z
      .object({
        host: z.string().default('127.0.0.1'),
        port: port.default(18080),
        apiKeys: z.array(apiKey).default([
          { key: 'dev-read-key', scopes: ['read'], name: 'dev-read' },
          { key: 'dev-write-key', scopes: ['read', 'write'], name: 'dev-write' },
          { key: 'dev-admin-key', scopes: ['read', 'write', 'admin'], name: 'dev-admin' },
        ]),
        /** Allowed CORS origins; empty = CORS off. '*' allows any. */
        corsOrigins: z.array(z.string()).default([]),
        /** Requests per minute per API key (token bucket). */
        rateLimitPerMinute: z.number().int().min(1).default(6000),
        /** Collector limits: events per POST and bytes per body. */
        maxBatchEvents: z.number().int().min(1).max(10000).default(500),
        maxBodyBytes: z.number().int().min(1024).default(1_048_576),
        /**
         * Longest POST /v1/events and DELETE /v1/learners/:id wait for Kafka's acknowledgement (producer start-up
         * included), in ms; then 503 with Retry-After. Default 1500, so the answer comes within 2 s (docs/api.md).
         */
        publishTimeoutMs: z.number().int().min(100).max(30_000).default(1500),
        /**
         * Serve the demo page at /demo (api/demo/): it hands a read-only key to the browser and posts the visitor's
         * clicks and quiz answers with a write key held server-side, so it is for demos only. Default false;
         * `npm start` turns it on.
         */
        demoPage: z.boolean().default(false),
      })
      .prefault({}),
    metrics: z
      .object({
        /** Port of the /metrics endpoint of pipeline stages (the API serves /metrics on its own port). */
        port: port.default(19464),
        /**
         * Bind address of that endpoint (and its /healthz). Default 127.0.0.1: metrics are for the local Prometheus.
         * In a container, 0.0.0.0, so the kubelet's probes and a cluster Prometheus reach it (infra/k8s/).
         */
        host: z.string().default('127.0.0.1'),
      })
      .prefault({}),
    pipeline: z
      .object({
        /** Length of the cached top-N list per learner (kept longer than served so server-side filters still fill a page). */
        topN: z.number().int().min(1).max(1000).default(100),
        /** At most one re-rank per learner per this many milliseconds; bursts are coalesced. */
        rerankIntervalMs: z.number().int().min(0).default(0),
        /**
         * A learner whose recent resources gained transitions from other learners (any partition) is re-ranked, at
         * most once per this many ms, without an event of their own; 0 (default) = only on their own events. Measured
         * on the first 30k movielens events (served path): 300000 gave Recall@10 0.2225 vs 0.2223 off, at 3.8x the
         * learner stage's CPU; off by default.
         */
        signalRefreshMs: z.number().int().min(0).default(0),
        /**
         * Candidate scoring: below this many item rows x learners of one scoring batch the JS kernel scores it (an
         * onnxruntime call has a fixed cost); at or above, the batched onnxruntime kernel. 0 = always onnxruntime once
         * loaded (the integration suite sets it, and asserts that the kernel ran).
         */
        onnxMinWork: z.number().int().min(0).default(4096),
        /**
         * Catalogue rows from which a learner's candidates come from an inverted-file index (k-means partitions of
         * the item factors, the `ivfNprobe` partitions nearest the learner scanned, rows scored live) instead of a
         * product with every row. 0 = always exact. `npm run bench -- learner --growth` measures both at 1M.
         */
        ivfMinRows: z.number().int().min(0).default(200_000),
        /** Partitions an IVF search scans per learner (recall against exact in `npm run bench -- learner --growth`). */
        ivfNprobe: z.number().int().min(1).default(16),
        /** Model state snapshot interval (ms). */
        checkpointIntervalMs: z.number().int().min(100).default(5000),
        /**
         * Stall limit (ms): a stage whose consumption stays paused for readiness this long, or a partition with lag
         * that gets no batch this long, is a stall: learnstream_pipeline_stalls_total, and the process exits non-zero
         * to be restarted by its supervisor (state resumes from the checkpoint). 0 = off. Default 180000 (3 min).
         */
        maxPauseMs: z.number().int().min(0).default(180_000),
        /** Bounded per-learner history length. */
        historyLength: z.number().int().min(1).max(10000).default(200),
        /** Concurrent partitions processed per consumer. */
        partitionsConsumedConcurrently: z.number().int().min(1).max(64).default(2),
        /**
         * Learner-stage processes `npm start` runs (one consumer-group member each; lib/config/layout.ts). Unset =
         * one per core (os.availableParallelism()), at most kafka.partitions: an instance without a partition would
         * idle. Set above kafka.partitions it is a configuration error.
         */
        learnerInstances: z.number().int().min(1).max(1024).optional(),
        /**
         * Spaced review (FSRS, models/review): up to `reviewSlots` of the learner's due reviews enter the first
         * `reviewSlotsWithin` positions of the served list, with reason "due-for-review". 0 = off. Default 2 of 10.
         */
        reviewSlots: z.number().int().min(0).max(20).default(2),
        reviewSlotsWithin: z.number().int().min(1).max(1000).default(10),
        /** FSRS target retention: a card is due when its predicted recall falls to this. Default 0.9. */
        reviewRetention: z.number().gt(0.5).lt(1).default(0.9),
        /**
         * Learner stage tunables (pipelines/learner/processor.ts LearnerTuning, same defaults). Online quality gauges
         * (learnstream_quality_*): hits counted in a list's top `qualityHitK`, over the last `qualityWindow` trials,
         * emitted every `qualityEmitEvery` trials.
         */
        qualityHitK: z.number().int().min(1).max(1000).default(10),
        qualityWindow: z.number().int().min(1).default(1000),
        qualityEmitEvery: z.number().int().min(1).default(100),
        /** A new engagement is paired with the learner's this many most recent resources (co-engagement, /similar). */
        coEngagementWindow: z.number().int().min(0).max(1000).default(5),
        /** Popularity and co-engagement counts are written to the serving store every this many ms; 0 = only at stop. */
        derivedFlushMs: z.number().int().min(0).default(1000),
        /**
         * Under lag (more than `lagHoldRecords` records still waiting in a partition after a fetched batch) the batch's
         * re-ranks coalesce with the next ones, for at most `lagHoldBatches` batch ends or `lagHoldMs` ms. Below one
         * fetched batch (~1,700 interactions at 256 KiB per partition), or a backlog counts as caught up after its first.
         */
        lagHoldRecords: z.number().int().min(0).default(500),
        lagHoldBatches: z.number().int().min(1).default(8),
        lagHoldMs: z.number().int().min(0).default(60_000),
        /** Signal refresh (signalRefreshMs > 0): learners re-ranked per changed transition row at most. */
        refreshPerRow: z.number().int().min(1).default(200),
        /** Signal refresh: entries of the index of learners by their recent resources at most (its memory bound). */
        refreshIndexEntries: z.number().int().min(0).default(2_000_000),
        /** Learners re-ranked at once for one new resource that matches their declared interests, at most. */
        interestRerankMax: z.number().int().min(0).default(10_000),
        /**
         * Learners ranked between event-loop turns within one re-rank batch; each chunk's lists are written as soon as
         * it is ranked, so early learners' lists are acknowledged early and other work interleaves. 0 = the whole
         * batch (up to 128 learners, ~1 ms each) in one block.
         */
        rerankChunk: z.number().int().min(0).default(0),
      })
      .prefault({}),
    privacy: z
      .object({
        /**
         * Retention of the topics that hold personal data (learning.interactions, learning.quiz-attempts,
         * privacy.erasures and the dead letters of every topic), in ms. Default 86,400,000 (24 h). With `segmentMs` it
         * bounds how long an erased learner's raw events stay on Kafka (docs/operations.md, "Erasure bound").
         */
        retentionMs: z.number().int().min(1000).default(86_400_000),
        /**
         * `segment.ms` of those topics and of learners.profiles, in ms: retention and compaction only touch closed
         * segments, so a segment must roll this often for them to take effect. Default 3,600,000 (1 h).
         */
        segmentMs: z.number().int().min(1000).default(3_600_000),
        /**
         * learners.profiles: `max.compaction.lag.ms` (a superseded or tombstoned profile is compacted away within this
         * after its segment rolled) and `delete.retention.ms` (how long the tombstone itself is kept), in ms. Default
         * 3,600,000 (1 h).
         */
        compactionLagMs: z.number().int().min(1000).default(3_600_000),
        /**
         * Redis' append-only file keeps every write until Redis rewrites it, an erased learner's too: after erasing a
         * learner's serving keys a process asks Redis for a rewrite (BGREWRITEAOF, when AOF is on) within this many
         * ms, once for all erasures in that time. Default 3,600,000 (1 h). 0 = never (a Redis without AOF, or a
         * managed one that rewrites on its own schedule and refuses the command: the bound is then the provider's).
         */
        aofRewriteMs: z.number().int().min(0).default(3_600_000),
        /**
         * Secret of the keyed hash (HMAC-SHA-256) that pseudonymises learner ids in logs. Set the same value on every
         * process to correlate one learner's lines across them; empty = a random secret per process start (ids
         * still match within one process). Never logged.
         */
        logIdSecret: z.string().default(''),
      })
      .prefault({}),
    model: z
      .object({
        dim: z.number().int().min(2).max(512).default(32),
        learningRate: z.number().positive().max(1).default(0.05),
        regularization: z.number().min(0).max(1).default(0.01),
        seed: z.number().int().default(42),
        /** Target probability of success for difficulty fit in ranking. */
        targetSuccess: z.number().gt(0).lt(1).default(0.75),
        /** Directory of the sentence-embedding model (model.onnx + tokenizer.json). Empty = the model cache. */
        encoderDir: z.string().default(''),
      })
      .prefault({}),
    /** A/B experiments (docs/experiments.md). At most one may be active: two ranking changes on one learner would confound each other. */
    experiments: z.array(experiment).default([]),
  })
  .superRefine((c, ctx) => {
    const ids = c.experiments.map((e) => e.id);
    if (new Set(ids).size !== ids.length) ctx.addIssue({ code: 'custom', path: ['experiments'], message: 'duplicate experiment id' });
    if (c.experiments.filter((e) => e.active).length > 1)
      ctx.addIssue({ code: 'custom', path: ['experiments'], message: 'at most one experiment may be active' });
    if (c.kafka.sasl && !c.kafka.ssl) {
      ctx.addIssue({
        code: 'custom',
        path: ['kafka', 'ssl'],
        message: 'SASL credentials over plaintext: set kafka.ssl=true (LEARNSTREAM_KAFKA_SSL=true)',
      });
    }
    if ((c.registry.username === undefined) !== (c.registry.password === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['registry'], message: 'registry username and password must be given together' });
    }
    const ports = [
      c.stack.kafkaPort,
      c.stack.kafkaControllerPort,
      c.stack.registryPort,
      c.stack.redisPort,
      c.stack.prometheusPort,
      c.api.port,
      c.metrics.port,
    ];
    if (new Set(ports).size !== ports.length) {
      ctx.addIssue({ code: 'custom', path: ['stack'], message: `ports must be distinct, got ${ports.join(', ')}` });
    }
    const learners = c.pipeline.learnerInstances;
    if (learners !== undefined && learners > c.kafka.partitions) {
      ctx.addIssue({
        code: 'custom',
        path: ['pipeline', 'learnerInstances'],
        message: `learnerInstances (${learners}) above kafka.partitions (${c.kafka.partitions}): the instances beyond the partition count would get no partition`,
      });
    }
    // The learner instances' /metrics ports follow metrics.port (lib/config/layout.ts): metrics.port + 1 .. + n.
    const n = learnerInstanceCount(c);
    const clash = ports.filter((p) => p > c.metrics.port && p <= c.metrics.port + n);
    if (clash.length > 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['metrics', 'port'],
        message: `learner instances' metrics ports ${c.metrics.port + 1}..${c.metrics.port + n} (metrics.port + 1 .. + ${n}) take port ${clash.join(', ')}`,
      });
    }
    if (c.privacy.segmentMs > c.privacy.retentionMs) {
      ctx.addIssue({
        code: 'custom',
        path: ['privacy', 'segmentMs'],
        message: `segmentMs (${c.privacy.segmentMs}) above retentionMs (${c.privacy.retentionMs}): retention would wait for the segment to roll`,
      });
    }
    if (c.pipeline.reviewSlots > c.pipeline.reviewSlotsWithin) {
      ctx.addIssue({
        code: 'custom',
        path: ['pipeline', 'reviewSlots'],
        message: `reviewSlots (${c.pipeline.reviewSlots}) above reviewSlotsWithin (${c.pipeline.reviewSlotsWithin})`,
      });
    }
    const keys = c.api.apiKeys.map((k) => k.key);
    if (new Set(keys).size !== keys.length) ctx.addIssue({ code: 'custom', path: ['api', 'apiKeys'], message: 'duplicate API key' });
  });

export type Config = z.infer<typeof configSchema>;

/**
 * Learner-stage instances (processes) of this configuration: pipeline.learnerInstances, or one per core at most
 * kafka.partitions. Here rather than in layout.ts so the schema's cross-field check uses the very same rule.
 */
export function learnerInstanceCount(c: { pipeline: { learnerInstances?: number }; kafka: { partitions: number } }): number {
  return c.pipeline.learnerInstances ?? Math.max(1, Math.min(os.availableParallelism(), c.kafka.partitions));
}
export type ApiKey = z.infer<typeof apiKey>;
export type ExperimentConfig = z.infer<typeof experiment>;
export type Scope = (typeof SCOPES)[number];
