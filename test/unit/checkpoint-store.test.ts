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
