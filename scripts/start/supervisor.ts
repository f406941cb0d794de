import { spawn, type ChildProcess } from 'node:child_process';

/** A child process we started, with its output prefixed so one terminal shows every stage. */
interface Child {
  name: string;
  proc: ChildProcess;
  exited: Promise<number | null>;
}

/**
 * Starts and stops the processes of `npm start`. Children get SIGTERM first (they drain and commit), SIGKILL after
 * `graceMs`; stop() is safe to call twice.
 */
export class Supervisor {
  private readonly children: Child[] = [];
  private stopping: Promise<void> | undefined;

  constructor(private readonly opts: { graceMs?: number; onUnexpectedExit?: (name: string, code: number | null) => void } = {}) {}

  start(name: string, args: string[], env: NodeJS.ProcessEnv = {}): void {
    const proc = spawn(process.execPath, [require.resolve('tsx/cli'), ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const prefix = (chunk: Buffer) =>
      chunk
        .toString()
        .split('\n')
        .filter((l) => l.length > 0)
        .map((l) => `[${name}] ${l}\n`)
        .join('');
    proc.stdout?.on('data', (c: Buffer) => process.stdout.write(prefix(c)));
    proc.stderr?.on('data', (c: Buffer) => process.stderr.write(prefix(c)));
    const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
    exited
      .then((code) => {
        if (!this.stopping) this.opts.onUnexpectedExit?.(name, code);
      })
      .catch(() => undefined);
    this.children.push({ name, proc, exited });
  }

  stop(): Promise<void> {
    this.stopping ??= this.stopAll();
    return this.stopping;
  }

  private async stopAll(): Promise<void> {
    const grace = this.opts.graceMs ?? 10_000;
    // Reverse order: the demo source first, the pipeline last, so in-flight events are still processed.
    for (const child of [...this.children].reverse()) {
      if (child.proc.exitCode !== null || child.proc.signalCode !== null) continue;
      child.proc.kill('SIGTERM');
      const timer = setTimeout(() => child.proc.kill('SIGKILL'), grace);
      await child.exited;
      clearTimeout(timer);
    }
  }
}
