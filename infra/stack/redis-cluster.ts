/**
 * A local Redis Cluster of `ports.length` masters (no replicas) from the same Debian redis-server binary as the single
 * Redis of the stack: each node `cluster-enabled yes` in its own directory, no persistence (a throwaway cluster for
 * tests and trials), the 16,384 slots split evenly with CLUSTER ADDSLOTSRANGE and the nodes joined with CLUSTER MEET.
 * Ready when every node reports cluster_state:ok and knows every master. Used by
 * test/integration/serving-redis-cluster.test.ts (the serving store's contract on a cluster) and by
 * `npm run stack:redis-cluster` (foreground, Ctrl-C stops it).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Redis } from 'ioredis';
import { redisPing } from './redis';
import { ensureDebianPackage, which } from './tools';

export interface LocalRedisCluster {
  /** host:port of every master (config.redis.clusterNodes / LEARNSTREAM_REDIS_CLUSTER_NODES). */
  nodes: string[];
  /** Stops the nodes this call started and removes their directories; safe to call twice. */
  stop(): Promise<void>;
}

export interface RedisClusterOptions {
  /** One master per port; the cluster bus of each is port + 10000. */
  ports: number[];
  /** Where the node directories go (a fresh temporary directory by default). */
  dir?: string;
  /** Longest wait for the cluster to form, ms. Default 20000. */
  timeoutMs?: number;
  log?: (msg: string) => void;
}

const SLOTS = 16384;

async function until(what: string, deadline: number, check: () => Promise<boolean>): Promise<void> {
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`redis cluster: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function startRedisCluster(opts: RedisClusterOptions): Promise<LocalRedisCluster> {
  const log = opts.log ?? (() => undefined);
  const deadline = Date.now() + (opts.timeoutMs ?? 20_000);
  for (const p of opts.ports) if (await redisPing(p)) throw new Error(`redis cluster: port ${p} is already taken by a Redis`);
  const bin = which('redis-server') ?? (await ensureDebianPackage('redis-server', 'redis-server', log));
  const root = opts.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'ls-redis-cluster-'));
  const children: ChildProcess[] = [];
  const clients: Redis[] = [];
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopped ??= (async () => {
      for (const c of clients) c.disconnect();
      await Promise.all(
        children.map(
          (c) =>
            new Promise<void>((resolve) => {
              if (c.exitCode !== null || c.signalCode !== null) return resolve();
              const kill = setTimeout(() => c.kill('SIGKILL'), 3000);
              c.once('exit', () => {
                clearTimeout(kill);
                resolve();
              });
              c.kill('SIGTERM');
            }),
        ),
      );
      fs.rmSync(root, { recursive: true, force: true });
    })());
  try {
    for (const port of opts.ports) {
      const dir = path.join(root, String(port));
      fs.mkdirSync(dir, { recursive: true });
      const args = [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        path.join(dir, 'nodes.conf'),
        '--cluster-node-timeout',
        '2000',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        dir,
        '--daemonize',
        'no',
      ];
      const child = spawn(bin, args, { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] });
      children.push(child);
    }
    await until('the nodes to answer PING', deadline, async () => (await Promise.all(opts.ports.map((p) => redisPing(p)))).every(Boolean));
    for (const port of opts.ports) clients.push(new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 1 }));
    await Promise.all(clients.map((c) => c.connect()));
    const per = Math.ceil(SLOTS / clients.length);
    await Promise.all(
      clients.map((c, i) => c.call('CLUSTER', 'ADDSLOTSRANGE', String(i * per), String(Math.min(SLOTS, (i + 1) * per) - 1))),
    );
    for (const port of opts.ports.slice(1)) await clients[0].call('CLUSTER', 'MEET', '127.0.0.1', String(port));
    await until('cluster_state:ok on every node', deadline, async () => {
      for (const c of clients) {
        const info = String(await c.call('CLUSTER', 'INFO'));
        if (!info.includes('cluster_state:ok') || !info.includes(`cluster_known_nodes:${clients.length}`)) return false;
      }
      return true;
    });
    log(`redis cluster: ${clients.length} masters on ${opts.ports.join(', ')} (${root})`);
    return { nodes: opts.ports.map((p) => `127.0.0.1:${p}`), stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Ports of the local cluster: three after the stack's Redis port + 500 (each worktree's stack port moves them too). */
export function clusterPorts(redisPort: number, masters = 3): number[] {
  return Array.from({ length: masters }, (_, i) => redisPort + 500 + i);
}
