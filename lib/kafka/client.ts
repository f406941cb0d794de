import * as fs from 'node:fs';
import { Kafka, logLevel as KafkaLogLevel, type KafkaConfig, type logCreator, type SASLOptions } from 'kafkajs';
import type { Config } from '../config';
import { createLogger, type Level, type Logger } from '../log';

/** kafkajs is chatty at INFO (every group join, every connection); we forward WARN and above to our logger. */
const LEVELS: Record<number, Level | undefined> = {
  [KafkaLogLevel.ERROR]: 'error',
  [KafkaLogLevel.WARN]: 'warn',
  [KafkaLogLevel.INFO]: 'debug',
  [KafkaLogLevel.DEBUG]: 'debug',
};

// We use kafkajs' default (Java-compatible murmur2) partitioner on purpose; its v2 migration notice is noise.
process.env.KAFKAJS_NO_PARTITIONER_WARNING ??= '1';

export function kafkaLogCreator(logger: Logger): logCreator {
  return () =>
    ({ namespace, level, log }) => {
      // The Connection namespace logs every error response at ERROR, including the transient ones kafkajs retries
      // (coordinator loading, metadata not yet propagated); what matters surfaces again from the caller or the runner.
      let target = namespace === 'Connection' && level === KafkaLogLevel.ERROR ? 'debug' : (LEVELS[level] ?? 'debug');
      const { message, ...rest } = log;
      // Printed for every idempotent producer with a bounded retry (ours are bounded on purpose so a dead broker surfaces
      // in seconds). A send that exhausts its retries fails loudly; transactional stages then abort and replay from the
      // committed offsets, so the bounded retry costs no exactly-once guarantee.
      if (String(message).startsWith('Limiting retries for the idempotent producer')) target = 'debug';
      logger[target](String(message), { namespace, ...rest });
    };
}

export interface CreateKafkaOptions {
  /** Logger the kafkajs log lines go to. Default: a logger at the configured level with `component: kafka`. */
  logger?: Logger;
  /**
   * Retry policy for connects and requests. Default: 5 retries starting at 100 ms, so a missing broker is reported
   * within a few seconds instead of kafkajs' ~30 s default.
   */
  retry?: KafkaConfig['retry'];
  /** Connection timeout in ms (default 3000). */
  connectionTimeout?: number;
  /** Time a broker has to answer one request, in ms (default kafkajs' 30,000). */
  requestTimeout?: number;
}

function sasl(config: Config): SASLOptions | undefined {
  const s = config.kafka.sasl;
  if (!s) return undefined;
  return { mechanism: s.mechanism, username: s.username, password: s.password };
}

/** A kafkajs client for the configured cluster (SASL/TLS when configured). The client id gets `-<suffix>` if given. */
export function createKafka(config: Config, clientIdSuffix?: string, opts: CreateKafkaOptions = {}): Kafka {
  const logger = opts.logger ?? createLogger({ level: config.logLevel, base: { component: 'kafka' } });
  const ssl = config.kafka.ssl ? (config.kafka.sslCaFile ? { ca: [fs.readFileSync(config.kafka.sslCaFile, 'utf8')] } : true) : undefined;
  return new Kafka({
    clientId: clientIdSuffix ? `${config.kafka.clientId}-${clientIdSuffix}` : config.kafka.clientId,
    brokers: config.kafka.brokers,
    ssl,
    sasl: sasl(config),
    connectionTimeout: opts.connectionTimeout ?? 3000,
    ...(opts.requestTimeout === undefined ? {} : { requestTimeout: opts.requestTimeout }),
    retry: opts.retry ?? { initialRetryTime: 100, retries: 5, maxRetryTime: 2000 },
    logLevel: KafkaLogLevel.INFO,
    logCreator: kafkaLogCreator(logger),
  });
}
