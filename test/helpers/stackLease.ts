import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Config } from '../../lib/config';
import { stackDown, stackPaths, stackUp, withStackLock, type ServiceName, type StackUpResult } from '../../infra/stack/index';
import { isAlive } from '../../infra/stack/process';

/**
 * Several test runs may share one checkout's stack (engineers run suites in parallel). Each run holds a lease (a file
 * named by its pid); the stack is stopped by the last run to finish, and only if a test run started it. A stack that
 * was running before any test started (npm run stack:up) is never stopped by tests.
 */
function leaseDir(config: Config): string {
  return path.join(stackPaths(config).data, 'test-leases');
}

function ownedFile(config: Config): string {
  return path.join(stackPaths(config).data, 'test-owned.json');
}

function liveLeases(config: Config): number[] {
  const dir = leaseDir(config);
  if (!fs.existsSync(dir)) return [];
  const live: number[] = [];
  for (const name of fs.readdirSync(dir)) {
    const pid = Number(name);
    if (pid && isAlive(pid)) live.push(pid);
    else fs.rmSync(path.join(dir, name), { force: true });
  }
  return live;
}

function readOwned(config: Config): ServiceName[] {
  try {
    return JSON.parse(fs.readFileSync(ownedFile(config), 'utf8')) as ServiceName[];
  } catch {
    return [];
  }
}

export async function acquireStack(config: Config, log: (msg: string) => void): Promise<StackUpResult> {
  const data = stackPaths(config).data;
  return withStackLock(data, async () => {
    fs.mkdirSync(leaseDir(config), { recursive: true });
    fs.writeFileSync(path.join(leaseDir(config), String(process.pid)), new Date().toISOString());
    const res = await stackUp(config, { log, reuseReachable: true });
    if (res.started.length > 0) {
      const owned = new Set([...readOwned(config), ...res.started]);
      fs.writeFileSync(ownedFile(config), JSON.stringify([...owned]));
    }
    return res;
  });
}

export async function releaseStack(config: Config, log: (msg: string) => void): Promise<ServiceName[]> {
  const data = stackPaths(config).data;
  return withStackLock(data, async () => {
    fs.rmSync(path.join(leaseDir(config), String(process.pid)), { force: true });
    const owned = readOwned(config);
    if (owned.length === 0) return [];
    const others = liveLeases(config).filter((pid) => pid !== process.pid);
    if (others.length > 0) {
      log(`leaving the stack running for ${others.length} other test run(s)`);
      return [];
    }
    await stackDown(config, { services: owned, log });
    fs.rmSync(ownedFile(config), { force: true });
    return owned;
  });
}
