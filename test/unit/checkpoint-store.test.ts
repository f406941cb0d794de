/** The CheckpointStore contract (test/contracts/checkpoint-store.contract.ts) against memory and local files. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FileCheckpointStore, MemoryCheckpointStore } from '../../consumers/state/checkpoint';
import { orderKeys } from '../../consumers/state/changelog';
import { checkpointStoreContract } from '../contracts/checkpoint-store.contract';

checkpointStoreContract('files', {
  open: () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ls-checkpoints-'));
    return Promise.resolve({
      store: () => new FileCheckpointStore(dir),
      close: () => fs.promises.rm(dir, { recursive: true, force: true }),
    });
  },
});

checkpointStoreContract('memory (one process: a restart keeps the instance)', {
  open: () => {
    const store = new MemoryCheckpointStore();
    return Promise.resolve({ store: () => store, close: () => Promise.resolve() });
  },
});

describe('FileCheckpointStore: an old owner never writes over a newer owner', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ls-checkpoints-owners-'));
  afterAll(() => fs.promises.rm(dir, { recursive: true, force: true }));
  const cp = (offset: number, who: string) => ({ offsets: { 'events.interactions:0': String(offset) }, state: { who }, writtenAt: offset });

  it('a put behind the checkpoint another instance wrote since is superseded; ahead of it, or of its own, it is written', async () => {
    const old = new FileCheckpointStore(dir);
    const next = new FileCheckpointStore(dir);
    expect(await old.put('learner', 0, cp(100, 'old'))).toBeUndefined();
    // the group moves: the new owner restores 100 and reaches the end of the input
    expect((await next.get('learner', 0))?.offsets).toEqual(cp(100, 'old').offsets);
    await next.put('learner', 0, cp(500, 'next'));
    // the old owner, revoked behind a long batch, checkpoints where it stopped: not written
    expect(await old.put('learner', 0, cp(300, 'old'))).toBe('superseded');
    expect((await next.get('learner', 0))?.state).toEqual({ who: 'next' });
    // an instance that never read the file is checked the same way
    expect(await new FileCheckpointStore(dir).put('learner', 0, cp(400, 'fresh'))).toBe('superseded');
    // ahead of the stored one, a put is written whoever wrote last
    expect(await old.put('learner', 0, cp(600, 'old'))).toBeUndefined();
    expect((await new FileCheckpointStore(dir).get('learner', 0))?.state).toEqual({ who: 'old' });
    // and the owner's own next put is never checked against itself, even going back (a reset after a restore)
    expect(await old.put('learner', 0, cp(50, 'old'))).toBeUndefined();
    expect((await next.get('learner', 0))?.offsets).toEqual(cp(50, 'old').offsets);
    expect(fs.readdirSync(path.join(dir, 'learner')).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});

describe('changelog order keys (consumers/state/changelog.ts)', () => {
  const increasing = (k: number[]) => k.every((x, i) => i === 0 || x > k[i - 1]);
  it('keep every key on appends and removals, put new rows between their neighbours, renumber when doubles run out', () => {
    const first = orderKeys(['a', 'b', 'c'], () => undefined);
    const was = new Map(['a', 'b', 'c'].map((id, i) => [id, first[i]]));
    const next = orderKeys(['a', 'x', 'c', 'd'], (id) => was.get(id));
    expect(next[0]).toBe(was.get('a'));
    expect(next[2]).toBe(was.get('c'));
    expect(increasing(next)).toBe(true);
    // a row moved to the end gets a new key, the others keep theirs
    const moved = orderKeys(['b', 'c', 'a'], (id) => was.get(id));
    expect(moved.slice(0, 2)).toEqual([was.get('b'), was.get('c')]);
    expect(increasing(moved)).toBe(true);
    // 2,000 insertions at the same spot: keys stay strictly increasing (renumbered when the gap is gone)
    let ids = ['lo', 'hi'];
    let keys = new Map([
      ['lo', 0],
      ['hi', 1],
    ]);
    for (let i = 0; i < 2000; i++) {
      ids = [ids[0], `n${i}`, ...ids.slice(1)];
      const k = orderKeys(ids, (id) => keys.get(id));
      expect(increasing(k)).toBe(true);
      keys = new Map(ids.map((id, j) => [id, k[j]]));
    }
  });
});
