/** The CheckpointStore contract (test/contracts/checkpoint-store.contract.ts) against memory and local files. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FileCheckpointStore, MemoryCheckpointStore } from '../../consumers/state/checkpoint';
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
