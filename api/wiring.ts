/**
 * Real dependencies of the API process: readiness checks against Redis, Kafka, the schema registry and the serving
 * data, the erasure publisher and the events collector. Kept apart from server.ts so tests can start the API with
 * their own dependencies.
 */
import type { Admin } from 'kafkajs';
import type { Router } from 'express';
import type { Config } from '../lib/config';
import { DependencyError, LearnstreamError, NotAcknowledgedError } from '../lib/errors';
import { createKafka } from '../lib/kafka/client';
import { createRegistryClient } from '../lib/registry/client';
import { createCollectorRouter } from '../producers/collector';
import { Publisher } from '../producers/publisher';
import { ADMIN_GRANT } from '../producers/authorize';
import type { Logger } from '../lib/log';
import type { Emitter } from '../lib/metrics/instrumentation';
import type { ServingStore } from '../serving/types';
import type { HealthCheck } from './routes/health';
import type { ErasurePublisher } from './routes/learners';

export interface ProductionDependencies {
  health: Record<string, HealthCheck>;
  publishErasure?: ErasurePublisher;
  eventsRouter?: Router;
  close(): Promise<void>;
}

export function registryCheck(config: Config): HealthCheck {
  const { username, password } = config.registry;
  const headers: Record<string, string> =
    username && password ? { authorization: `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}` } : {};
  return async () => (await fetch(`${config.registry.url.replace(/\/$/, '')}/subjects`, { headers, signal: AbortSignal.timeout(1000) })).ok;
}

/** Kafka is reachable when the cluster describes itself with at least one broker. One admin client, connected lazily. */
export function kafkaCheck(admin: Admin): HealthCheck {
  let connected: Promise<void> | undefined;
  return async () => {
    connected ??= admin.connect().catch((err: unknown) => {
      connected = undefined;
      throw err;
    });
    await connected;
    return (await admin.describeCluster()).brokers.length > 0;
  };
}

/**
 * "Model warm" for a process that runs no model: the pipeline has populated the serving data, so even fallbacks have
 * something to serve (the overall popularity ranking is not empty).
 */
export function servingDataCheck(store: ServingStore): HealthCheck {
  return async () => (await store.getPopular(1)).length > 0;
}

/**
 * The events engineer's typed Publisher (validation, Avro + registry, idempotent producer) serves both erasure
 * requests and the collector. It is created on first use, so the API starts (and serves reads) while Kafka or the
 * registry are still coming up; a failed creation is retried on the next request.
 *
 * Every call is bounded by `timeoutMs` (config api.publishTimeoutMs), creating the producer included: a request that
 * waited that long for the producer is answered 503 and its event is not published later, even if the producer
 * connects a moment after; the rest of the budget is the record's delivery timeout (see Publisher).
 */
export function lazyPublisher(
  create: () => Promise<Publisher>,
  opts: { timeoutMs?: number } = {},
): {
  publishErasure: ErasurePublisher;
  publishValid: (e: Parameters<Publisher['publishValid']>[0]) => Promise<void>;
  /** Starts creating the producer now, in the background, so the first request does not spend its budget on it. */
  warm(): void;
  close(): Promise<void>;
} {
  let publisher: Promise<Publisher> | undefined;
  const budget = opts.timeoutMs;
  const get = () =>
    (publisher ??= create().catch((err: unknown) => {
      publisher = undefined;
      // Unregistered schemas (ConfigError) or an unreachable broker: either way the request cannot be accepted now,
      // and a client retry after the operator fixed it will work, so it is a 503, not a 500.
      throw new DependencyError('kafka', `publisher unavailable: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }));
  const wrap = (err: unknown): never => {
    if (err instanceof LearnstreamError) throw err;
    throw new DependencyError('kafka', `not published: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  };
  /** The publisher, and the ms left of this call's budget once it is there; rejects (nothing sent) past the budget. */
  const ready = async (): Promise<[Publisher, number | undefined]> => {
    if (budget === undefined) return [await get(), undefined];
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    const p = await Promise.race([
      get(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new NotAcknowledgedError(false, `not sent: the Kafka producer did not connect within ${budget} ms`)),
          budget,
        );
      }),
    ]).finally(() => clearTimeout(timer));
    const left = budget - (performance.now() - started);
    if (left <= 0) throw new NotAcknowledgedError(false, `not sent: the Kafka producer took over ${budget} ms to connect`);
    return [p, left];
  };
  return {
    publishErasure: async (req) => {
      try {
        const [p, left] = await ready();
        await p.requestErasure(req, { timeoutMs: left });
      } catch (err) {
        wrap(err);
      }
    },
    publishValid: async (e) => {
      try {
        const [p, left] = await ready();
        await p.publishValid(e, { timeoutMs: left });
      } catch (err) {
        wrap(err);
      }
    },
    warm: () => {
      get().catch(() => undefined); // a failure is retried by the next request
    },
    close: async () => {
      if (publisher) await (await publisher.catch(() => undefined))?.close();
    },
  };
}

export async function productionDependencies(
  config: Config,
  deps: { store: ServingStore; logger: Logger; emit: Emitter },
): Promise<ProductionDependencies> {
  // An HTTP edge fails fast: one kafkajs request (connect, metadata, produce) gives up well inside the publish budget,
  // so a dead broker is a 503 in under 2 s, never a request hanging on kafkajs' 30 s request timeout and its retries.
  const budget = config.api.publishTimeoutMs;
  const kafka = createKafka(config, 'api', {
    logger: deps.logger.child({ component: 'kafka' }),
    connectionTimeout: Math.min(1000, budget),
    requestTimeout: Math.max(budget, 1000),
    retry: { initialRetryTime: 100, retries: 2, maxRetryTime: 500 },
  });
  const admin = kafka.admin();
  const publisher = lazyPublisher(
    () =>
      // admin: the process publishes erasures (DELETE, and erasure events of admin keys); the routes check each key first
      Publisher.create({
        kafka,
        registry: createRegistryClient(config),
        topicPrefix: config.kafka.topicPrefix,
        emit: deps.emit,
        logger: deps.logger.child({ component: 'publisher' }),
        deliveryTimeoutMs: budget,
        grant: ADMIN_GRANT,
      }),
    { timeoutMs: budget },
  );
  publisher.warm();
  const health: Record<string, HealthCheck> = {
    redis: () => deps.store.ping(),
    kafka: kafkaCheck(admin),
    registry: registryCheck(config),
    model: servingDataCheck(deps.store),
  };
  const closers: (() => Promise<void>)[] = [() => publisher.close(), () => admin.disconnect()];
  const eventsRouter = createCollectorRouter({
    publisher,
    limits: { maxEvents: config.api.maxBatchEvents, maxBodyBytes: config.api.maxBodyBytes },
    logger: deps.logger.child({ component: 'collector' }),
  });
  return Promise.resolve({
    health,
    publishErasure: publisher.publishErasure,
    eventsRouter,
    close: async () => {
      for (const c of closers) await c().catch(() => undefined);
    },
  });
}
