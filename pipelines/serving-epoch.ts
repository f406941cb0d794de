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
 * Not detected (yet): a Redis restored from an *older* copy that kept the same id (the design's per-group
 * watermarks).
 */
export interface EpochStore {
  readEpoch(): Promise<string | null>;
  claimEpoch(candidate: string): Promise<string>;
  /** Optional: called back when the store's connection is ready again (a restarted Redis is checked at once). */
  onReconnect?(listener: () => void): void;
  /** Optional: forgets numbers cached for the lost view (the list dictionary) before the rewrite writes anew. */
  resetDictionary?(): void;
}

export function hasEpoch(store: ServingStore): store is ServingStore & EpochStore {
  const s = store as Partial<EpochStore>;
  return typeof s.readEpoch === 'function' && typeof s.claimEpoch === 'function';
}

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
}

export class ServingEpoch {
  private known: string | null;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  /** Rewrites started since this process began (tests and /readyz reasons). */
  rewrites = 0;
  /** True while a rewrite runs. */
  rebuilding = false;
  private readonly file: string;

  constructor(private readonly o: ServingEpochOptions) {
    this.file = path.join(o.stateDir, o.stage, 'serving-epoch');
    try {
      this.known = fs.readFileSync(this.file, 'utf8').trim() || null;
    } catch {
      this.known = null;
    }
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
    let current: string | null;
    try {
      current = await this.o.store.readEpoch();
    } catch {
      return; // Redis down: the next check after it is back decides
    }
    if (current !== null && current === this.known) return;
    const reason = current === null ? 'epoch key missing (serving store empty or replaced)' : this.known === null ? 'no epoch recorded by this stage' : `epoch changed (${this.known} → ${current})`;
    try {
      current ??= await this.o.store.claimEpoch(randomUUID());
    } catch {
      return;
    }
    this.rewrites++;
    this.rebuilding = true;
    this.o.store.resetDictionary?.();
    this.o.logger.warn('serving view lost: rewriting what this stage owns', { stage: this.o.stage, reason, epoch: current });
    try {
      await this.o.rewrite(reason);
      this.known = current;
      fs.mkdirSync(path.dirname(this.file), { recursive: true });
      fs.writeFileSync(this.file, `${current}\n`);
    } catch (err) {
      this.o.logger.warn('serving view rewrite failed; retried at the next check', { stage: this.o.stage, err });
    } finally {
      this.rebuilding = false;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }
}
