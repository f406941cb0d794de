/**
 * Every learnstream metric is defined here, on a prom-client Registry passed in (never the global one). Names follow
 * `learnstream_<subsystem>_<name>_<unit>`; durations are histograms in seconds with buckets for a millisecond-scale
 * service. Components do not call these metrics directly: they emit instrumentation events
 * (lib/metrics/instrumentation.ts) and `bindInstrumentation` turns the events into metric updates.
 *
 * Usage in a process entry point:
 *   const registry = new Registry();
 *   const instrumentation = createInstrumentation();
 *   bindInstrumentation(instrumentation, createMetrics(registry, { roles: ['pipeline', 'learner'] }));  // only its own families
 *   await serveMetrics(registry, config.metrics.port);   // pipeline stages; the API serves /metrics itself
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Instrumentation } from './instrumentation';

export * from './instrumentation';
export { serveMetrics, type MetricsServer, type Readiness, type ServeMetricsOptions } from './server';

/** 0.5 ms .. 2.5 s: request, Redis, re-rank and stage latencies of a millisecond-scale service. */
export const DURATION_BUCKETS_SECONDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
/** 5 ms .. 60 s: end-to-end freshness (event time → list in Redis) includes Kafka, batching and re-rank coalescing. */
export const FRESHNESS_BUCKETS_SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
/** 1 ms .. 10 s: ONNX encoder runs are batched and slower than a lookup. */
export const INFERENCE_BUCKETS_SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export interface Metrics {
  registry: Registry;
  httpRequestDuration: Histogram<'method' | 'route' | 'status'>;
  httpInFlight: Gauge;
  apiFallbacks: Counter<'source'>;
  eventsConsumed: Counter<'topic' | 'type'>;
  duplicates: Counter<'topic'>;
  stageDuration: Histogram<'stage'>;
  freshness: Histogram<'source'>;
  listsWritten: Counter<'source'>;
  consumerLag: Gauge<'group' | 'topic' | 'partition'>;
  deadLetters: Counter<'topic' | 'reason'>;
  rerankDuration: Histogram;
  candidateLearners: Counter<'kernel'>;
  redisCommandDuration: Histogram<'command' | 'status'>;
  onnxInferenceDuration: Histogram<'model'>;
  onnxBatchSize: Histogram<'model'>;
  quizAuc: Gauge;
  listHitRate: Gauge<'k'>;
  popularHitRate: Gauge<'k'>;
  producerRecords: Counter<'topic' | 'status'>;
  producerSendDuration: Histogram<'topic'>;
  interestsMatched: Counter<'method'>;
  checkpointDuration: Histogram<'stage'>;
  experimentEvents: Gauge<'experiment' | 'variant' | 'kind'>;
  experimentLearners: Gauge<'experiment' | 'variant'>;
  servingRebuilds: Counter<'stage' | 'cause'>;
  checkpointRestoreFallbacks: Counter<'stage' | 'reason'>;
  servingRebuildPending: Gauge<'stage'>;
  consumptionPaused: Gauge<'stage'>;
  stalls: Counter<'stage' | 'reason'>;
}

/**
 * The processes that export metrics. Each registers only the families it sets (see OWNERS). `pipeline` is what every
 * pipeline process sets (consumption, lag, checkpoints, producers); `learner` and `experiment` are the families only
 * those stages set, so the item/catalogue process of `npm start` (lib/config/layout.ts) exports none of them.
 */
export type MetricsRole = 'api' | 'pipeline' | 'learner' | 'experiment';

export interface CreateMetricsOptions {
  /** Also collect prom-client's default process and Node.js metrics (CPU, memory, GC, event-loop lag). Default true. */
  defaultMetrics?: boolean;
  /**
   * Which process this registry belongs to: only the families that process sets are registered (exported). A gauge
   * or an unlabelled histogram is exported as 0 from its creation, so a process exporting another's family says
   * something false: the API's `learnstream_quality_quiz_auc_ratio 0` fired the quiz-quality alert on every start.
   * Default both (tests, the dashboard check); process entry points pass their own.
   */
  roles?: MetricsRole[];
}

