/**
 * Instrumentation events: components (including the pure core in models/) report what happened through a small typed
 * emitter and never import prom-client. lib/metrics/index.ts subscribes the Prometheus metrics to these events; tests
 * can subscribe their own listeners. Durations are in milliseconds here (what `performance.now()` gives); the metrics
 * convert to seconds, the Prometheus base unit.
 */

/** Every instrumentation event and its payload. Add new events here, then bind them in lib/metrics/index.ts. */
export interface InstrumentationEvents {
  /** One HTTP request finished. `route` is the route template (`/v1/learners/:userId/...`), never the raw path. */
  'http.request': { method: string; route: string; status: number; durationMs: number };
  /** A request started (+1) or finished (-1). */
  'http.inFlight': { delta: 1 | -1 };
  /** One Kafka message was consumed by a stage. `type` is the event type (view, click, quiz, ...) or the record kind. */
  'event.consumed': { topic: string; type: string };
  /** A consumed event was a duplicate (its eventId already applied to that learner) and changed nothing. */
  'event.duplicate': { topic: string };
  /** One unit of work of a pipeline stage finished (`stage` e.g. learner, item, catalog; `step` optional finer part). */
  'stage.processed': { stage: string; durationMs: number };
  /** A learner's list was written to the serving store. `freshnessMs` = write time − newest reflected event time. */
  'list.written': { freshnessMs: number; source?: string };
  /** Consumer lag of one partition (messages between committed offset and high watermark). */
  'consumer.lag': { group: string; topic: string; partition: number; lag: number };
  /**
   * How long the stage's consumption has been paused for downstream readiness (the longest wait of its partitions in
   * this process), 0 when it is not: after every wait, each second of one, and with every lag report.
   */
  'consumer.paused': { stage: string; pausedMs: number };
  /**
   * The stage stopped consuming (consumers/runner, pipeline.maxPauseMs): `paused` = a readiness pause past the limit,
   * `no-fetch` = a partition with lag that got no batch that long. The process exits to be restarted.
   */
  'pipeline.stall': { stage: string; reason: 'paused' | 'no-fetch' };
  /** The partition is no longer consumed here (revoked, or the consumer stopped): its lag series is removed. */
  'consumer.lagGone': { group: string; topic: string; partition: number };
  /** A message went to the dead-letter topic. `reason` is a stable machine code (PoisonMessageError.reason). */
  deadLetter: { topic: string; reason: string };
  /** One re-rank of one learner's list. */
  rerank: { durationMs: number; candidates?: number; batch?: number };
  /** One candidate-scoring call of the learner stage: which kernel scored how many learners' candidates. */
  'candidates.scored': { kernel: 'onnx' | 'js' | 'ivf'; learners: number };
  /** One Redis command (or pipeline / MULTI, named by its first command). */
  'redis.command': { command: string; durationMs: number; ok: boolean };
  /** One ONNX encoder run. */
  'onnx.inference': { model: string; durationMs: number; batchSize: number };
  /**
   * The experiment stage's exact attribution totals of one experiment variant over the partition groups this process
   * owns (pipelines/experiment/): emitted for every variant after each batch, restore and rebalance.
   */
  'experiment.variant': {
    experiment: string;
    variant: string;
    learners: number;
    impressions: number;
    clicks: number;
    attempts: number;
    successes: number;
    crossovers: number;
    unmatched: number;
  };
  /** Rolling quality measured prequentially by the pipeline. */
  'quality.quizAuc': { value: number };
  'quality.hitRate': { value: number; k: number };
  /** most-popular's hit rate on the same test points as quality.hitRate, emitted with it */
  'quality.popularHitRate': { value: number; k: number };
  /** The API served a fallback instead of a personal list (`source` e.g. cold-start:interests, popular-in-interest, popular). */
  'api.fallback': { source: string };
  /** A producer (client or HTTP collector) sent records to Kafka. */
  'producer.sent': { topic: string; count: number; durationMs: number; ok: boolean };
  /**
   * A learner's declared interests were set (profile event) and will be matched to resources by `content` similarity
   * (embedded by the encoder) or, when the encoder is unavailable or failed, by catalogue `topic`.
   */
  'interests.matched': { method: 'content' | 'topic' };
  /**
   * A stage started rewriting its part of the serving view (pipelines/serving-epoch.ts): `cause` missing | changed |
   * unrecorded | behind (restored from an older copy).
   */
  'serving.rebuildStarted': { stage: string; cause: string };
  /** Keys (learners, catalogue records) the stage's running rewrite has still to write; 0 when none runs. */
  'serving.rebuildPending': { stage: string; pending: number };
  /**
   * A partition group's checkpoint could not be rebuilt from the changelog (consumers/state/changelog.ts): the group
   * replays its input from the start instead. `reason`: chunk-missing | head-lost | rows-missing | state-undecodable.
   */
  'checkpoint.restoreFallback': { stage: string; group: number; reason: string };
  /** A model-state checkpoint was written. */
  checkpoint: { stage: string; durationMs: number };
}

export type InstrumentationEventName = keyof InstrumentationEvents;
export type Listener<K extends InstrumentationEventName> = (payload: InstrumentationEvents[K]) => void;

/** What components take as a collaborator: just `emit`. */
export interface Emitter {
  emit<K extends InstrumentationEventName>(name: K, payload: InstrumentationEvents[K]): void;
}

export interface Instrumentation extends Emitter {
  /** Subscribes; returns an unsubscribe function. */
  on<K extends InstrumentationEventName>(name: K, listener: Listener<K>): () => void;
  listenerCount(name: InstrumentationEventName): number;
}

/**
 * Creates an emitter. `emit` is synchronous and never throws: a failing listener is reported to `onListenerError`
 * (default: ignored) so that instrumentation can never break the code it observes.
 */
export function createInstrumentation(
  opts: { onListenerError?: (err: unknown, name: InstrumentationEventName) => void } = {},
): Instrumentation {
  const listeners = new Map<InstrumentationEventName, Set<(p: never) => void>>();
  return {
    emit(name, payload) {
      const set = listeners.get(name);
      if (!set) return;
      for (const fn of set) {
        try {
          (fn as (p: typeof payload) => void)(payload);
        } catch (err) {
          opts.onListenerError?.(err, name);
        }
      }
    },
    on(name, listener) {
      let set = listeners.get(name);
      if (!set) listeners.set(name, (set = new Set()));
      const fn = listener as (p: never) => void;
      set.add(fn);
      return () => {
        set.delete(fn);
      };
    },
    listenerCount(name) {
      return listeners.get(name)?.size ?? 0;
    },
  };
}

/** An emitter that drops everything: the default for components constructed without instrumentation. */
export const noopEmitter: Emitter = { emit: () => undefined };

/** Measures `fn` and emits the duration through `report`; the result (or error) passes through unchanged. */
export async function timed<T>(fn: () => Promise<T>, report: (durationMs: number, ok: boolean) => void): Promise<T> {
  const start = performance.now();
  try {
    const out = await fn();
    report(performance.now() - start, true);
    return out;
  } catch (err) {
    report(performance.now() - start, false);
    throw err;
  }
}
