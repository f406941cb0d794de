import { eventTopics } from '../../lib/serde/subjects';
import { COMPACTED } from '../../schemas/topics';
import type { Decode } from '../event-types';
import type { GroupProcessor, InputRecord } from '../runner/stage-runner';

/** The event topics under `prefix` on which a null value is poison: those that are not compacted (no tombstones). */
export function nonCompactedEventTopics(prefix: string): Set<string> {
  return new Set(
    eventTopics(prefix)
      .filter((t) => !COMPACTED.has(t.key))
      .map((t) => t.topic),
  );
}

/**
 * A null value on a non-compacted event topic (interactions, quiz attempts, erasures) is not a deletion: nothing
 * produces one there, so it is poison and belongs in the DLQ with a reason. A stage that skips null values before
 * decoding (the learner does, for the tombstones its own erasures write to learners.profiles) would drop it without
 * a trace; this sends such a record through `decode`, which dead-letters it (reason `unexpected-tombstone`), and the
 * stage never sees it. Null values on compacted topics and on internal topics reach the stage as before.
 */
export function deadLetterNullValues<S>(processor: GroupProcessor<S>, decode: Decode, topics: ReadonlySet<string>): GroupProcessor<S> {
  const p = processor;
  return {
    stage: p.stage,
    restore: (group, state) => p.restore(group, state),
    apply: async (group: number, record: InputRecord) => {
      if (record.value === null && topics.has(record.topic)) {
        await decode(record);
        return;
      }
      await p.apply(group, record);
    },
    flush: () => p.flush(),
    snapshot: (group) => p.snapshot(group),
    drop: (group) => p.drop(group),
    ...(p.ready ? { ready: () => p.ready!() } : {}),
    ...(p.waitingFor ? { waitingFor: () => p.waitingFor!() } : {}),
    ...(p.afterBatch ? { afterBatch: (group: number, behind?: number) => p.afterBatch!(group, behind) } : {}),
  };
}
