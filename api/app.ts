/**
 * The express app of the read API. Everything it needs is passed in (store, registry, publisher, health checks), so
 * tests build it against the real Redis with a random key prefix and a fresh Registry. api/server.ts wires the real
 * dependencies from the config and owns the HTTP server and shutdown.
 */
import express, { type Express, type Router } from 'express';
import type { RequestListener } from 'node:http';
import type { Registry } from 'prom-client';
import type { Config } from '../lib/config';
import { createLogger, type Logger } from '../lib/log';
import { bindInstrumentation, createInstrumentation, createMetrics, type Instrumentation } from '../lib/metrics';
import type * as EncoderModule from '../lib/encoder/onnx-encoder';
import { resolveEncoderDir } from '../lib/encoder/model-dir';
import { hasCurriculum } from '../serving/curriculum';
import type { ServingStore } from '../serving/types';
import { authenticate, createAuthenticator, requireScope } from './middleware/auth';
import { edge } from './middleware/edge';
import { notFound, sendProblem } from './middleware/errors';
import { demoRouter } from './demo/router';
import { withCatalogCache } from './recommend/catalog-cache';
import { encoderTextGoals, type TextGoalResolver } from './recommend/text-goals';
import { createRateLimiter, rateLimit } from './middleware/rate-limit';
import { createFastPath, type FastPath } from './fast-path';
import { recommendationsRoute, similarRoute } from './routes/read-replies';
import { routeLabeler } from './middleware/route-label';
import { scriptAwareTextGoals, titleNgramTextGoals } from './recommend/title-goals';
import { openApiDocument } from './openapi';
import { healthRouter, type HealthCheck } from './routes/health';
import { addLearnerRoutes, type ErasurePublisher } from './routes/learners';
import { addResourceRoutes } from './routes/resources';

export interface AppOptions {
  config: Config;
  store: ServingStore;
  /** Metrics go here (a fresh Registry per test); /metrics serves it. */
  registry: Registry;
  /** Created (and bound to the registry's metrics) when absent. Pass one to share it with other components. */
  instrumentation?: Instrumentation;
  /** Publishes erasure requests; without it DELETE /v1/learners/:id answers 503. */
  publishErasure?: ErasurePublisher;
  /** Readiness checks by name (redis, kafka, registry, model). */
  health?: Record<string, HealthCheck>;
  /** The events collector (POST /v1/events), mounted behind the `write` or `admin` scope; it checks each event's grant. */
  eventsRouter?: Router;
  logger?: Logger;
  /** Catalogue entries are cached in-process this long (ms) to save a Redis round trip per page. Default 2000; 0 = off. */
  catalogCacheTtlMs?: number;
  /**
   * Resolves free-text path goals. Default: the content encoder of `model.encoderDir`, loaded on the first free-text
   * goal (a missing model then answers 503 encoder-unavailable, and is looked for again 30 s later).
   */
  textGoals?: TextGoalResolver;
  /** Clock in epoch ms. Default Date.now. */
  now?: () => number;
  /** Where the demo page (config.api.demoPage) reads the pipeline's figures. Default port config.metrics.port on 127.0.0.1. */
  pipelineMetricsUrl?: string | string[];
}

/** In-flight request tracking, for draining on shutdown. */
export interface Drain {
  inFlight(): number;
  /** From now on new requests get 503 + Connection: close; /readyz reports draining. */
  begin(): void;
  draining(): boolean;
  /** Resolves when no request is in flight. */
  idle(): Promise<void>;
}

export interface ApiApp {
  /** The express app: every route (what `handler` does not serve itself). */
  app: Express;
  /** What the HTTP server runs: the node:http fast path for the hot read routes (api/fast-path.ts), else `app`. */
  handler: RequestListener;
  fastPath: FastPath;
  drain: Drain;
  instrumentation: Instrumentation;
}

function createDrain(): Drain & { add(): void; done(): void } {
  let n = 0;
  let draining = false;
  let waiters: (() => void)[] = [];
  const wake = () => {
    if (n > 0) return;
    const w = waiters;
    waiters = [];
    w.forEach((f) => f());
  };
  return {
    add: () => void n++,
    done: () => {
      n--;
      wake();
    },
    inFlight: () => n,
    begin: () => void (draining = true),
    draining: () => draining,
    idle: () => (n === 0 ? Promise.resolve() : new Promise<void>((resolve) => waiters.push(resolve))),
  };
}

