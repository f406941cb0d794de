import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Logger } from '../lib/log';
import type { ServingStore } from '../serving/types';

/**
 * Detection of a lost serving view (issue 17, item 4; design in docs/architecture.md, "Rebuilding the serving view").
 *
 * `<prefix>epoch` holds a random id, set `SET NX` by the first stage that finds it missing. Each stage remembers the
 * id its Redis writes went to, in memory and in `<stateDir>/<stage>/serving-epoch` (written once a rewrite is done),
 * and compares it at start, every `intervalMs` and when the store's connection is ready again: a missing key or another
 * id means what the stage wrote is gone, and its `rewrite` runs (from the stage's own state). A stage whose state dir
 * has no epoch file yet (first start, or a checkpoint from before this existed) rewrites once too: cheap when its
 * state is empty.
 *
 * A Redis restored from an *older* copy keeps the same id. For that, each stage instance also keeps a write
 * generation: at every check that finds the view intact it writes generation g+1 to `<prefix>epoch:gen:<stage>:<id>`
 * (`<id>` = a random instance id kept in the same file) and only then g+1 to its file. Redis applies (and its AOF
 * keeps) one connection's commands in order, so generation g in Redis means every write this instance made before
 * mark g is there. A Redis holding a lower generation than the file (or none) lost writes this instance made: it was
 * restored from an older copy, or lost its AOF's last second in a crash; the stage rewrites. Blind spot: a copy taken
 * less than one interval before the restore (no mark between), and a new instance (empty state dir), which rewrites
 * once anyway.
 */
export interface EpochStore {
  readEpoch(): Promise<string | null>;
  claimEpoch(candidate: string): Promise<string>;
  /** Optional: called back when the store's connection is ready again (a restarted Redis is checked at once). */
  onReconnect?(listener: () => void): void;
  /** Optional: forgets numbers cached for the lost view (the list dictionary) before the rewrite writes anew. */
  resetDictionary?(): void;
  /** Optional (older-copy detection): a writer's generation mark, null when missing. */
  readMark?(name: string): Promise<number | null>;
  writeMark?(name: string, generation: number): Promise<void>;
}

export function hasEpoch(store: ServingStore): store is ServingStore & EpochStore {
  const s = store as Partial<EpochStore>;
  return typeof s.readEpoch === 'function' && typeof s.claimEpoch === 'function';
}

/** Why a rewrite ran, as a metric label: epoch key missing, another id, none recorded here, store behind this instance. */
export type RebuildCause = 'missing' | 'changed' | 'unrecorded' | 'behind';

export interface ServingEpochOptions {
  store: EpochStore;
  /** `learner` | `catalog`: the epoch file is `<stateDir>/<stage>/serving-epoch`. */
  stage: string;
  stateDir: string;
  logger: Logger;
  /** Rewrites every key the stage owns from its own state; resolves when done. */
  rewrite: (reason: string) => Promise<void>;
  /** Default 5000. */
  intervalMs?: number;
  /** Told when a rewrite starts (with its reason) and ends: metrics and /readyz. */
  onRewrite?: (event: { stage: string; phase: 'start' | 'end'; cause: RebuildCause; reason: string; ok?: boolean }) => void;
}

/** What `<stateDir>/<stage>/serving-epoch` holds: line 1 the epoch id, line 2 `<instance id> <generation>`. */
interface EpochFile {
  epoch: string | null;
  instance: string | null;
  generation: number;
}

function readEpochFile(file: string): EpochFile {
  let text = '';
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    /* none yet */
  }
  const [epoch, mark] = text.split('\n');
  const [instance, gen] = (mark ?? '').trim().split(' ');
  const generation = Number(gen);
  return {
    epoch: epoch?.trim() || null,
    instance: instance || null,
    generation: Number.isSafeInteger(generation) && generation > 0 ? generation : 0,
  };
}

