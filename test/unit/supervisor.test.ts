/**
 * The supervisor of `npm start` with real child processes (no services needed): a crash-looping child is started
 * again with doubling delays up to the cap, a child killed with SIGKILL comes back, and stop() ends everything and
 * cancels a pending restart.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { backoffMs, DEFAULT_RESTART, Supervisor, type ExitInfo } from '../../scripts/start/supervisor';

jest.setTimeout(60_000);

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function until(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('restart backoff', () => {
  it('doubles from the initial delay and stops at the cap', () => {
    expect([0, 1, 2, 3, 4, 5, 6].map((n) => backoffMs(DEFAULT_RESTART, n))).toEqual([1000, 2000, 4000, 8000, 16_000, 30_000, 30_000]);
    expect(backoffMs(DEFAULT_RESTART, 1e6)).toBe(30_000);
  });
});

describe('Supervisor (real child processes)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ls-supervisor-'));
  const crash = path.join(dir, 'crash.ts');
  const serve = path.join(dir, 'serve.ts');
  fs.writeFileSync(crash, 'process.exit(3);\n');
  // Runs until SIGTERM, then exits 0 (like a stage that drains and commits).
  fs.writeFileSync(serve, "setInterval(() => undefined, 1000);\nprocess.on('SIGTERM', () => process.exit(0));\n");
  const supervisors: Supervisor[] = [];
  afterEach(async () => {
    for (const s of supervisors.splice(0)) await s.stop();
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('restarts a crash-looping child with doubling delays up to the cap, and stop() cancels the pending restart', async () => {
    const exits: (ExitInfo & { at: number })[] = [];
    const starts: number[] = [];
    const sup = new Supervisor({
      restart: { initialMs: 200, maxMs: 800, resetAfterMs: 60_000 },
      onStart: () => starts.push(Date.now()),
      onUnexpectedExit: (x) => exits.push({ ...x, at: Date.now() }),
    });
    supervisors.push(sup);
    sup.start('crash', [crash]);
    await until(() => exits.length >= 5, 30_000, 'five crashes');
    await sup.stop();
    const n = starts.length;
    expect(exits.slice(0, 5).map((e) => e.restartInMs)).toEqual([200, 400, 800, 800, 800]);
    expect(exits.slice(0, 5).map((e) => e.code)).toEqual([3, 3, 3, 3, 3]);
    // The real gap between a crash and the next start is at least the announced delay.
    for (let i = 0; i < 4; i++) expect(starts[i + 1] - exits[i].at).toBeGreaterThanOrEqual(exits[i].restartInMs - 5);
    await new Promise((r) => setTimeout(r, 1000));
    expect(starts.length).toBe(n); // nothing started after stop()
  });

  it('brings a child killed with SIGKILL back under a new pid; stop() ends it with SIGTERM', async () => {
    const exits: ExitInfo[] = [];
    const sup = new Supervisor({ restart: { initialMs: 100 }, onUnexpectedExit: (x) => exits.push(x) });
    supervisors.push(sup);
    sup.start('serve', [serve]);
    await until(() => sup.pid('serve') !== undefined, 5000, 'first pid');
    const first = sup.pid('serve')!;
    await new Promise((r) => setTimeout(r, 500)); // let tsx load, so the kill hits a running program
    process.kill(first, 'SIGKILL');
    await until(() => sup.pid('serve') !== undefined && sup.pid('serve') !== first, 10_000, 'restart');
    const second = sup.pid('serve')!;
    expect(exits).toHaveLength(1);
    expect(exits[0]).toMatchObject({ name: 'serve', pid: first, signal: 'SIGKILL', restartInMs: 100, restart: 1 });
    expect(alive(first)).toBe(false);
    expect(alive(second)).toBe(true);
    await new Promise((r) => setTimeout(r, 500));
    await sup.stop();
    await sup.stop(); // twice is fine
    expect(alive(second)).toBe(false);
    expect(exits).toHaveLength(1); // the stop was no crash
  });
});
