/**
 * Real dependencies of the API process: readiness checks against Redis, Kafka, the schema registry and the serving
 * data, the erasure publisher and the events collector. Kept apart from server.ts so tests can start the API with
 * their own dependencies.
 */
import type { Admin } from 'kafkajs';
import type { Router } from 'express';
import type { Config } from '../lib/config';
import { DependencyError, LearnstreamError } from '../lib/errors';
import { createKafka } from '../lib/kafka/client';
import { createRegistryClient } from '../lib/registry/client';
import { createCollectorRouter } from '../producers/collector';
import { Publisher } from '../producers/publisher';
import { ADMIN_GRANT } from '../producers/authorize';
import type { Logger } from '../lib/log';
import type { Emitter } from '../lib/metrics/instrumentation';
import type { ServingStore } from '../lib/serving/types';
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
  const headers: Record<string, string> = username && password ? { authorization: `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}` } : {};
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
 */
export function lazyPublisher(create: () => Promise<Publisher>): {
  publishErasure: ErasurePublisher;
  publishValid: Publisher['publishValid'];
  close(): Promise<void>;
} {
  let publisher: Promise<Publisher> | undefined;
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
  return {
    publishErasure: async (req) => {
      try {
        await (await get()).requestErasure(req);
      } catch (err) {
        wrap(err);
      }
    },
    publishValid: async (e) => {
      try {
        await (await get()).publishValid(e);
      } catch (err) {
        wrap(err);
      }
    },
    close: async () => {
      if (publisher) await (await publisher.catch(() => undefined))?.close();
    },
  };
}

export async function productionDependencies(config: Config, deps: { store: ServingStore; logger: Logger; emit: Emitter }): Promise<ProductionDependencies> {
  const kafka = createKafka(config, 'api', { logger: deps.logger.child({ component: 'kafka' }) });
  const admin = kafka.admin();
  const publisher = lazyPublisher(() =>
    // admin: the process publishes erasures (DELETE, and erasure events of admin keys); the routes check each key first
    Publisher.create({ kafka, registry: createRegistryClient(config), topicPrefix: config.kafka.topicPrefix, emit: deps.emit, logger: deps.logger.child({ component: 'publisher' }), grant: ADMIN_GRANT }),
  );
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
