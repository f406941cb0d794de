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

async function clientPing(ctx: StackContext): Promise<boolean> {
  const client = createRedis(ctx.config, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0, connectTimeout: 2000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
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
        '--port', String(port),
        '--bind', '127.0.0.1',
        // Redis holds only derived, rebuildable data: no snapshots, no AOF.
        '--save', '',
        '--appendonly', 'no',
        '--dir', home,
        '--daemonize', 'no',
        // Bounded, and loud when full (writes fail) rather than silently evicting lists.
        '--maxmemory', '1gb',
        '--maxmemory-policy', 'noeviction',
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
  if (!managed) {
    // An external Redis may need TLS and a password, so it is probed with the real client.
    const status = await probeStatus(ctx, 'redis', managed, ctx.config.stack.redisPort, () => clientPing(ctx));
    return { ...status, detail: ctx.config.redis.url.replace(/\/\/([^@]*)@/, '//***@') };
  }
  const status = await probeStatus(ctx, 'redis', managed, ctx.config.stack.redisPort, () => redisPing(ctx.config.stack.redisPort));
  return { ...status, detail: `redis://127.0.0.1:${ctx.config.stack.redisPort}` };
}
