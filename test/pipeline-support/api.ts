/**
 * The read API as the integration tests run it beside a pipeline: startApi with the HTTP collector mounted, a lazy
 * publisher for events and erasures (the API process's own wiring, api/wiring.ts), and the Redis readiness check.
 * One setup for the tests that need the whole product edge (alerts, erasure, the demo page, the scope matrix), so a
 * change to how the API is wired is made once.
 */
import type { Kafka } from 'kafkajs';
import { Registry } from 'prom-client';
import { startApi, type RunningApi, type StartOptions } from '../../api/server';
import { lazyPublisher } from '../../api/wiring';
import type { Config } from '../../lib/config';
import type { Logger } from '../../lib/log';
import type { Grant } from '../../producers/authorize';
import { createCollectorRouter } from '../../producers/collector';
import { Publisher, type PublisherOptions } from '../../producers/publisher';
import type { ServingStore } from '../../serving/types';

export interface TestApiOptions {
  config: Config;
  store: ServingStore;
  kafka: Kafka;
  registry: PublisherOptions['registry'];
  logger: Logger;
  /** The publisher's grant (ADMIN_GRANT for erasures). Default the publisher's own (ordinary events). */
  grant?: Grant;
  /** Further startApi options (pipelineMetricsUrl, ...); they win over the defaults here. */
  extra?: Partial<StartOptions>;
}

export interface TestApi {
  api: RunningApi;
  publisher: ReturnType<typeof lazyPublisher>;
  port: number;
  /** http://127.0.0.1:<port> */
  base: string;
  /** Drains the API, then closes the publisher; safe to call twice. */
  stop(): Promise<void>;
}

export async function startTestApi(o: TestApiOptions): Promise<TestApi> {
  const publisher = lazyPublisher(() =>
    Publisher.create({ kafka: o.kafka, registry: o.registry, topicPrefix: o.config.kafka.topicPrefix, grant: o.grant }),
  );
  let api: RunningApi;
  try {
    api = await startApi({
      config: o.config,
      store: o.store,
      registry: new Registry(),
      port: 0,
      logger: o.logger,
      publishErasure: publisher.publishErasure,
      eventsRouter: createCollectorRouter({ publisher, logger: o.logger }),
      health: { redis: () => o.store.ping() },
      ...o.extra,
    });
  } catch (err) {
    await publisher.close();
    throw err;
  }
  let stopping: Promise<void> | undefined;
  return {
    api,
    publisher,
    port: api.port,
    base: `http://127.0.0.1:${api.port}`,
    stop: () =>
      (stopping ??= (async () => {
        await api.stop();
        await publisher.close();
      })()),
  };
}
