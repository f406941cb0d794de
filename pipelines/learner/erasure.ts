import type { Logger } from '../../lib/log';
import type { ServingStore } from '../../serving/types';
import type { ErasureEvent } from '../../consumers/event-types';
import type { InputRecord } from '../../consumers/runner/stage-runner';
import { erasureKey, ERASURE_MEMORY_MS, type Learner, type LearnerGroup } from './state';

export interface LearnerErasureOptions {
  store: ServingStore;
  logger: Logger;
  /** Writes tombstones for an erased learner's keys in compacted topics (learners.profiles). */
  tombstone: (userId: string) => Promise<void>;
  /** Drops what the other parts of the stage hold about the learner in memory (indexes, pending writes, queued re-ranks). */
  forget: (userId: string, gone: Learner | undefined) => void;
  /** Resolves when a re-rank already computing for the learner has landed. */
  settle: (userId: string) => Promise<void>;
}

/** Whether the event was sent before its learner's erasure (remembered ERASURE_MEMORY_MS): then it is not learned. */
export function erasedBefore(g: LearnerGroup, userId: string, timestamp: number): boolean {
  if (g.erased.size === 0) return false;
  const at = g.erased.get(erasureKey(userId));
  return at !== undefined && timestamp <= at;
}

/**
 * A privacy.erasures request: the learner's state leaves the group (checkpointed without them at the next
 * checkpoint), their serving keys are deleted and their compacted-topic keys tombstoned; later-consumed events sent
 * before the request are ignored (erasedBefore).
 */
export class LearnerErasure {
  constructor(private readonly o: LearnerErasureOptions) {}

  async erase(g: LearnerGroup, rec: InputRecord, ev: ErasureEvent): Promise<void> {
    g.erased.set(erasureKey(ev.userId), rec.timestamp);
    for (const [k, t] of g.erased) if (t < rec.timestamp - ERASURE_MEMORY_MS) g.erased.delete(k);
    const gone = g.learners.get(ev.userId);
    g.learners.delete(ev.userId);
    g.knowledge.forgetLearner(ev.userId);
    this.o.forget(ev.userId, gone);
    // A re-rank already computing for this learner must land before we delete, or it would re-create the key.
    await this.o.settle(ev.userId);
    await this.o.store.eraseLearner(ev.userId);
    await this.o.tombstone(ev.userId);
    this.o.logger.info('learner erased', { userId: ev.userId });
  }
}
