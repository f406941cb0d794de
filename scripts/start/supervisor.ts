import { spawn, type ChildProcess } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { backoffMs, DEFAULT_RESTART, type RestartPolicy } from './backoff';

export { backoffMs, DEFAULT_RESTART, type RestartPolicy } from './backoff';

/** tsx's loader, by URL: children load TypeScript in-process, whatever their working directory. */
const TSX = pathToFileURL(require.resolve('tsx')).href;

/** One supervised process: its command, and the OS process that currently runs it (null while waiting to restart). */
interface Child {
  name: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  proc: ChildProcess | null;
  exited: Promise<void>;
  startedAt: number;
  /** Crashes since the child last ran longer than `policy.resetAfterMs`; the next delay grows with it. */
  failures: number;
  restarts: number;
  timer: NodeJS.Timeout | null;
}

export interface ExitInfo {
  name: string;
  pid: number | undefined;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** How long that process ran, ms. */
  ranMs: number;
  /** When it will be started again, ms from now. */
  restartInMs: number;
  /** Restarts of this child so far, this one included. */
  restart: number;
}

export interface SupervisorOptions {
  /** SIGTERM grace before SIGKILL on stop, ms. Default 10,000. */
  graceMs?: number;
  /** Restart backoff; see RestartPolicy. */
  restart?: Partial<RestartPolicy>;
  /** A child process started (first start or restart). */
  onStart?: (name: string, pid: number | undefined, restart: number) => void;
  /** A child exited without being asked to; it will be restarted after `restartInMs`. */
  onUnexpectedExit?: (info: ExitInfo) => void;
}

/**
 * Starts, restarts and stops the processes of `npm start`. A child that exits without being asked to (crash, kill -9,
 * exit 0 alike: none of them is meant to end on its own) is started again after an exponential backoff, so one bad
 * stage never takes the API or the services down with it. Only stop() ends them: SIGTERM first (they drain and
 * commit), SIGKILL after `graceMs`; stop() is safe to call twice.
 */
export class Supervisor {
  private readonly children: Child[] = [];
  private stopping: Promise<void> | undefined;
  private readonly policy: RestartPolicy;

  constructor(private readonly opts: SupervisorOptions = {}) {
    this.policy = { ...DEFAULT_RESTART, ...opts.restart };
  }

  /**
   * Runs `node --import tsx <args>` as child `name`, restarting it whenever it exits until stop(). One OS process per
   * child, not the `tsx` CLI (which runs the program in a grandchild): a kill -9 of the pid we report, or of ours,
   * must end the program itself and not orphan it holding the child's port.
   */
  start(name: string, args: string[], env: NodeJS.ProcessEnv = {}): void {
    const child: Child = { name, args, env, proc: null, exited: Promise.resolve(), startedAt: 0, failures: 0, restarts: 0, timer: null };
    this.children.push(child);
    this.spawn(child);
  }

  /** The pid now running child `name` (undefined while it waits for a restart). */
  pid(name: string): number | undefined {
    return this.children.find((c) => c.name === name)?.proc?.pid;
  }

  stop(): Promise<void> {
    this.stopping ??= this.stopAll();
    return this.stopping;
  }

  private spawn(child: Child): void {
    child.timer = null;
    const proc = spawn(process.execPath, ['--import', TSX, ...child.args], {
      env: { ...process.env, ...child.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const prefix = (chunk: Buffer) =>
      chunk
        .toString()
        .split('\n')
        .filter((l) => l.length > 0)
        .map((l) => `[${child.name}] ${l}\n`)
        .join('');
    proc.stdout?.on('data', (c: Buffer) => process.stdout.write(prefix(c)));
    proc.stderr?.on('data', (c: Buffer) => process.stderr.write(prefix(c)));
    child.proc = proc;
    child.startedAt = Date.now();
    // 'exit', not 'close': a grandchild that inherited the pipes would hold 'close' back and the restart with it.
    // A failed spawn (ENOENT) emits 'error' without 'exit': treated as an exit.
    child.exited = new Promise<void>((resolve) => {
      let done = false;
      const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
        if (done) return;
        done = true;
        child.proc = null;
        resolve();
        if (!this.stopping) this.scheduleRestart(child, proc.pid, code, signal);
      };
      proc.once('exit', onExit);
      proc.once('error', () => onExit(null, null));
    });
    this.opts.onStart?.(child.name, proc.pid, child.restarts);
  }

  private scheduleRestart(child: Child, pid: number | undefined, code: number | null, signal: NodeJS.Signals | null): void {
    const ranMs = Date.now() - child.startedAt;
    // A child that ran for a good while before dying is not crash-looping: start again from the first delay.
    if (ranMs >= this.policy.resetAfterMs) child.failures = 0;
    const delay = backoffMs(this.policy, child.failures);
    child.failures++;
    child.restarts++;
    this.opts.onUnexpectedExit?.({ name: child.name, pid, code, signal, ranMs, restartInMs: delay, restart: child.restarts });
    child.timer = setTimeout(() => {
      if (!this.stopping) this.spawn(child);
    }, delay);
  }

  private async stopAll(): Promise<void> {
    const grace = this.opts.graceMs ?? 10_000;
    for (const child of this.children) {
      if (child.timer) clearTimeout(child.timer);
      child.timer = null;
    }
    // Reverse order: the demo source first, the pipeline last, so in-flight events are still processed.
    for (const child of [...this.children].reverse()) {
      const proc = child.proc;
      if (!proc || proc.exitCode !== null || proc.signalCode !== null) continue;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), grace);
      await child.exited;
      clearTimeout(timer);
    }
  }
}