/** Which processes set each metric family; the others do not register it. */
const OWNERS: Record<Exclude<keyof Metrics, 'registry'>, MetricsRole[]> = {
  httpRequestDuration: ['api'],
  httpInFlight: ['api'],
  apiFallbacks: ['api'],
  eventsConsumed: ['pipeline'],
  duplicates: ['learner'],
  stageDuration: ['pipeline'],
  freshness: ['pipeline'],
  listsWritten: ['pipeline'],
  consumerLag: ['pipeline'],
  deadLetters: ['pipeline'],
  rerankDuration: ['learner'],
  candidateLearners: ['learner'],
  // The API reads the serving store, the pipeline writes it.
  redisCommandDuration: ['api', 'pipeline'],
  onnxInferenceDuration: ['pipeline'],
  onnxBatchSize: ['pipeline'],
  quizAuc: ['learner'],
  listHitRate: ['learner'],
  popularHitRate: ['learner'],
  // The API's HTTP collector and erasure publisher produce, so do the pipeline's sinks.
  producerRecords: ['api', 'pipeline'],
  producerSendDuration: ['api', 'pipeline'],
  interestsMatched: ['learner'],
  checkpointDuration: ['pipeline'],
  experimentEvents: ['experiment'],
  experimentLearners: ['experiment'],
  servingRebuilds: ['pipeline'],
  checkpointRestoreFallbacks: ['pipeline'],
  servingRebuildPending: ['pipeline'],
  consumptionPaused: ['pipeline'],
  stalls: ['pipeline'],
};

// One metric set per registry: a second createMetrics() on the same registry (e.g. API and collector in one process)
// returns the same objects instead of failing with "already registered".
const byRegistry = new WeakMap<Registry, Metrics>();

/**
 * prom-client exports a gauge without labels as 0 from its creation. For a measurement that does not exist yet (the
 * quiz AUC before 100 attempts of both outcomes) that 0 is false, and below every threshold: the pipeline's
 * `learnstream_quality_quiz_auc_ratio 0` put LearnstreamQuizPredictionQualityLow in pending on every start (found by
 * test/faults/prometheus-alerts-quiet.test.ts). Removing the unlabelled series leaves the family empty until
 * the first set().
 */
function absentUntilSet(g: Gauge): Gauge {
  g.remove();
  return g;
}

