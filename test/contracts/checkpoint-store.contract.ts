/**
 * The CheckpointStore contract (consumers/state), run against every implementation: memory and files in
 * test/unit/checkpoint-store.test.ts, the Kafka changelog store on the real stack in
 * test/integration/checkpoint-changelog.test.ts. Not a test file itself (no .test.ts suffix).
 *
 * A store keeps, per (stage, partition group), the group's state together with the input offsets it reflects, rows in
 * their order. The states' keyed collections (the learner stage's `learners` and `knowledge.learners|items|skills`,
 * `erased`, an item table's `items.rows`, the catalogue's `content.rows`) a store may write one row at a time: then a
 * put after one row changed writes that row only.
 */
import type { Checkpoint, CheckpointStore } from '../../consumers/state/checkpoint';

export interface CheckpointBacking {
  /**
   * A store over this backing. A second call is another process after a restart (or another instance taking the
   * group over): it shares nothing in memory with the first, only what the backing holds.
   */
  store(): CheckpointStore;
  /**
   * Rows of keyed collections written (or tombstoned) since the last call, for a store that writes only what changed;
   * absent for one that rewrites a group's checkpoint whole (one file), where the contract checks the result only.
   */
  rowsWritten?(): Promise<number>;
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

function learners(n: number, from = 0): Record<string, Entry> {
  const out: Record<string, Entry> = {};
  for (let i = from; i < from + n; i++) out[`u${i}`] = { n: i, h: [`r${i}`, `r${i + 1}`] };
  return out;
}

type Row = { id: string; f: string; n: number; a: boolean };
/** An item-stage state (pipelines/item/processor.ts): item-table rows, whose order is part of the state. */
function itemCheckpoint(
  rows: Row[],
  offset: number,
): Checkpoint<{ items: { dim: number; rows: Row[] }; applied: Record<string, [string, number]> }> {
  return {
    offsets: { 'model.item-updates:0': String(offset) },
    state: { items: { dim: 4, rows: rows.map((r) => ({ ...r })) }, applied: { 'learning.interactions:0': [String(offset * 3), 1] } },
    writtenAt: offset,
  };
}

/** A learner state's knowledge model with its population terms, and a catalogue state's content rows. */
function populationCheckpoint(
  difficulty: Record<string, number>,
  skills: Record<string, number>,
  titles: Record<string, string>,
  offset: number,
) {
  return {
    offsets: { 'learning.quiz-attempts:0': String(offset) },
    state: {
      learners: [['u1', { n: 1, h: [] }]] as [string, Entry][],
      knowledge: {
        version: 1,
        weights: [0.5, -0.25],
        items: Object.entries(difficulty).map(([id, b]) => [id, { b, n: 3 }]),
        skills: Object.entries(skills).map(([id, mean]) => [id, { mean, n: 4 }]),
        learners: [['u1', { ability: 0.1 }]],
      },
      content: { rows: Object.entries(titles).map(([id, t]) => [id, t, 'AAAAAA==']) },
      erased: [],
    },
    writtenAt: offset,
  };
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
      expect(await s.get<State>('learner', 1)).toEqual(b);
      const restarted = backing.store();
      expect(await restarted.get<State>('learner', 0)).toEqual(a);
      expect(await restarted.get('catalog', 0)).toEqual(other);
    });

    it('put reads the checkpoint only before its first await and writes nothing before ctx.after resolves, or when it rejects', async () => {
      const s = backing.store();
      const l = learners(3);
      const cp = checkpoint(l, 100);
      const expected = JSON.parse(JSON.stringify(cp)) as Checkpoint<State>;
      let release!: () => void;
      const after = new Promise<void>((r) => (release = r));
      const put = s.put('learner', 0, cp, { after });
      // the runner's state moves on while the write is in flight (a snapshot shares arrays with the live state)
      cp.state.learners[0][1].h.push('r-later');
      cp.state.learners[1][1].n = 1000;
      await new Promise((r) => setTimeout(r, 50));
      expect(await backing.store().get('learner', 0)).toBeNull();
      release();
      await put;
      expect(await backing.store().get<State>('learner', 0)).toEqual(expected);
      const failed = Promise.reject(new Error('downstream not acknowledged'));
      await expect(s.put('learner', 0, checkpoint(learners(4), 200), { after: failed })).rejects.toThrow('downstream not acknowledged');
      expect(await backing.store().get<State>('learner', 0)).toEqual(expected);
    });

    it('a later put replaces the checkpoint, writing only the entries that changed, also after a restart', async () => {
      const s = backing.store();
      const l = learners(20);
      await s.put('learner', 0, checkpoint(l, 100));
      if (backing.rowsWritten) expect(await backing.rowsWritten()).toBe(20);
      l.u3 = { n: 99, h: ['r9'] };
      l.u20 = { n: 1, h: [] };
      const second = checkpoint(l, 130);
      await s.put('learner', 0, second);
      if (backing.rowsWritten) expect(await backing.rowsWritten()).toBe(2);
      const restarted = backing.store();
      expect(await restarted.get<State>('learner', 0)).toEqual(second);
      // the new owner continues from what it restored: one changed learner, one entry written
      l.u7 = { n: 70, h: ['r1'] };
      const third = checkpoint(l, 150);
      await restarted.put('learner', 0, third);
      if (backing.rowsWritten) expect(await backing.rowsWritten()).toBe(1);
      expect(await backing.store().get<State>('learner', 0)).toEqual(third);
    });

    it('frozen rows handed again (unchanged, the same objects) and a changed one as a new object: that one written, the state whole', async () => {
      const s = backing.store();
      const rows = Object.entries(learners(10)).map((r) => Object.freeze(r) as [string, Entry]);
      const cp = (list: [string, Entry][], offset: number): Checkpoint<State> => ({
        ...checkpoint({}, offset),
        state: { ...checkpoint({}, offset).state, learners: list },
      });
      await s.put('learner', 0, cp(rows, 10));
      if (backing.rowsWritten) expect(await backing.rowsWritten()).toBe(10);
      const next = rows.map((r) => (r[0] === 'u4' ? (Object.freeze(['u4', { n: 40, h: [] }]) as unknown as [string, Entry]) : r));
      await s.put('learner', 0, cp(next, 11));
      if (backing.rowsWritten) expect(await backing.rowsWritten()).toBe(1);
      expect(await backing.store().get<State>('learner', 0)).toEqual(cp(next, 11));
    });

    it('item-table rows: a put writes the rows that changed, new, moved or removed; restores keep the row order', async () => {
      const s = backing.store();
      const rows: Row[] = Array.from({ length: 50 }, (_, i) => ({ id: `r${i}`, f: `v${i}`, n: i, a: true }));
      await s.put('item', 0, itemCheckpoint(rows, 10));
      if (backing.rowsWritten) expect(await backing.rowsWritten()).toBe(50);
      rows[10].n += 1; // one gradient applied
      await s.put('item', 0, itemCheckpoint(rows, 11));
      if (backing.rowsWritten) expect(await backing.rowsWritten()).toBe(1);
      // a placeholder slot became a row between two others, one row went, one was appended
      rows.splice(21, 0, { id: 'between/20-21', f: 'p', n: 1, a: true });
      rows.splice(31, 1);
      rows.push({ id: 'r50', f: 'v50', n: 0, a: false });
      const third = itemCheckpoint(rows, 12);
      await s.put('item', 0, third);
      if (backing.rowsWritten) expect(await backing.rowsWritten()).toBe(3);
      const owner = backing.store();
      expect(await owner.get('item', 0)).toEqual(third);
      // the new owner goes on writing only what changes, in the order it restored
      rows.unshift({ id: 'first', f: 'f', n: 0, a: true });
      rows[40].a = false;
      const fourth = itemCheckpoint(rows, 13);
      await owner.put('item', 0, fourth);
      if (backing.rowsWritten) expect(await backing.rowsWritten()).toBe(2);
      expect(await backing.store().get('item', 0)).toEqual(fourth);
    });

    it("the knowledge model's item and skill terms and the catalogue's content rows: one row each per change", async () => {
      const s = backing.store();
      const difficulty = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`q${i}`, i / 10]));
      const skills = { algebra: 0.5, 'ratios/π': 0.25, geometry: 0.75 };
      const titles = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`res-${i}`, `Resource ${i}`]));
      await s.put('learner', 0, populationCheckpoint(difficulty, skills, titles, 5));
      if (backing.rowsWritten) expect(await backing.rowsWritten()).toBe(1 + 1 + 30 + 3 + 20);
      // one quiz answer: its item's difficulty and its skill's population term (and the learner's belief) move
      difficulty.q7 += 0.01;
      skills.geometry = 0.7;
      titles['res-3'] = 'Resource 3, revised'; // one catalogue upsert
      const second = populationCheckpoint(difficulty, skills, titles, 6);
      await s.put('learner', 0, second);
      if (backing.rowsWritten) expect(await backing.rowsWritten()).toBe(3);
      expect(await backing.store().get('learner', 0)).toEqual(second);
    });

    it('erasure: a learner left out of the next put is gone for every later restore, and delete removes the whole checkpoint', async () => {
      const s = backing.store();
      const l = learners(3);
      await s.put('learner', 0, checkpoint(l, 10));
      if (backing.rowsWritten) await backing.rowsWritten();
      delete l.u1;
      const after = checkpoint(l, 11, { erased: [['hash-of-u1', 11]] });
      await s.put('learner', 0, after);
      // the erased learner's tombstone and the erasure marker only
      if (backing.rowsWritten) expect(await backing.rowsWritten()).toBe(2);
      // the next owner (a restart) restores without them, and deletes the group (its partitions moved away for good)
      const owner = backing.store();
      const restored = await owner.get<State>('learner', 0);
      expect(restored).toEqual(after);
      expect(JSON.stringify(restored)).not.toContain('"u1"');
      await owner.delete('learner', 0);
      expect(await owner.get('learner', 0)).toBeNull();
      expect(await backing.store().get('learner', 0)).toBeNull();
    });
  });
}
