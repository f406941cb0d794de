import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ensureDir } from './paths';
import { sleep } from './ports';

/**
 * What we remember about a process we started. `marker` is a string that must appear in /proc/<pid>/cmdline: after a
 * reboot or a crash the pid may belong to someone else, and we never signal a process that is not ours.
 */
export interface PidRecord {
  service: string;
  pid: number;
  port: number;
  marker: string;
  startedAt: string;
}

export function pidFile(pidDir: string, service: string): string {
  return path.join(pidDir, `${service}.json`);
}

export function readPid(pidDir: string, service: string): PidRecord | undefined {
  try {
    return JSON.parse(fs.readFileSync(pidFile(pidDir, service), 'utf8')) as PidRecord;
  } catch {
    return undefined;
  }
}

export function writePid(pidDir: string, record: PidRecord): void {
  ensureDir(pidDir);
  fs.writeFileSync(pidFile(pidDir, record.service), JSON.stringify(record, null, 2) + '\n');
}

export function removePid(pidDir: string, service: string): void {
  fs.rmSync(pidFile(pidDir, service), { force: true });
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A zombie still answers kill(0); it is not running.
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return true;
  }
}

function cmdline(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

/** The live process of a pid record, if it is still ours; otherwise the stale record is removed. */
export function ourProcess(pidDir: string, service: string): PidRecord | undefined {
  const rec = readPid(pidDir, service);
  if (!rec) return undefined;
  if (isAlive(rec.pid) && cmdline(rec.pid).includes(rec.marker)) return rec;
  removePid(pidDir, service);
  return undefined;
}

/**
 * Starts a process detached from us (own process group, output to `logFile`), so it outlives `npm run stack:up`.
 * Returns its pid after the spawn succeeded.
 */
export async function spawnDetached(
  cmd: string,
  args: string[],
  opts: { logFile: string; cwd?: string; env?: NodeJS.ProcessEnv },
): Promise<number> {
  ensureDir(path.dirname(opts.logFile));
  const out = fs.openSync(opts.logFile, 'a');
  try {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, detached: true, stdio: ['ignore', out, out] });
    const pid = await new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      child.once('spawn', () => resolve(child.pid!));
    });
    child.unref();
    return pid;
  } finally {
    fs.closeSync(out);
  }
}

/** SIGTERM, wait up to `graceMs` for a clean exit (Kafka flushes and closes its logs), then SIGKILL. */
export async function stopProcess(pid: number, graceMs: number): Promise<'stopped' | 'killed'> {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return 'stopped';
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return 'stopped';
    await sleep(100);
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
  for (let i = 0; i < 50 && isAlive(pid); i++) await sleep(100);
  return 'killed';
}
