/**
 * The experiment stage (issue 21): attributes impressions, clicks and quiz attempts to experiment variants
 * (models/experiments/tally.ts) for the learners of its partitions. Its state, per partition group, is the tally
 * and the recent erasures; the stage runner checkpoints it with the input offsets it reflects, so every count is
 * exact across a crash or a restart (no event counted twice or lost) and a rebalance hands a group over whole.
 * The totals are exported as gauges by this process (lib/metrics: learnstream_experiment_*), set after every batch.
 *
 * Erasure: the learner's records and their share of the totals go at once, and an event of theirs sent before the
 * erasure but read after it (another topic's partition may lag) is ignored, as the learner stage does.
 */
import type { Logger } from '../../lib/log';
import type { Emitter } from '../../lib/metrics/instrumentation';
import { ExperimentTally, sumTotals, type TallyJSON } from '../../models/experiments/tally';
import type { Decode } from '../../consumers/event-types';
import type { GroupProcessor, InputRecord } from '../../consumers/runner/stage-runner';
import { erasureKey, ERASURE_MEMORY_MS } from '../learner/state';

export interface ExperimentGroupJSON {
  v: 1;
  tally: TallyJSON;
  /** erasureKey(userId) -> record timestamp of the erasure */
  erased: [string, number][];
}

interface Group {
  tally: ExperimentTally;
  erased: Map<string, number>;
}

export interface ExperimentProcessorOptions {
  decode: Decode;
  emit: Emitter;
  logger: Logger;
  topics: { interactions: string; quizAttempts: string; erasures: string };
}

export class ExperimentProcessor implements GroupProcessor<ExperimentGroupJSON> {
  readonly stage = 'experiment';
  private readonly groups = new Map<number, Group>();

  constructor(private readonly o: ExperimentProcessorOptions) {}

  restore(group: number, state: ExperimentGroupJSON | null): void {
    this.groups.set(group, { tally: ExperimentTally.fromJSON(state?.tally), erased: new Map(state?.erased ?? []) });
    this.publish();
  }

  snapshot(group: number): ExperimentGroupJSON {
    const g = this.groups.get(group)!;
    return { v: 1, tally: g.tally.toJSON(), erased: [...g.erased] };
  }

  drop(group: number): void {
    this.groups.delete(group);
    this.publish();
  }

  flush(): Promise<void> {
    return Promise.resolve();
  }

  afterBatch(): void {
    this.publish();
  }

  async apply(group: number, rec: InputRecord): Promise<void> {
    if (rec.value === null) return;
    const g = this.groups.get(group)!;
    const t = this.o.topics;
    if (rec.topic !== t.interactions && rec.topic !== t.quizAttempts && rec.topic !== t.erasures) return;
    const ev = await this.o.decode(rec);
    if (!ev) return;
    if (ev.kind === 'erasure') {
      g.erased.set(erasureKey(ev.userId), rec.timestamp);
      for (const [k, at] of g.erased) if (at < rec.timestamp - ERASURE_MEMORY_MS) g.erased.delete(k);
      g.tally.erase(ev.userId);
      return;
    }
    if (ev.kind !== 'interaction' && ev.kind !== 'quiz') return;
    if (g.erased.size > 0) {
      const at = g.erased.get(erasureKey(ev.userId));
      if (at !== undefined && rec.timestamp <= at) return;
    }
    if (ev.kind === 'quiz') g.tally.quiz(ev.userId, ev.correct, ev.occurredAt);
    else if (ev.type === 'impression') g.tally.impression(ev.userId, ev.recommId, ev.resourceId, ev.occurredAt);
    else if (ev.recommId && ev.type === 'click') g.tally.click(ev.userId, ev.recommId, ev.resourceId);
  }

  /** Totals over the groups this instance owns, per experiment and variant. */
  totals() {
    return sumTotals([...this.groups.values()].flatMap((g) => g.tally.variantTotals()));
  }

  /** The learner's counts per experiment, from the group that owns them (empty when none). */
  learnerCounts(userId: string) {
    return [...this.groups.values()].flatMap((g) => g.tally.learnerCounts(userId));
  }

  /** Whether any group of this instance keeps a record about the learner. */
  hasRecords(userId: string): boolean {
    return [...this.groups.values()].some((g) => g.tally.has(userId));
  }

  private publish(): void {
    for (const t of this.totals()) this.o.emit.emit('experiment.variant', t);
  }
}