export function createMetrics(registry: Registry, opts: CreateMetricsOptions = {}): Metrics {
  const existing = byRegistry.get(registry);
  if (existing) return existing;
  const roles = new Set<MetricsRole>(opts.roles ?? ['api', 'pipeline', 'learner', 'experiment']);
  // A family this process does not own is still created (components may emit anything) but registered nowhere.
  const on = (name: keyof typeof OWNERS) => (OWNERS[name].some((r) => roles.has(r)) ? [registry] : []);
  const m: Metrics = {
    registry,
    httpRequestDuration: new Histogram({
      name: 'learnstream_http_request_duration_seconds',
      help: 'HTTP request duration by method, route template and status code.',
      labelNames: ['method', 'route', 'status'],
      buckets: DURATION_BUCKETS_SECONDS,
      registers: on('httpRequestDuration'),
    }),
    httpInFlight: new Gauge({
      name: 'learnstream_http_in_flight_requests',
      help: 'HTTP requests being served right now.',
      registers: on('httpInFlight'),
    }),
    apiFallbacks: new Counter({
      name: 'learnstream_api_fallbacks_total',
      help: 'Recommendation responses served from a fallback instead of a personal list, by fallback source.',
      labelNames: ['source'],
      registers: on('apiFallbacks'),
    }),
    eventsConsumed: new Counter({
      name: 'learnstream_pipeline_events_consumed_total',
      help: 'Kafka messages consumed by the pipeline, by topic and event type.',
      labelNames: ['topic', 'type'],
      registers: on('eventsConsumed'),
    }),
    duplicates: new Counter({
      name: 'learnstream_pipeline_duplicates_total',
      help: 'Consumed events not applied because their eventId was already applied to the same learner (retries), by topic.',
      labelNames: ['topic'],
      registers: on('duplicates'),
    }),
    stageDuration: new Histogram({
      name: 'learnstream_pipeline_stage_duration_seconds',
      help: 'Processing time of one unit of work (message or batch) per pipeline stage.',
      labelNames: ['stage'],
      buckets: DURATION_BUCKETS_SECONDS,
      registers: on('stageDuration'),
    }),
    freshness: new Histogram({
      name: 'learnstream_pipeline_freshness_seconds',
      help: 'Time from the newest event a list reflects (event time) to that list being written to the serving store.',
      labelNames: ['source'],
      buckets: FRESHNESS_BUCKETS_SECONDS,
      registers: on('freshness'),
    }),
    listsWritten: new Counter({
      name: 'learnstream_pipeline_lists_written_total',
      help: 'Recommendation lists written to the serving store, by source (personal, cold-start:interests, popular).',
      labelNames: ['source'],
      registers: on('listsWritten'),
    }),
    consumerLag: new Gauge({
      name: 'learnstream_kafka_consumer_lag_messages',
      help: 'Messages between the stage position and the high watermark, per consumer group, topic and assigned partition.',
      labelNames: ['group', 'topic', 'partition'],
      registers: on('consumerLag'),
    }),
    deadLetters: new Counter({
      name: 'learnstream_pipeline_dead_letters_total',
      help: 'Messages sent to a dead-letter topic, by source topic and reason code.',
      labelNames: ['topic', 'reason'],
      registers: on('deadLetters'),
    }),
    rerankDuration: new Histogram({
      name: 'learnstream_ranking_rerank_duration_seconds',
      help: 'Time to re-rank one learner (score candidates, mix, diversify, pick top-N).',
      buckets: DURATION_BUCKETS_SECONDS,
      registers: on('rerankDuration'),
    }),
    candidateLearners: new Counter({
      name: 'learnstream_ranking_candidate_learners_total',
      help: 'Learners whose candidates were scored, by kernel (onnx: the batched onnxruntime Gemm + TopK; js: the JS loop).',
      labelNames: ['kernel'],
      registers: on('candidateLearners'),
    }),
    redisCommandDuration: new Histogram({
      name: 'learnstream_redis_command_duration_seconds',
      help: 'Serving-store Redis command round trip, by command (a MULTI or pipeline counts once) and status (ok, error).',
      labelNames: ['command', 'status'],
      buckets: DURATION_BUCKETS_SECONDS,
      registers: on('redisCommandDuration'),
    }),
    onnxInferenceDuration: new Histogram({
      name: 'learnstream_onnx_inference_duration_seconds',
      help: 'ONNX encoder run time per batch, by model.',
      labelNames: ['model'],
      buckets: INFERENCE_BUCKETS_SECONDS,
      registers: on('onnxInferenceDuration'),
    }),
    onnxBatchSize: new Histogram({
      name: 'learnstream_onnx_batch_size_texts',
      help: 'Texts per ONNX encoder batch.',
      labelNames: ['model'],
      buckets: [1, 2, 4, 8, 16, 32, 64, 128],
      registers: on('onnxBatchSize'),
    }),
    quizAuc: absentUntilSet(
      new Gauge({
        name: 'learnstream_quality_quiz_auc_ratio',
        help: 'Rolling AUC of quiz-correctness predictions, measured before learning from each attempt (prequential).',
        registers: on('quizAuc'),
      }),
    ),
    listHitRate: new Gauge({
      name: 'learnstream_quality_list_hit_rate_ratio',
      help: "Rolling hit rate: share of interactions whose resource was in the learner's top-k list before the event.",
      labelNames: ['k'],
      registers: on('listHitRate'),
    }),
    popularHitRate: new Gauge({
      name: 'learnstream_quality_popular_hit_rate_ratio',
      help: "Baseline of the hit rate on the same test points: share whose resource was in the recent most-popular top-k (the learner's own history left out).",
      labelNames: ['k'],
      registers: on('popularHitRate'),
    }),
    producerRecords: new Counter({
      name: 'learnstream_producer_records_total',
      help: 'Records sent to Kafka by producers and the HTTP collector, by topic and status (ok, error).',
      labelNames: ['topic', 'status'],
      registers: on('producerRecords'),
    }),
    producerSendDuration: new Histogram({
      name: 'learnstream_producer_send_duration_seconds',
      help: 'Producer send (batch) round trip to Kafka, by topic.',
      labelNames: ['topic'],
      buckets: DURATION_BUCKETS_SECONDS,
      registers: on('producerSendDuration'),
    }),
    interestsMatched: new Counter({
      name: 'learnstream_pipeline_interest_profiles_total',
      help: 'Profiles whose declared interests are matched to resources, by method: content (embedded) or topic (encoder unavailable or failed).',
      labelNames: ['method'],
      registers: on('interestsMatched'),
    }),
    checkpointDuration: new Histogram({
      name: 'learnstream_pipeline_checkpoint_duration_seconds',
      help: 'Time to write one model-state checkpoint, by stage.',
      labelNames: ['stage'],
      buckets: DURATION_BUCKETS_SECONDS,
      registers: on('checkpointDuration'),
    }),
    // Gauges, not counters: they are the exact totals of checkpointed state, which an erasure lowers (issue 21).
    experimentEvents: new Gauge({
      name: 'learnstream_experiment_attributed_messages',
      help: "Attributed experiment events of the learners this process owns, by experiment, variant and kind (impressions, clicks, quiz_attempts, quiz_successes; crossovers and unmatched_clicks are left out of the rates). Exact across restarts; an erasure removes the learner's share.",
      labelNames: ['experiment', 'variant', 'kind'],
      registers: on('experimentEvents'),
    }),
    experimentLearners: new Gauge({
      name: 'learnstream_experiment_exposed_learners',
      help: 'Learners exposed to each experiment variant (at least one impression), among those this process owns.',
      labelNames: ['experiment', 'variant'],
      registers: on('experimentLearners'),
    }),
    checkpointRestoreFallbacks: new Counter({
      name: 'learnstream_pipeline_checkpoint_restore_fallbacks_total',
      help: 'Restores of a partition group whose changelog state could not be rebuilt (a poisoned chunk or head whose last good version compaction removed, rows missing), so the group replayed its input from the start instead; by stage and reason.',
      labelNames: ['stage', 'reason'],
      registers: on('checkpointRestoreFallbacks'),
    }),
    servingRebuilds: new Counter({
      name: 'learnstream_serving_rebuilds_total',
      help: "Rewrites of a stage's part of the serving view after Redis was lost (cause: missing = epoch key gone, changed = another epoch id, unrecorded = none recorded by this stage, behind = Redis older than this stage's writes).",
      labelNames: ['stage', 'cause'],
      registers: on('servingRebuilds'),
    }),
    servingRebuildPending: new Gauge({
      name: 'learnstream_serving_rebuild_pending_keys',
      help: 'Keys the running serving-view rewrite of a stage has still to write (learners for the learner stage, catalogue records for the catalogue stage); 0 when no rewrite runs.',
      labelNames: ['stage'],
      registers: on('servingRebuildPending'),
    }),
    consumptionPaused: new Gauge({
      name: 'learnstream_pipeline_consumption_paused_seconds',
      help: "How long a stage's consumption has been paused because downstream is behind (serving store, producer, the item stage behind the replica): its longest current readiness wait in this process; 0 when not paused.",
      labelNames: ['stage'],
      registers: on('consumptionPaused'),
    }),
    stalls: new Counter({
      name: 'learnstream_pipeline_stalls_total',
      help: 'Stalls of a stage (reason: paused = a readiness pause longer than pipeline.maxPauseMs, no-fetch = a partition with lag that got no batch that long); the process exits non-zero after each so its supervisor restarts it.',
      labelNames: ['stage', 'reason'],
      registers: on('stalls'),
    }),
  };
  // Standard names (process_*, nodejs_*) on purpose: they are what every Node.js dashboard and alert already expects.
  if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 10 });
  byRegistry.set(registry, m);
  return m;
}