export class ServingEpoch {
  private known: string | null;
  private readonly instance: string;
  /** The last generation this instance wrote to the store and then to its file (0 = none yet). */
  private generation: number;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  /** Rewrites started since this process began (tests and /readyz reasons). */
  rewrites = 0;
  /** True while a rewrite runs; `rebuildReason` says why. */
  rebuilding = false;
  rebuildReason = '';
  /** Why the last rewrite ran (tests; the metric carries it as a label). */
  lastCause: RebuildCause | null = null;
  private readonly file: string;

  constructor(private readonly o: ServingEpochOptions) {
    this.file = path.join(o.stateDir, o.stage, 'serving-epoch');
    const f = readEpochFile(this.file);
    this.known = f.epoch;
    this.instance = f.instance ?? randomUUID();
    this.generation = f.generation;
  }

  get stage(): string {
    return this.o.stage;
  }

  /** The store key suffix of this instance's generation mark. */
  get markName(): string {
    return `${this.o.stage}:${this.instance}`;
  }

  /** First check now (the caller starts it after the stage restored its state), then every intervalMs. */
  start(): void {
    void this.check();
    this.timer = setInterval(() => void this.check(), this.o.intervalMs ?? 5000);
    this.timer.unref();
    this.o.store.onReconnect?.(() => {
      if (!this.stopped) void this.check();
    });
  }

  /** One comparison; a rewrite already running is awaited, not doubled. */
  check(): Promise<void> {
    this.running ??= this.doCheck().finally(() => (this.running = null));
    return this.running;
  }

  private async doCheck(): Promise<void> {
    if (this.stopped) return;
    const { store } = this.o;
    const marks = store.readMark !== undefined && store.writeMark !== undefined;
    let current: string | null;
    let mark: number | null = null;
    try {
      current = await store.readEpoch();
      if (marks) mark = await store.readMark!(this.markName);
    } catch {
      return; // Redis down: the next check after it is back decides
    }
    let reason: string;
    let cause: RebuildCause;
    if (current !== null && current === this.known) {
      if (!marks || this.generation === 0 || (mark !== null && mark >= this.generation)) {
        await this.advance();
        return;
      }
      cause = 'behind';
      reason = `serving store behind this stage's writes (generation ${mark ?? 'missing'} < ${this.generation}: restored from an older copy, or writes lost)`;
    } else {
      cause = current === null ? 'missing' : this.known === null ? 'unrecorded' : 'changed';
      reason =
        current === null
          ? 'epoch key missing (serving store empty or replaced)'
          : this.known === null
            ? 'no epoch recorded by this stage'
            : `epoch changed (${this.known} → ${current})`;
    }
    try {
      current ??= await store.claimEpoch(randomUUID());
    } catch {
      return;
    }
    this.rewrites++;
    this.lastCause = cause;
    this.rebuilding = true;
    this.rebuildReason = reason;
    store.resetDictionary?.();
    this.o.logger.warn('serving view lost: rewriting what this stage owns', { stage: this.o.stage, reason, epoch: current });
    this.o.onRewrite?.({ stage: this.o.stage, phase: 'start', cause, reason });
    let ok = false;
    try {
      await this.o.rewrite(reason);
      this.known = current;
      ok = true;
      this.save();
      await this.advance();
    } catch (err) {
      this.o.logger.warn('serving view rewrite failed; retried at the next check', { stage: this.o.stage, err });
    } finally {
      this.rebuilding = false;
      this.rebuildReason = '';
      this.o.onRewrite?.({ stage: this.o.stage, phase: 'end', cause, reason, ok });
    }
  }

  /** Marks generation g+1 in the store, then in the file (that order: a crash between leaves the file behind, which is safe). */
  private async advance(): Promise<void> {
    const { store } = this.o;
    if (store.writeMark === undefined || this.known === null) return;
    const next = this.generation + 1;
    try {
      await store.writeMark(this.markName, next);
    } catch {
      return;
    }
    this.generation = next;
    this.save();
  }

  private save(): void {
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    const tmp = `${this.file}.tmp`;
    fs.writeFileSync(tmp, `${this.known ?? ''}\n${this.instance} ${this.generation}\n`);
    fs.renameSync(tmp, this.file);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }
}
