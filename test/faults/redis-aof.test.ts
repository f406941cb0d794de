/**
 * The local Redis keeps the serving view across a crash (issue 17, item 4): a private Redis started by the stack code
 * (own data dir and port, so the shared one is untouched) runs with an append-only file fsynced every second; after
 * kill -9 and a fresh start on the same data dir, every key written more than a second before the kill is there.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { stackDown, stackPaths, stackUp } from '../../infra/stack/index';
import { readPid } from '../../infra/stack/process';
import { createRedis } from '../../lib/redis/client';
import { freePort, testConfig, waitFor } from '../helpers';

jest.setTimeout(120_000);

describe('local Redis persistence (private redis-server, kill -9)', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ls-redis-aof-'));
  let config: ReturnType<typeof testConfig> | undefined;
  afterAll(async () => {
    if (config) await stackDown(config, { services: ['redis'] }).catch(() => undefined);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('runs with appendonly yes / appendfsync everysec and keeps every key written 1 s before a kill -9', async () => {
    const redisPort = await freePort();
    config = testConfig('aof', {
      dataDir,
      stack: { redisPort },
      redis: { url: `redis://127.0.0.1:${redisPort}`, managed: true },
      kafka: { managed: false },
      registry: { managed: false },
    });
    const up = await stackUp(config);
    expect(up.started).toEqual(['redis']);
    const client = () => {
      const c = createRedis(config!, { maxRetriesPerRequest: 0, retryStrategy: () => null });
      c.on('error', () => undefined);
      return c;
    };
    let redis = client();
    expect(await redis.config('GET', 'appendonly')).toEqual(['appendonly', 'yes']);
    expect(await redis.config('GET', 'appendfsync')).toEqual(['appendfsync', 'everysec']);
    expect(await redis.config('GET', 'save')).toEqual(['save', '']);

    const n = 20_000;
    const t0 = Date.now();
    const pipe = redis.pipeline();
    for (let i = 0; i < n; i++) pipe.set(`ls:aof:list:${i}`, `value-${i}`);
    pipe.zadd('ls:aof:popular', 3, 'r-1', 2, 'r-2');
    await pipe.exec();
    process.stdout.write(`wrote ${n + 1} keys in ${Date.now() - t0} ms\n`);
    // everysec: what was written more than a second ago is on disk.
    await new Promise((r) => setTimeout(r, 1500));
    redis.disconnect();

    const pid = readPid(stackPaths(config).pids, 'redis')!.pid;
    process.kill(pid, 'SIGKILL');
    await waitFor(
      () => {
        try {
          process.kill(pid, 0);
          return false;
        } catch {
          return true;
        }
      },
      { timeoutMs: 10_000, message: 'redis gone' },
    );
    const t1 = Date.now();
    const again = await stackUp(config);
    expect(again.started).toEqual(['redis']);
    redis = client();
    await waitFor(async () => (await redis.dbsize()) > 0, { timeoutMs: 30_000, message: 'redis loaded its AOF' });
    process.stdout.write(`restarted and loaded in ${Date.now() - t1} ms\n`);
    expect(await redis.dbsize()).toBe(n + 1);
    expect(await redis.get(`ls:aof:list:${n - 1}`)).toBe(`value-${n - 1}`);
    expect(await redis.zrevrange('ls:aof:popular', 0, -1)).toEqual(['r-1', 'r-2']);
    expect(fs.readdirSync(path.join(dataDir, 'redis', 'appendonly')).some((f) => f.endsWith('.aof'))).toBe(true);
    redis.disconnect();
  });
});
