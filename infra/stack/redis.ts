import * as net from 'node:net';
import * as path from 'node:path';
import { createRedis } from '../../lib/redis/client';
import { ensureDir } from './paths';
import { halt, probeStatus, type LaunchSpec, type ServiceStatus, type StackContext } from './service';
import { ensureDebianPackage, which } from './tools';

/** PING over a raw socket: no client library, no reconnect loop, just "is a Redis there". */
export function redisPing(port: number, host = '127.0.0.1', timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    let buf = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (d: Buffer) => {
      buf += d.toString();
      if (buf.includes('\r\n')) done(buf.startsWith('+PONG'));
    });
    socket.once('error', () => done(false));
  });
}

/** The server version, asked with the real client (TLS, password) so external servers are probed as the app sees them. */
async function clientVersion(ctx: StackContext, url: string): Promise<string> {
  const config = { ...ctx.config, redis: { ...ctx.config.redis, url } };
  const client = createRedis(config, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0, connectTimeout: 2000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const info = await client.info('server');
    return /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';
  } finally {
    client.disconnect();
  }
}

/** How to run our Redis; undefined when the config points at an existing one. */
export function redisSpec(ctx: StackContext): LaunchSpec | undefined {
  if (!ctx.config.redis.managed) return undefined;
  const port = ctx.config.stack.redisPort;
  const home = path.join(ctx.paths.data, 'redis');
  return {
    service: 'redis',
    port,
    // redis-server rewrites its process title to "<argv0> <bind>:<port>".
    marker: `127.0.0.1:${port}`,
    graceMs: 5000,
    prepare: async () => {
      await ensureDebianPackage('redis-server', 'redis-server', ctx.log);
      ensureDir(home);
    },
    command: () => ({
      cmd: which('redis-server') ?? 'redis-server',
      args: [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        // Redis holds derived data, but not all of it is rewritten by itself: without persistence a restart served
        // every learner `popular` until their next event and lost catalogue entries and similar-items lists for good
        // (issue 17, item 4). An append-only file, fsynced once a second, brings it back as it was up to the last
        // second; no RDB snapshots besides (the AOF rewrite keeps the file compact with an RDB preamble).
        '--save',
        '',
        '--appendonly',
        'yes',
        '--appendfsync',
        'everysec',
        '--appenddirname',
        'appendonly',
        '--dir',
        home,
        '--daemonize',
        'no',
        // Bounded, and loud when full (writes fail) rather than silently evicting lists.
        '--maxmemory',
        '1gb',
        '--maxmemory-policy',
        'noeviction',
      ],
      cwd: home,
    }),
    ready: () => redisPing(port),
  };
}

export async function redisDown(ctx: StackContext): Promise<string> {
  return halt(ctx, 'redis', 5000);
}

export async function redisStatus(ctx: StackContext): Promise<ServiceStatus> {
  const managed = ctx.config.redis.managed;
  const url = managed ? `redis://127.0.0.1:${ctx.config.stack.redisPort}` : ctx.config.redis.url;
  let version: string | undefined;
  const status = await probeStatus(ctx, 'redis', managed, ctx.config.stack.redisPort, async () => {
    version = await clientVersion(ctx, url);
    return true;
  });
  return { ...status, detail: `${version ? `Redis ${version}, ` : ''}${url.replace(/\/\/([^@]*)@/, '//***@')}` };
}
