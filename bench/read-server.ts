/**
 * Server side of the read benchmark, run as its own process by bench/read.ts so the load generator never competes
 * with it inside one event loop. Serves, in this one process:
 *   - the real API (api/server.ts startApi: auth, rate limit, validation, metrics, serving-store reads),
 *   - a hello-world express app (same express, no middleware): the ceiling of any express route here,
 *   - an express app whose one route does a bare ioredis GET of the learner's list and sends the string: what
 *     one Redis round trip costs behind express, without the API's logic.
 * Env: BENCH_REDIS_PREFIX (key prefix of the seeded lists). Prints one JSON line {api, hello, raw} with the ports.
 * SIGUSR2 starts a CPU profile ({profiling: true} once it runs), the next SIGUSR2 prints {profile: file}.
 */
import express from 'express';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { createApiStore, startApi } from '../api/server';
import { loadConfig } from '../lib/config';
import { createLogger } from '../lib/log';
import { createRedis } from '../lib/redis/client';
import { startProfile } from './lib/cpuprofile';

function listen(app: express.Express): Promise<Server> {
  return new Promise((resolve, reject) => {
    const s = app.listen(0, '127.0.0.1');
    s.once('listening', () => resolve(s));
    s.once('error', reject);
  });
}

async function main(): Promise<void> {
  const prefix = process.env.BENCH_REDIS_PREFIX ?? 'lsbench:';
  // The rate limiter still runs on every request (its cost is measured); only its budget is lifted so the load
  // generator's single key is not answered with 429.
  const config = loadConfig({ overrides: { api: { rateLimitPerMinute: 1_000_000_000 }, redis: { keyPrefix: prefix } } });
  // The store exactly as `npm run api` builds it (key prefix from the config overrides above).
  const store = createApiStore(config);
  const logger = createLogger({ level: 'warn', base: { component: 'bench-api' } });
  const api = await startApi({ config, store, registry: new Registry(), logger, port: 0, host: '127.0.0.1' });

  const hello = express();
  hello.get('/hello', (_req, res) => {
    res.json({ hello: 'world' });
  });
  const helloServer = await listen(hello);

  const rawRedis = createRedis(config);
  const raw = express();
  raw.get('/raw/:userId', async (req, res) => {
    // The stored bytes as they are (list format 4 is binary), as the API reads them.
    const v = await rawRedis.getBuffer(`${prefix}rec:${req.params.userId}`);
    if (v) res.type('application/octet-stream').send(v);
    else res.type('application/json').send('null');
  });
  const rawServer = await listen(raw);

  process.stdout.write(
    JSON.stringify({ api: api.port, hello: (helloServer.address() as AddressInfo).port, raw: (rawServer.address() as AddressInfo).port }) +
      '\n',
  );
  // --profile: SIGUSR2 toggles a CPU profile, so the parent can profile just the API phases of its interleaved
  // rounds: the first signal starts one and prints {profiling: true} once samples are taken, the next writes it and
  // prints {profile: file}. (SIGUSR1 belongs to Node's inspector.) Signals are handled in order: a toggle waits for the
  // previous one to finish.
  let stopProfile: (() => Promise<string>) | null = null;
  let toggling = Promise.resolve();
  const say = (o: object) => process.stdout.write(JSON.stringify(o) + '\n');
  process.on('SIGUSR2', () => {
    toggling = toggling.then(async () => {
      if (stopProfile) {
        const stopNow = stopProfile;
        stopProfile = null;
        say({ profile: await stopNow() });
      } else {
        const p = startProfile('read-api-server');
        stopProfile = p;
        await p.started;
        say({ profiling: true });
      }
    });
  });
  const stop = async () => {
    await toggling;
    if (stopProfile) say({ profile: await stopProfile() });
    await api.stop();
    helloServer.close();
    rawServer.close();
    await store.close();
    rawRedis.disconnect();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop());
  process.once('SIGINT', () => void stop());
}

main().catch((err: unknown) => {
  process.stderr.write(`read-server failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
