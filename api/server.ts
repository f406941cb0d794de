/**
 * The API process (`npm run api`): builds the app from the config, listens, and on SIGTERM/SIGINT drains: stops
 * accepting connections, lets in-flight requests finish (bounded by `shutdownTimeoutMs`), then closes Redis and
 * Kafka. `startApi` is also what integration tests use, with their own store and registry.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { loadConfig, type Config } from '../lib/config';
import { createLogger, type Logger } from '../lib/log';
import { bindInstrumentation, createInstrumentation, createMetrics } from '../lib/metrics';
import type { Emitter } from '../lib/metrics/instrumentation';
import { createRedisServingStore, type RedisServingStore } from '../serving/redis-store';
import { createApp, type ApiApp, type AppOptions } from './app';
import { productionDependencies } from './wiring';

export interface StartOptions extends AppOptions {
  /** Port; 0 picks a free one. Default config.api.port. */
  port?: number;
  /** Bind address. Default config.api.host. */
  host?: string;
  /** Longest wait for in-flight requests on stop, in ms. Default 10000. */
  shutdownTimeoutMs?: number;
  /** Called after the HTTP server has drained (close stores, producers). */
  onClose?: () => Promise<void>;
}

export interface RunningApi extends ApiApp {
  port: number;
  server: Server;
  /** Drains and stops; safe to call twice. */
  stop(): Promise<void>;
}

export async function startApi(opts: StartOptions): Promise<RunningApi> {
  const api = createApp(opts);
  const logger = opts.logger ?? createLogger({ base: { component: 'api' } });
  // api.handler: the fast path for the hot read routes, express for the rest (what app.listen would serve)
  const server = createServer(api.handler).listen(opts.port ?? opts.config.api.port, opts.host ?? opts.config.api.host);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  // Idle keep-alive sockets must not outlive a drain; a slowloris client must not hold a socket forever.
  server.keepAliveTimeout = 5000;
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  const port = (server.address() as AddressInfo).port;
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      api.drain.begin();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const timeoutMs = opts.shutdownTimeoutMs ?? 10_000;
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([
        api.drain.idle().then(() => false),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), timeoutMs))),
      ]);
      clearTimeout(timer);
      if (timedOut) logger.warn('shutdown timeout: closing connections with requests still in flight', { inFlight: api.drain.inFlight() });
      server.closeAllConnections();
      await closed;
      await opts.onClose?.();
      logger.info('api stopped');
    })());
  return { ...api, port, server, stop };
}

/**
 * The API process's serving store. Its client auto-pipelines: commands issued in the same event-loop turn (the list
 * GET and the SMEMBERS of one request, and those of concurrent requests) share one socket write. Without it each
 * command was its own write syscall, 16% of the API's CPU in the read benchmark.
 */
export function createApiStore(config: Config, emit?: Emitter, logger?: Logger): RedisServingStore {
  // DELETE /v1/learners/:id erases the serving keys at once: the AOF rewrite after it bounds their trace on disk
  const onAofRewrite =
    logger &&
    ((o: { ok: boolean; replies: string[]; error?: string }) =>
      o.ok
        ? logger.info('redis AOF rewrite requested after erasure', { replies: o.replies })
        : logger.warn('redis AOF rewrite after erasure failed', { error: o.error }));
  return createRedisServingStore(
    config,
    { emit, aofRewriteAfterEraseMs: config.privacy.aofRewriteMs, onAofRewrite },
    { enableAutoPipelining: true },
  );
}

async function main(): Promise<void> {
  const config = loadConfig();
  const logger: Logger = createLogger({
    level: config.logLevel,
    base: { component: 'api' },
    idSecret: config.privacy.logIdSecret || undefined,
  });
  const registry = new Registry();
  const instrumentation = createInstrumentation({
    onListenerError: (err, name) => logger.warn('instrumentation listener failed', { event: name, err }),
  });
  bindInstrumentation(instrumentation, createMetrics(registry, { roles: ['api'] }));
  const store = createApiStore(config, instrumentation, logger);
  const deps = await productionDependencies(config, { store, logger, emit: instrumentation });
  const api = await startApi({
    config,
    store,
    registry,
    instrumentation,
    logger,
    health: deps.health,
    publishErasure: deps.publishErasure,
    eventsRouter: deps.eventsRouter,
    onClose: async () => {
      await deps.close();
      await store.close();
    },
  });
  logger.info('api listening', { host: config.api.host, port: api.port });
  const shutdown = (signal: string) => {
    logger.info('shutting down', { signal, inFlight: api.drain.inFlight() });
    api.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error('shutdown failed', { err });
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`api failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
}
