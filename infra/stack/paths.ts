import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Config } from '../../lib/config';

/** The repository root: relative dataDir values are resolved against it, not against the caller's cwd. */
export const REPO_ROOT = path.resolve(__dirname, '..', '..');

export interface StackPaths {
  /** Absolute data dir: data, logs, pid files (ignored by git). */
  data: string;
  logs: string;
  pids: string;
  /** Absolute download cache shared by every checkout on the machine. */
  cache: string;
}

export function stackPaths(config: Config): StackPaths {
  const data = path.resolve(REPO_ROOT, config.dataDir);
  return { data, logs: path.join(data, 'logs'), pids: path.join(data, 'pids'), cache: path.resolve(REPO_ROOT, config.cacheDir) };
}

export function ensureDir(dir: string): string {
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}
