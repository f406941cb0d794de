/**
 * Environment variables understood by learnstream, all with the LEARNSTREAM_ prefix. This table is the single source
 * for both parsing and the README's configuration table.
 */
type Kind = 'string' | 'int' | 'number' | 'bool' | 'list' | 'apiKeys';
export interface EnvVar {
  name: string;
  path: string[];
  kind: Kind;
  help: string;
}

const v = (name: string, path: string, kind: Kind, help: string): EnvVar => ({
  name: `LEARNSTREAM_${name}`,
  path: path.split('.'),
  kind,
  help,
});

export const ENV_VARS: EnvVar[] = [
  v('CONFIG', '_file', 'string', 'Optional JSON config file; its values override the environment.'),
  v('DATA_DIR', 'dataDir', 'string', 'Data, logs and pid files of the local stack (default .learnstream).'),
  v('CACHE_DIR', 'cacheDir', 'string', 'Download cache (default ~/.cache/learnstream).'),
  v('LOG_LEVEL', 'logLevel', 'string', 'debug | info | warn | error.'),
  v('KAFKA_BROKERS', 'kafka.brokers', 'list', 'Comma-separated host:port. Set = use that cluster, start no local broker.'),
  v('KAFKA_CLIENT_ID', 'kafka.clientId', 'string', 'Kafka client id.'),
  v('KAFKA_SSL', 'kafka.ssl', 'bool', 'TLS to the brokers.'),
  v('KAFKA_SSL_CA_FILE', 'kafka.sslCaFile', 'string', 'PEM CA bundle for broker TLS.'),
  v('KAFKA_SASL_MECHANISM', 'kafka.sasl.mechanism', 'string', 'plain | scram-sha-256 | scram-sha-512.'),
  v('KAFKA_SASL_USERNAME', 'kafka.sasl.username', 'string', 'SASL user.'),
  v('KAFKA_SASL_PASSWORD', 'kafka.sasl.password', 'string', 'SASL password.'),
  v('KAFKA_TOPIC_PREFIX', 'kafka.topicPrefix', 'string', 'Prefix for all topic names.'),
  v('KAFKA_PARTITIONS', 'kafka.partitions', 'int', 'Partitions of the topics we create (default 4).'),
  v('KAFKA_REPLICATION_FACTOR', 'kafka.replicationFactor', 'int', 'Replication factor of the topics we create (default 1).'),
  v('REGISTRY_URL', 'registry.url', 'string', 'Confluent-compatible registry URL. Set = start no local registry.'),
  v('REGISTRY_USERNAME', 'registry.username', 'string', 'Registry basic-auth user.'),
  v('REGISTRY_PASSWORD', 'registry.password', 'string', 'Registry basic-auth password.'),
  v('REDIS_URL', 'redis.url', 'string', 'redis:// or rediss:// URL. Set = start no local Redis.'),
  v('REDIS_PASSWORD', 'redis.password', 'string', 'Redis password (if not in the URL).'),
  v(
    'REDIS_CLUSTER_NODES',
    'redis.clusterNodes',
    'list',
    'Comma-separated host:port of Redis Cluster nodes. Set = the serving store uses that cluster (one hash slot per learner), start no local Redis.',
  ),
  v('REDIS_KEY_PREFIX', 'redis.keyPrefix', 'string', 'Prefix of every Redis key (default ls:).'),
  v('KAFKA_VERSION', 'stack.kafkaVersion', 'string', 'Local broker version (Maven org.apache.kafka:kafka_2.13).'),
  v('APICURIO_VERSION', 'stack.apicurioVersion', 'string', 'Local Apicurio Registry version (3.0.x/3.1.x run on Java 17).'),
  v('KAFKA_PORT', 'stack.kafkaPort', 'int', 'Local broker port (default 19092).'),
  v('KAFKA_CONTROLLER_PORT', 'stack.kafkaControllerPort', 'int', 'Local KRaft controller port (default 19093).'),
  v('REGISTRY_PORT', 'stack.registryPort', 'int', 'Local registry port (default 18081).'),
  v('REDIS_PORT', 'stack.redisPort', 'int', 'Local Redis port (default 16379).'),
  v('PROMETHEUS_PORT', 'stack.prometheusPort', 'int', 'Local Prometheus port (default 19090).'),
  v('READY_TIMEOUT_SEC', 'stack.readyTimeoutSec', 'int', 'Seconds to wait for each service (default 120).'),
  v('API_HOST', 'api.host', 'string', 'API bind address (default 127.0.0.1).'),
  v('API_PORT', 'api.port', 'int', 'API port (default 18080).'),
  v(
    'API_KEYS',
    'api.apiKeys',
    'apiKeys',
    'key=scope+scope[@idPrefix],key2=scope; e.g. s3cret123=read+write, or s3cret456=write@acme: (bound to ids starting acme:).',
  ),
  v('CORS_ORIGINS', 'api.corsOrigins', 'list', 'Comma-separated allowed origins; * for any.'),
  v('RATE_LIMIT_PER_MINUTE', 'api.rateLimitPerMinute', 'int', 'Requests per minute per API key.'),
  v(
    'API_PUBLISH_TIMEOUT_MS',
    'api.publishTimeoutMs',
    'int',
    'Longest wait for Kafka on POST /v1/events and DELETE, then 503 (default 1500).',
  ),
  v('API_DEMO_PAGE', 'api.demoPage', 'bool', 'Serve the demo page at /demo (npm start turns it on; default false).'),
  v('METRICS_PORT', 'metrics.port', 'int', 'Pipeline /metrics port (default 19464).'),
  v('METRICS_HOST', 'metrics.host', 'string', 'Pipeline /metrics bind address (default 127.0.0.1; 0.0.0.0 in a container).'),
  v('TOP_N', 'pipeline.topN', 'int', 'Cached list length per learner (default 100).'),
  v(
    'RERANK_INTERVAL_MS',
    'pipeline.rerankIntervalMs',
    'int',
    'Minimum ms between re-ranks of one learner (default 0: the events of one learner in a batch share one re-rank, the next batch re-ranks again).',
  ),
  v(
    'RERANK_CHUNK',
    'pipeline.rerankChunk',
    'int',
    'Learners ranked between event-loop turns of one re-rank batch, each chunk written as soon as it is ranked (default 0 = the whole batch in one block; 16 shortens event-loop blocks, docs/benchmarks.md).',
  ),
  v(
    'SIGNAL_REFRESH_MS',
    'pipeline.signalRefreshMs',
    'int',
    "Re-rank a learner whose recent resources gained transitions from others, at most once per this many ms (default 0 = off: a list then takes in others' transitions at the learner's next event).",
  ),
  v(
    'ONNX_MIN_WORK',
    'pipeline.onnxMinWork',
    'int',
    'Item rows x learners from which a candidate-scoring batch runs on onnxruntime instead of JS (default 4096; 0 = always onnxruntime).',
  ),
  v(
    'IVF_MIN_ROWS',
    'pipeline.ivfMinRows',
    'int',
    'Catalogue rows from which candidates come from an inverted-file index instead of scoring every row (default 200000; 0 = always exact).',
  ),
  v('IVF_NPROBE', 'pipeline.ivfNprobe', 'int', 'Partitions an inverted-file candidate search scans per learner (default 16).'),
  v(
    'CHECKPOINT_INTERVAL_MS',
    'pipeline.checkpointIntervalMs',
    'int',
    'Pipeline state checkpoint interval per partition group (default 5000).',
  ),
  v(
    'MAX_PAUSE_MS',
    'pipeline.maxPauseMs',
    'int',
    'A readiness pause, or no batch for a partition with lag, longer than this is a stall: the pipeline process exits non-zero to be restarted (default 180000; 0 = off).',
  ),
  v(
    'LEARNER_INSTANCES',
    'pipeline.learnerInstances',
    'int',
    'Learner-stage processes npm start runs, metrics on LEARNSTREAM_METRICS_PORT + 1 .. + n (default one per core, at most LEARNSTREAM_KAFKA_PARTITIONS).',
  ),
  v(
    'PIPELINE_CONCURRENCY',
    'pipeline.partitionsConsumedConcurrently',
    'int',
    'Partitions a pipeline consumer processes concurrently (default 2).',
  ),
  v(
    'REVIEW_SLOTS',
    'pipeline.reviewSlots',
    'int',
    "Reserved slots for the learner's due FSRS reviews in the served list, reason due-for-review (default 2; 0 = off).",
  ),
  v(
    'REVIEW_SLOTS_WITHIN',
    'pipeline.reviewSlotsWithin',
    'int',
    'The reserved review slots are within the first this many positions (default 10).',
  ),
  v(
    'REVIEW_RETENTION',
    'pipeline.reviewRetention',
    'number',
    'FSRS target retention: a card is due when its predicted recall falls to this (default 0.9).',
  ),
  v('PRIVACY_RETENTION_MS', 'privacy.retentionMs', 'int', 'Retention of topics holding personal data, ms (default 86400000 = 24 h).'),
  v('PRIVACY_SEGMENT_MS', 'privacy.segmentMs', 'int', 'segment.ms of those topics and learners.profiles, ms (default 3600000 = 1 h).'),
  v(
    'PRIVACY_COMPACTION_LAG_MS',
    'privacy.compactionLagMs',
    'int',
    'learners.profiles max.compaction.lag.ms and delete.retention.ms (default 3600000).',
  ),
  v(
    'PRIVACY_AOF_REWRITE_MS',
    'privacy.aofRewriteMs',
    'int',
    'Redis AOF rewrite (BGREWRITEAOF) at most this long after an erasure, ms (default 3600000 = 1 h; 0 = never).',
  ),
  v('LOG_ID_SECRET', 'privacy.logIdSecret', 'string', 'HMAC secret pseudonymising learner ids in logs (default: random per process).'),
  v('MODEL_DIM', 'model.dim', 'int', 'Factor dimension (default 32).'),
  v('MODEL_SEED', 'model.seed', 'int', 'Random seed (default 42).'),
  v('ENCODER_DIR', 'model.encoderDir', 'string', 'Sentence-embedding model dir (model.onnx + tokenizer.json).'),
];

