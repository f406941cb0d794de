/**
 * The CheckpointStore contract (consumers/state), run against every implementation: memory and files in
 * test/unit/checkpoint-store.test.ts, the Kafka changelog store on the real stack in
 * test/integration/checkpoint-changelog.test.ts. Not a test file itself (no .test.ts suffix).
 *
 * A store keeps, per (stage, partition group), the group's state together with the input offsets it reflects; the
 * learner stage's state holds a `learners` array of [id, entry] pairs, which a store may write incrementally.
 */
import type { Checkpoint, CheckpointStore } from '../../consumers/state/checkpoint';

export interface CheckpointBacking {
  /**
   * A store over this backing. A second call is another process after a restart (or another instance taking the
   * group over): it shares nothing in memory with the first, only what the backing holds.
   */
  store(): CheckpointStore;
  /**
   * Learner entries written (or tombstoned) since the last call, for a store that writes only what changed; absent
   * for one that rewrites a group's checkpoint whole (one file), where the contract checks the result only.
   */
  entriesWritten?(): Promise<number>;
  close(): Promise<void>;
}

export interface CheckpointStoreHarness {
  /** A fresh, empty backing (its own directory, topic, ...). */
  open(): Promise<CheckpointBacking>;
}

type Entry = { n: number; h: string[] };
type State = { learners: [string, Entry][]; knowledge: { skills: Record<string, number> }; erased: [string, number][] };

function checkpoint(learners: Record<string, Entry>, offset: number, extra: Partial<State> = {}): Checkpoint<State> {
  return {
    offsets: { 'learning.interactions:0': String(offset), 'learning.quiz-attempts:0': String(offset / 2) },
    state: { learners: Object.entries(learners), knowledge: { skills: { algebra: 0.25, 'ratios/π': 0.5 } }, erased: [], ...extra },
    writtenAt: 1_780_000_000_000 + offset,
  };
}

/** Order of entries is not part of the contract (an incremental store keeps first-write order). */
function normal(cp: Checkpoint<State> | null): Checkpoint<State> | null {
  if (!cp) return null;
  return { ...cp, state: { ...cp.state, learners: [...cp.state.learners].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)) } };
}

function learners(n: number, from = 0): Record<string, Entry> {
  const out: Record<string, Entry> = {};
  for (let i = from; i < from + n; i++) out[`u${i}`] = { n: i, h: [`r${i}`, `r${i + 1}`] };
  return out;
}

export function checkpointStoreContract(name: string, harness: CheckpointStoreHarness): void {
  describe(`CheckpointStore contract: ${name}`, () => {
    let backing: CheckpointBacking;
    beforeEach(async () => {
      backing = await harness.open();
    });
    afterEach(async () => {
      await backing.close();
    });

    it('round-trips a checkpoint (state and offsets), in the same process and after a restart; stages and groups are apart', async () => {
      const s = backing.store();
      expect(await s.get('learner', 0)).toBeNull();
      const a = checkpoint(learners(3), 100, { erased: [['k1', 5]] });
      const b = checkpoint(learners(2, 10), 40);
      const other = { offsets: { 'catalog.resources:0': '7' }, state: { rows: 3, note: 'not a learner state' }, writtenAt: 5 };
      await s.put('learner', 0, a);
      await s.put('learner', 1, b);
      await s.put('catalog', 0, other);
      expect(normal(await s.get<State>('learner', 1))).toEqual(normal(b));
      const restarted = backing.store();
      expect(normal(await restarted.get<State>('learner', 0))).toEqual(normal(a));
      expect(await restarted.get('catalog', 0)).toEqual(other);
    });

    it('a later put replaces the checkpoint, writing only the entries that changed, also after a restart', async () => {
      const s = backing.store();
      const l = learners(20);
      await s.put('learner', 0, checkpoint(l, 100));
      if (backing.entriesWritten) expect(await backing.entriesWritten()).toBe(20);
      l.u3 = { n: 99, h: ['r9'] };
      l.u20 = { n: 1, h: [] };
      const second = checkpoint(l, 130);
      await s.put('learner', 0, second);
      if (backing.entriesWritten) expect(await backing.entriesWritten()).toBe(2);
      const restarted = backing.store();
      expect(normal(await restarted.get<State>('learner', 0))).toEqual(normal(second));
      // the new owner continues from what it restored: one changed learner, one entry written
      l.u7 = { n: 70, h: ['r1'] };
      const third = checkpoint(l, 150);
      await restarted.put('learner', 0, third);
      if (backing.entriesWritten) expect(await backing.entriesWritten()).toBe(1);
      expect(normal(await backing.store().get<State>('learner', 0))).toEqual(normal(third));
    });

    it('erasure: a learner left out of the next put is gone for every later restore, and delete removes the whole checkpoint', async () => {
      const s = backing.store();
      const l = learners(3);
      await s.put('learner', 0, checkpoint(l, 10));
      if (backing.entriesWritten) await backing.entriesWritten();
      delete l.u1;
      const after = checkpoint(l, 11, { erased: [['hash-of-u1', 11]] });
      await s.put('learner', 0, after);
      if (backing.entriesWritten) expect(await backing.entriesWritten()).toBe(1); // the erased learner's tombstone only
      // the next owner (a restart) restores without them, and deletes the group (its partitions moved away for good)
      const owner = backing.store();
      const restored = await owner.get<State>('learner', 0);
      expect(normal(restored)).toEqual(normal(after));
      expect(JSON.stringify(restored)).not.toContain('"u1"');
      await owner.delete('learner', 0);
      expect(await owner.get('learner', 0)).toBeNull();
      expect(await backing.store().get('learner', 0)).toBeNull();
    });
  });
}