/** Paths that keep answering during a drain (GET only). */
const DRAIN_EXEMPT = new Set(['/healthz', '/readyz', '/metrics']);

export function createApp(opts: AppOptions): ApiApp {
  const { config, registry } = opts;
  const now = opts.now ?? Date.now;
  const store = withCatalogCache(opts.store, { ttlMs: opts.catalogCacheTtlMs, now });
  const logger = opts.logger ?? createLogger({ base: { component: 'api' } });
  let instrumentation = opts.instrumentation;
  if (!instrumentation) {
    instrumentation = createInstrumentation({
      onListenerError: (err, name) => logger.warn('instrumentation listener failed', { event: name, err }),
    });
    bindInstrumentation(instrumentation, createMetrics(registry, { roles: ['api'] }));
  }
  const emit = instrumentation;
  const drain = createDrain();

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');
  const doc = openApiDocument();
  app.use(edge({ logger, emit, drain, label: routeLabeler(doc), drainExempt: DRAIN_EXEMPT, corsOrigins: config.api.corsOrigins }));

  // One router for /v1, its routes mounted by their full path under it: a router per resource cost a routing pass and
  // a prefix trim per request.
  const v1 = express.Router();
  // One authenticator and one rate limiter for express and the fast path: they share the buckets.
  const auth = createAuthenticator(config.api.apiKeys, { now });
  const limiter = createRateLimiter(config.api.rateLimitPerMinute, now);
  const identify = authenticate(auth);
  const charge = rateLimit(limiter);
  v1.use((req, res, next) => {
    identify(req, res);
    charge(res);
    next();
  });
  // the curriculum is read from the store itself, not through the catalogue cache (which keeps resource entries only)
  const curriculum = hasCurriculum(opts.store) ? opts.store : undefined;
  const textGoals =
    opts.textGoals ??
    (curriculum &&
      scriptAwareTextGoals(
        encoderTextGoals({
          curriculum,
          now,
          // imported on first use: onnxruntime is a native module the read path otherwise never needs
          loadEmbed: async () => {
            // eslint-disable-next-line @typescript-eslint/no-require-imports -- a CommonJS build: require is the lazy import
            const { OnnxSentenceEncoder } = require('../lib/encoder/onnx-encoder') as typeof EncoderModule;
            return (await OnnxSentenceEncoder.load(resolveEncoderDir(config))).embed;
          },
        }),
        titleNgramTextGoals({ curriculum, now }),
      ));
  addLearnerRoutes(v1, { store, emit, publishErasure: opts.publishErasure, now, curriculum, textGoals, experiments: config.experiments });
  addResourceRoutes(v1, { store });
  if (opts.eventsRouter) {
    v1.use(
      '/events',
      (_req, res, next) => {
        res.locals.route = '/v1/events';
        next();
      },
      requireScope(['write', 'admin']),
      opts.eventsRouter,
    );
  }
  // /v1 first: every API request otherwise walks the health, metrics and OpenAPI layers before reaching it.
  app.use('/v1', v1);

  app.use(healthRouter({ checks: opts.health ?? { store: () => store.ping() }, draining: () => drain.draining() }));
  app.get('/metrics', async (_req, res) => {
    res.type(registry.contentType).send(await registry.metrics());
  });
  app.get('/openapi.json', (_req, res) => {
    res.json(doc);
  });
  if (config.api.demoPage) app.use(demoRouter({ config, store, registry, logger, now, pipelineMetricsUrl: opts.pipelineMetricsUrl }));

  app.use(notFound());
  app.use(sendProblem());

  const fastPath = createFastPath({
    logger,
    emit,
    drain,
    identify: auth,
    charge: limiter,
    recommendations: recommendationsRoute({ store, emit, experiments: config.experiments }),
    similar: similarRoute({ store }),
    corsOrigins: config.api.corsOrigins,
  });
  const handler: RequestListener = (req, res) => {
    if (!fastPath.handle(req, res)) app(req, res);
  };
  return { app, handler, fastPath, drain, instrumentation };
}
