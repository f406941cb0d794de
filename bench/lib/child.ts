import { spawn } from 'node:child_process';
import * as path from 'node:path';

/**
 * Runs a bench TypeScript file as its own node process (the tsx loader, the repository as working directory, output
 * straight through) and resolves with its exit code (null if it died of a signal).
 */
export function runTsx(file: string, args: string[]): Promise<number | null> {
  const child = spawn(process.execPath, ['--import', 'tsx', file, ...args], { cwd: path.join(__dirname, '..', '..'), stdio: 'inherit' });
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}
