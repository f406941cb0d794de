import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * A checkpoint is the state of one partition group together with the input offsets it reflects: `offsets` maps
 * `topic:partition` to the next offset to consume. State and offsets are written in one atomic step, so after a crash
 * we restore a state that reflects exactly the events before those offsets and replay the rest.
 */
export interface Checkpoint<S = unknown> {
  offsets: Record<string, string>;
  state: S;
  /** Epoch ms when it was written (diagnostics only). */
  writtenAt: number;
}

/** Who wrote a checkpoint: the consumer group whose input offsets it holds (a store may commit them with it). */
export interface CheckpointContext {
  /** The consumer group whose offsets these are (absent: commit none). */
  consumerGroupId?: string;
  /**
   * Written only once this resolves (the records the checkpointed events sent downstream are acknowledged); when it
   * rejects nothing is written and put rejects with its error.
   */
  after?: Promise<unknown>;
}

/** One narrow store: get / put / delete a checkpoint per (stage, partition group). */
export interface CheckpointStore {
  get<S>(stage: string, group: number): Promise<Checkpoint<S> | null>;
  /**
   * Writes the checkpoint. A row of a keyed collection (see the contract test) that is frozen (Object.freeze) promises
   * that it and everything it holds never change: a store may skip encoding it again when the next put hands it the
   * same object (a state that rebuilds only the rows it changed then checkpoints at the cost of what changed).
   * 'superseded': not written, because another writer (the group's new owner) stored one at or
   * past every offset of `cp`; a store that fences an old owner's writes itself (the changelog) never answers it.
   * `cp` is read only in put's synchronous part (encoded before its first await): the runner lets the group's state
   * move on while the write is in flight, and a snapshot may share arrays with the live state.
   */
  put<S>(stage: string, group: number, cp: Checkpoint<S>, ctx?: CheckpointContext): Promise<void | 'superseded'>;
  delete(stage: string, group: number): Promise<void>;
  /**
   * True when put() also commits the checkpoint's offsets to the consumer group, atomically with the state
   * (ctx given): the runner then commits nothing itself.
   */
  readonly commitsOffsets?: boolean;
}

/**
 * Local files, written with write-to-temp + fsync + rename + fsync(dir): a reader sees either the old or the new
 * checkpoint, never a torn one, even across kill -9 or power loss. Instances of one stage share `dir` (a shared
 * volume when they run on several hosts), so a partition group can move between instances on rebalance.
 */
export class FileCheckpointStore implements CheckpointStore {
  /** Inode of each file as this instance last read or wrote it: another inode means another writer renamed over it. */
  private readonly seen = new Map<string, number>();

  constructor(private readonly dir: string) {}

  private file(stage: string, group: number): string {
    return path.join(this.dir, stage, `group-${group}.json`);
  }

  async get<S>(stage: string, group: number): Promise<Checkpoint<S> | null> {
    const file = this.file(stage, group);
    try {
      const fh = await fs.promises.open(file, 'r');
      try {
        this.seen.set(file, (await fh.stat()).ino);
        return JSON.parse(await fh.readFile('utf8')) as Checkpoint<S>;
      } finally {
        await fh.close();
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  async put<S>(stage: string, group: number, cp: Checkpoint<S>, ctx?: CheckpointContext): Promise<void | 'superseded'> {
    const text = JSON.stringify(cp); // before the first await: the state moves on meanwhile
    await ctx?.after;
    const target = this.file(stage, group);
    const dir = path.dirname(target);
    await fs.promises.mkdir(dir, { recursive: true });
    // Unique temp name: a zombie instance writing the same group must not interleave bytes with us.
    const tmp = `${target}.${process.pid}.${Date.now()}.${Math.random().toString(36).slice(2)}.tmp`;
    const fh = await fs.promises.open(tmp, 'w');
    let ino: number;
    try {
      await fh.writeFile(text);
      await fh.sync();
      ino = (await fh.stat()).ino; // the rename keeps the inode: the target's once it is in place
    } finally {
      await fh.close();
    }
    if (await this.supersededBy(target, cp.offsets)) {
      await fs.promises.rm(tmp, { force: true });
      return 'superseded';
    }
    await fs.promises.rename(tmp, target);
    this.seen.set(target, ino);
    const dh = await fs.promises.open(dir, 'r');
    try {
      await dh.sync();
    } finally {
      await dh.close();
    }
  }

  /**
   * True when another writer replaced the file since this instance last read or wrote it and that checkpoint is at or
   * past every offset of ours: an old owner (revoked behind a long batch, or dropped from the group before it noticed)
   * must not put its older checkpoint over the new owner's, which would not write again without new input. One stat
   * per put; the file is read only after it changed hands. Two writers racing within the rename itself are not
   * excluded, and either result is a consistent checkpoint (state and offsets written together).
   */
  private async supersededBy(target: string, ours: Record<string, string>): Promise<boolean> {
    let ino: number;
    try {
      ino = (await fs.promises.stat(target)).ino;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
    if (this.seen.get(target) === ino) return false;
    let theirs: Record<string, string>;
    try {
      theirs = (JSON.parse(await fs.promises.readFile(target, 'utf8')) as Checkpoint).offsets;
    } catch {
      return false; // unreadable: ours replaces it
    }
    return Object.entries(ours).every(([k, v]) => theirs[k] !== undefined && BigInt(theirs[k]) >= BigInt(v));
  }

  async delete(stage: string, group: number): Promise<void> {
    const file = this.file(stage, group);
    await fs.promises.rm(file, { force: true });
    this.seen.delete(file);
  }
}

/** In-memory store for unit tests and single-process runs that accept losing state on exit. */
export class MemoryCheckpointStore implements CheckpointStore {
  private readonly data = new Map<string, string>();
  get<S>(stage: string, group: number): Promise<Checkpoint<S> | null> {
    const v = this.data.get(`${stage}/${group}`);
    return Promise.resolve(v === undefined ? null : (JSON.parse(v) as Checkpoint<S>));
  }
  async put<S>(stage: string, group: number, cp: Checkpoint<S>, ctx?: CheckpointContext): Promise<void> {
    const text = JSON.stringify(cp); // before the first await: the state moves on meanwhile
    await ctx?.after;
    this.data.set(`${stage}/${group}`, text);
  }
  delete(stage: string, group: number): Promise<void> {
    this.data.delete(`${stage}/${group}`);
    return Promise.resolve();
  }
}
