/**
 * Real dependencies of the API process: readiness checks against Redis, Kafka, the schema registry and the serving
 * data, the erasure publisher and the events collector. Kept apart from server.ts so tests can start the API with
 * their own dependencies.
 */
import type { Admin } from 'kafkajs';
import type { Router } from 'express';
import type { Config } from '../lib/config';
import { createKafka } from '../lib/kafka/client';
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

export async function productionDependencies(config: Config, deps: { store: ServingStore; logger: Logger; emit: Emitter }): Promise<ProductionDependencies> {
  const admin = createKafka(config, 'api', { logger: deps.logger.child({ component: 'kafka' }) }).admin();
  const health: Record<string, HealthCheck> = {
    redis: () => deps.store.ping(),
    kafka: kafkaCheck(admin),
    registry: registryCheck(config),
    model: servingDataCheck(deps.store),
  };
  const closers: (() => Promise<void>)[] = [() => admin.disconnect()];
  return Promise.resolve({
    health,
    close: async () => {
      for (const c of closers) await c().catch(() => undefined);
    },
  });
}