/** Parses the environment into a partial config tree; returns problems rather than throwing. */
export function fromEnv(env: NodeJS.ProcessEnv): { tree: Record<string, unknown>; problems: string[]; file?: string } {
  const tree: Record<string, unknown> = {};
  const problems: string[] = [];
  let file: string | undefined;
  for (const spec of ENV_VARS) {
    const raw = env[spec.name];
    if (raw === undefined || raw === '') continue;
    if (spec.path[0] === '_file') {
      file = raw;
      continue;
    }
    const parsed = parseValue(spec, raw);
    if ('error' in parsed) {
      problems.push(`${spec.name}: ${parsed.error}`);
      continue;
    }
    setPath(tree, spec.path, parsed.value);
  }
  return { tree, problems, file };
}

function parseValue(spec: EnvVar, raw: string): { value: unknown } | { error: string } {
  switch (spec.kind) {
    case 'string':
      return { value: raw };
    case 'int': {
      if (!/^-?\d+$/.test(raw.trim())) return { error: `expected an integer, got "${raw}"` };
      return { value: Number(raw) };
    }
    case 'number': {
      const n = Number(raw);
      return Number.isFinite(n) ? { value: n } : { error: `expected a number, got "${raw}"` };
    }
    case 'bool': {
      const s = raw.trim().toLowerCase();
      if (['1', 'true', 'yes', 'on'].includes(s)) return { value: true };
      if (['0', 'false', 'no', 'off'].includes(s)) return { value: false };
      return { error: `expected true/false, got "${raw}"` };
    }
    case 'list':
      return {
        value: raw
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
      };
    case 'apiKeys': {
      const keys = [];
      for (const part of raw
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)) {
        const eq = part.indexOf('=');
        if (eq <= 0) return { error: `expected key=scope+scope[@idPrefix], got "${part.slice(0, 4)}..."` };
        // Scopes never hold '@', so the first '@' after '=' starts the id prefix (which may itself hold '@').
        const grant = part.slice(eq + 1);
        const at = grant.indexOf('@');
        const scopes = (at < 0 ? grant : grant.slice(0, at)).split('+');
        keys.push({ key: part.slice(0, eq), scopes, name: `env-${keys.length}`, ...(at < 0 ? {} : { idPrefix: grant.slice(at + 1) }) });
      }
      return { value: keys };
    }
  }
}

export function setPath(tree: Record<string, unknown>, path: string[], value: unknown): void {
  let node = tree;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== 'object' || next === null) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1]] = value;
}
