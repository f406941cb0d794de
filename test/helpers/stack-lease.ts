import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Config } from '../../lib/config';
import { stackDown, stackPaths, stackUp, withStackLock, type ServiceName, type StackUpResult } from '../../infra/stack/index';
import { isAlive, ourProcess } from '../../infra/stack/process';
import { deleteKeys, testKafka, testRedis, testRegistry } from './clients';

/**
 * Several test runs may share one stack: parallel suites of one checkout, and runs from other checkouts (git
 * worktrees, a fresh clone) that reuse a stack already listening on the configured ports. Each run holds a lease (a
 * file named by its pid) in a directory keyed by the services' addresses, not by the checkout, so every run that uses
 * these services sees every other. The stack is stopped by the last run to finish, and only if a test run of this
 * checkout started it. A stack that was running before any test started (npm run stack:up) is never stopped by tests.
 */
function leaseDir(config: Config): string {
  const services = `${config.kafka.brokers.join(',')}|${config.registry.url}|${config.redis.url}`;
  const key = createHash('sha256').update(services).digest('hex').slice(0, 16);
  return path.join(os.tmpdir(), `learnstream-test-leases-${key}`);
}

/** Held while a run takes or drops its lease, so a cleanup never races another run's start (kept out of leaseDir). */
function withLeaseLock<T>(config: Config, fn: () => Promise<T>): Promise<T> {
  return withStackLock(`${leaseDir(config)}.lock`, fn);
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
  return withStackLock(data, () =>
    withLeaseLock(config, async () => {
      fs.mkdirSync(leaseDir(config), { recursive: true });
      fs.writeFileSync(path.join(leaseDir(config), String(process.pid)), new Date().toISOString());
      const res = await stackUp(config, { log, reuseReachable: true });
      if (res.started.length > 0) {
        const owned = new Set([...readOwned(config), ...res.started]);
        fs.writeFileSync(ownedFile(config), JSON.stringify([...owned]));
      }
      return res;
    }),
  );
}

/**
 * Deletes what test runs leave behind: topics, Redis keys and registry subjects under the `t-` prefix of
 * randomPrefix(). Run by the last test run to finish, so a long-lived dev stack does not collect thousands of
 * partitions (which slow every broker restart). Best effort: never fails the teardown.
 */
async function cleanTestLeftovers(config: Config, log: (msg: string) => void): Promise<void> {
  // Only a stack this checkout runs: a shared external cluster may carry test topics of runs that take no lease here
  // (other machines, older checkouts), which might still be in use.
  const pids = stackPaths(config).pids;
  if (!ourProcess(pids, 'kafka') || !ourProcess(pids, 'redis') || !ourProcess(pids, 'registry')) return;
  const prefix = config.kafka.topicPrefix;
  const admin = testKafka(config, 'test-cleanup').admin();
  const redis = testRedis(config);
  redis.on('error', () => undefined);
  try {
    await admin.connect();
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(`${prefix}t-`));
    for (let i = 0; i < topics.length; i += 100) await admin.deleteTopics({ topics: topics.slice(i, i + 100), timeout: 30_000 });
    const keys = await deleteKeys(redis, `${config.redis.keyPrefix}t-`);
    const registry = testRegistry(config);
    const subjects = (await registry.getAllSubjects()).filter((s) => s.startsWith(`${prefix}t-`));
    for (const s of subjects) {
      await registry.deleteSubject(s, false);
      await registry.deleteSubject(s, true).catch(() => undefined);
    }
    if (topics.length + keys + subjects.length > 0)
      log(`removed test leftovers: ${topics.length} topics, ${keys} Redis keys, ${subjects.length} subjects`);
  } catch (err) {
    log(`test cleanup skipped: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    await admin.disconnect().catch(() => undefined);
    redis.disconnect();
  }
}

export async function releaseStack(config: Config, log: (msg: string) => void): Promise<ServiceName[]> {
  const data = stackPaths(config).data;
  return withStackLock(data, () =>
    withLeaseLock(config, async () => {
      fs.rmSync(path.join(leaseDir(config), String(process.pid)), { force: true });
      const others = liveLeases(config).filter((pid) => pid !== process.pid);
      if (others.length === 0) await cleanTestLeftovers(config, log);
      const owned = readOwned(config);
      if (owned.length === 0) return [];
      if (others.length > 0) {
        log(`leaving the stack running for ${others.length} other test run(s)`);
        return [];
      }
      await stackDown(config, { services: owned, log });
      fs.rmSync(ownedFile(config), { force: true });
      return owned;
    }),
  );
}
