import { AsyncLocalStorage } from 'node:async_hooks';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isAlive } from './process';
import { sleep } from './ports';

/**
 * A cross-process lock around up/down in one data dir: two test runs starting at the same moment must not both start
 * a broker. A directory is created atomically; it holds the owner's pid so a lock left by a crashed run is taken over.
 */
/** The lock directories held by the current async call chain (not the whole process: parallel callers must wait). */
const held = new AsyncLocalStorage<ReadonlySet<string>>();

export async function withStackLock<T>(dataDir: string, fn: () => Promise<T>, timeoutMs = 300_000): Promise<T> {
  fs.mkdirSync(dataDir, { recursive: true });
  const dir = path.join(dataDir, 'stack.lock');
  // Re-entrant within one call chain: the test setup holds the lock around its lease and stackUp.
  const mine = held.getStore() ?? new Set<string>();
  if (mine.has(dir)) return fn();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      fs.mkdirSync(dir);
      fs.writeFileSync(path.join(dir, 'owner'), String(process.pid));
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number(readOwner(dir));
      if (owner && owner !== process.pid && !isAlive(owner)) {
        fs.rmSync(dir, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for the stack lock ${dir} (held by pid ${owner})`, { cause: err });
      await sleep(200);
    }
  }
  try {
    return await held.run(new Set([...mine, dir]), fn);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function readOwner(dir: string): string {
  try {
    return fs.readFileSync(path.join(dir, 'owner'), 'utf8').trim();
  } catch {
    // Just created by someone else who has not written the owner yet: treat as alive.
    return '';
  }
}
