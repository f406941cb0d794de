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
  consumerGroupId: string;
}

/** One narrow store: get / put / delete a checkpoint per (stage, partition group). */
export interface CheckpointStore {
  get<S>(stage: string, group: number): Promise<Checkpoint<S> | null>;
  put<S>(stage: string, group: number, cp: Checkpoint<S>, ctx?: CheckpointContext): Promise<void>;
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
  constructor(private readonly dir: string) {}

  private file(stage: string, group: number): string {
    return path.join(this.dir, stage, `group-${group}.json`);
  }

  async get<S>(stage: string, group: number): Promise<Checkpoint<S> | null> {
    try {
      const text = await fs.promises.readFile(this.file(stage, group), 'utf8');
      return JSON.parse(text) as Checkpoint<S>;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  async put<S>(stage: string, group: number, cp: Checkpoint<S>): Promise<void> {
    const target = this.file(stage, group);
    const dir = path.dirname(target);
    await fs.promises.mkdir(dir, { recursive: true });
    // Unique temp name: a zombie instance writing the same group must not interleave bytes with us.
    const tmp = `${target}.${process.pid}.${Date.now()}.${Math.random().toString(36).slice(2)}.tmp`;
    const fh = await fs.promises.open(tmp, 'w');
    try {
      await fh.writeFile(JSON.stringify(cp));
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fs.promises.rename(tmp, target);
    const dh = await fs.promises.open(dir, 'r');
    try {
      await dh.sync();
    } finally {
      await dh.close();
    }
  }

  async delete(stage: string, group: number): Promise<void> {
    await fs.promises.rm(this.file(stage, group), { force: true });
  }
}

/** In-memory store for unit tests and single-process runs that accept losing state on exit. */
export class MemoryCheckpointStore implements CheckpointStore {
  private readonly data = new Map<string, string>();
  get<S>(stage: string, group: number): Promise<Checkpoint<S> | null> {
    const v = this.data.get(`${stage}/${group}`);
    return Promise.resolve(v === undefined ? null : (JSON.parse(v) as Checkpoint<S>));
  }
  put<S>(stage: string, group: number, cp: Checkpoint<S>): Promise<void> {
    this.data.set(`${stage}/${group}`, JSON.stringify(cp));
    return Promise.resolve();
  }
  delete(stage: string, group: number): Promise<void> {
    this.data.delete(`${stage}/${group}`);
    return Promise.resolve();
  }
}