const sec = (ms: number) => Math.max(0, ms) / 1000;

/** Subscribes `metrics` to every instrumentation event; returns a function that unsubscribes them all. */
export function bindInstrumentation(instr: Instrumentation, m: Metrics): () => void {
  const offs = [
    instr.on('http.request', (e) =>
      m.httpRequestDuration.observe({ method: e.method, route: e.route, status: String(e.status) }, sec(e.durationMs)),
    ),
    instr.on('http.inFlight', (e) => m.httpInFlight.inc(e.delta)),
    instr.on('api.fallback', (e) => m.apiFallbacks.inc({ source: e.source })),
    instr.on('event.consumed', (e) => m.eventsConsumed.inc({ topic: e.topic, type: e.type })),
    instr.on('event.duplicate', (e) => m.duplicates.inc({ topic: e.topic })),
    instr.on('stage.processed', (e) => m.stageDuration.observe({ stage: e.stage }, sec(e.durationMs))),
    instr.on('list.written', (e) => {
      const source = e.source ?? 'personal';
      m.freshness.observe({ source }, sec(e.freshnessMs));
      m.listsWritten.inc({ source });
    }),
    instr.on('consumer.lag', (e) =>
      m.consumerLag.set({ group: e.group, topic: e.topic, partition: String(e.partition) }, Math.max(0, e.lag)),
    ),
    instr.on('consumer.paused', (e) => {
      m.consumptionPaused.set({ stage: e.stage }, sec(e.pausedMs));
      // The stall counters exist at 0 while the stage runs: a stall's process exits 6 s after counting, and a series
      // that first appears at 1 shows no increase() in Prometheus.
      for (const reason of ['paused', 'no-fetch']) m.stalls.inc({ stage: e.stage, reason }, 0);
    }),
    instr.on('pipeline.stall', (e) => m.stalls.inc({ stage: e.stage, reason: e.reason })),
    instr.on('consumer.lagGone', (e) => m.consumerLag.remove({ group: e.group, topic: e.topic, partition: String(e.partition) })),
    instr.on('deadLetter', (e) => m.deadLetters.inc({ topic: e.topic, reason: e.reason })),
    instr.on('rerank', (e) => m.rerankDuration.observe(sec(e.durationMs))),
    instr.on('candidates.scored', (e) => m.candidateLearners.inc({ kernel: e.kernel }, e.learners)),
    instr.on('redis.command', (e) =>
      m.redisCommandDuration.observe({ command: e.command.toLowerCase(), status: e.ok ? 'ok' : 'error' }, sec(e.durationMs)),
    ),
    instr.on('onnx.inference', (e) => {
      m.onnxInferenceDuration.observe({ model: e.model }, sec(e.durationMs));
      m.onnxBatchSize.observe({ model: e.model }, e.batchSize);
    }),
    instr.on('quality.quizAuc', (e) => m.quizAuc.set(e.value)),
    instr.on('experiment.variant', (t) => {
      const l = { experiment: t.experiment, variant: t.variant };
      m.experimentLearners.set(l, t.learners);
      for (const [kind, v] of [
        ['impressions', t.impressions],
        ['clicks', t.clicks],
        ['quiz_attempts', t.attempts],
        ['quiz_successes', t.successes],
        ['crossovers', t.crossovers],
        ['unmatched_clicks', t.unmatched],
      ] as const)
        m.experimentEvents.set({ ...l, kind }, v);
    }),
    instr.on('quality.hitRate', (e) => m.listHitRate.set({ k: String(e.k) }, e.value)),
    instr.on('quality.popularHitRate', (e) => m.popularHitRate.set({ k: String(e.k) }, e.value)),
    instr.on('producer.sent', (e) => {
      m.producerRecords.inc({ topic: e.topic, status: e.ok ? 'ok' : 'error' }, e.count);
      m.producerSendDuration.observe({ topic: e.topic }, sec(e.durationMs));
    }),
    instr.on('interests.matched', (e) => m.interestsMatched.inc({ method: e.method })),
    instr.on('checkpoint', (e) => m.checkpointDuration.observe({ stage: e.stage }, sec(e.durationMs))),
    instr.on('checkpoint.restoreFallback', (e) => m.checkpointRestoreFallbacks.inc({ stage: e.stage, reason: e.reason })),
    instr.on('serving.rebuildStarted', (e) => m.servingRebuilds.inc({ stage: e.stage, cause: e.cause })),
    instr.on('serving.rebuildPending', (e) => m.servingRebuildPending.set({ stage: e.stage }, e.pending)),
  ];
  return () => offs.forEach((off) => off());
}

/** Names of every metric a learnstream process exports (learnstream_* plus the default process/nodejs metrics). */
export async function exportedMetricNames(registry: Registry): Promise<string[]> {
  const all = await registry.getMetricsAsJSON();
  return all.map((m) => m.name).sort();
}
