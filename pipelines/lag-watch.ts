import type { Emitter, InstrumentationEventName, InstrumentationEvents } from '../lib/metrics/instrumentation';

export interface LagWatchOptions {
  /** How long lag must stay high and not shrink before it is a failure. Default 180,000 ms (3 min). */
  windowMs?: number;
  /** Lag (messages) below which a partition is never a failure. Default 1000. */
  minLag?: number;
  now?: () => number;
}

/**
 * "Lag that grows for minutes turns health red" (issue 17, item 1). Watches every stage's `consumer.lag` samples (the
 * runner emits them per batch and on a timer, so a paused or stuck partition keeps reporting) and calls a partition
 * stuck when, over the whole last `windowMs`, its lag never dropped below `minLag` and is now no smaller than at the
 * window's start: a consumer that is behind but catching up is not stuck, a burst that is worked off within the window
 * is not either. The pipeline's /readyz answers 503 with one reason per stuck partition.
 */
export class LagWatch {
  private readonly series = new Map<string, { t: number; lag: number }[]>();
  private readonly windowMs: number;
  private readonly minLag: number;
  private readonly now: () => number;

  constructor(o: LagWatchOptions = {}) {
    this.windowMs = o.windowMs ?? 180_000;
    this.minLag = o.minLag ?? 1000;
    this.now = o.now ?? Date.now;
  }

  observe(group: string, topic: string, partition: number, lag: number): void {
    const key = `${group} ${topic}[${partition}]`;
    let s = this.series.get(key);
    if (!s) this.series.set(key, (s = []));
    const t = this.now();
    s.push({ t, lag });
    // keep one sample at or before the window's start, so the window is known to be covered
    while (s.length > 2 && s[1].t <= t - this.windowMs) s.shift();
  }

  forget(group: string, topic: string, partition: number): void {
    this.series.delete(`${group} ${topic}[${partition}]`);
  }

  /** One line per stuck partition (empty = healthy). */
  reasons(): string[] {
    const out: string[] = [];
    const t = this.now();
    for (const [key, s] of this.series) {
      if (s.length < 2 || s[0].t > t - this.windowMs) continue; // not watched for a whole window yet
      const first = s[0].lag;
      const last = s[s.length - 1].lag;
      if (last < first) continue;
      if (s.some((x) => x.lag < this.minLag)) continue;
      out.push(`consumer lag of ${key} has not shrunk for ${Math.round((t - s[0].t) / 60_000)} min (${first} → ${last} messages)`);
    }
    return out;
  }

  /** An emitter that feeds this watch and passes every event on to `inner`. */
  tap(inner: Emitter): Emitter {
    return {
      emit: <K extends InstrumentationEventName>(name: K, payload: InstrumentationEvents[K]) => {
        if (name === 'consumer.lag') {
          const e = payload as InstrumentationEvents['consumer.lag'];
          this.observe(e.group, e.topic, e.partition, e.lag);
        } else if (name === 'consumer.lagGone') {
          const e = payload as InstrumentationEvents['consumer.lagGone'];
          this.forget(e.group, e.topic, e.partition);
        }
        inner.emit(name, payload);
      },
    };
  }
}
