/**
 * Read path: latency percentiles and throughput of
 *   (a) the real GET /v1/learners/:id/recommendations (auth, rate limiter, validation, metrics, Redis GET + MGET),
 *   (b) a hello-world express route (the ceiling of any express route on this machine),
 *   (c) an express route doing one bare ioredis GET of the same list (one Redis round trip behind express),
 * all served by one child process (bench/read-server.ts) while this process generates load with autocannon
 * (HdrHistogram percentiles, coordinated-omission-aware fixed-rate mode). Two phases per target: a fixed rate of
 * 1,000 req/s (latency target) and a fixed concurrency at full speed (throughput target). Plus, for reference, an
 * ioredis GET loop from this process without HTTP.
 * `npm run bench -- read [--quick] [--json] [--profile]` (--profile: CPU profile of the server during the API phases); needs Redis (started when absent).
 */
import autocannon from 'autocannon';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { loadConfig } from '../lib/config';
import { createRedis } from '../lib/redis/client';
import { RedisServingStore } from '../lib/serving/redis';
import { mulberry32 } from '../models/random/prng';
import { buildItems, makeList } from './lib/catalog';
import { emitReport, newReport, progress, type BenchArgs } from './lib/report';
import { ensureStack } from './lib/stack';
import { round, summarize } from './lib/stats';
import { summarise } from './profile';
import * as fs from 'node:fs';
import type { Row } from './lib/table';

const USERS = 10_000;
const ITEMS = 10_000;

function startServer(prefix: string): Promise<{ child: ChildProcess; ports: { api: number; hello: number; raw: number }; lines: readline.Interface }> {
  // node itself with the tsx loader (not the tsx wrapper binary): signals must reach the server, not a relay
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'read-server.ts')], { cwd: path.join(__dirname, '..'), env: { ...process.env, BENCH_REDIS_PREFIX: prefix }, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    const rl = readline.createInterface({ input: child.stdout });
    rl.once('line', (line) => resolve({ child, lines: rl, ports: JSON.parse(line) as { api: number; hello: number; raw: number } }));
    child.once('exit', (code) => reject(new Error(`read-server exited with ${code}`)));
  });
}

interface Load {
  name: string;
  url: string;
  path: (user: number) => string;
  headers?: Record<string, string>;
}

async function cannon(l: Load, opts: { connections: number; duration: number; rate?: number }): Promise<autocannon.Result> {
  let n = 0;
  return autocannon({
    url: l.url,
    connections: opts.connections,
    duration: opts.duration,
    ...(opts.rate ? { overallRate: opts.rate } : {}),
    headers: l.headers,
    requests: [
      {
        setupRequest: (req) => {
          // spread over learners: one hot key would measure Redis' and V8's caches, not the read path
          n = (n + 7919) % USERS;
          return { ...req, path: l.path(n) };
        },
      },
    ],
  });
}

function row(name: string, phase: string, r: autocannon.Result): Row {
  const lat = r.latency;
  return {
    target: name,
    phase,
    connections: r.connections,
    req_per_s: round(r.requests.average),
    p50_ms: lat.p50,
    p90_ms: lat.p90,
    p99_ms: lat.p99,
    max_ms: lat.max,
    non_2xx: r.non2xx,
    errors: r.errors + r.timeouts,
  };
}

export async function run(args: BenchArgs): Promise<void> {
  const report = newReport('read', args);
  const config = loadConfig();
  const stack = await ensureStack(config);
  const prefix = `lsbench:${randomBytes(4).toString('hex')}:`;
  const redis = createRedis(config);
  let child: ChildProcess | null = null;
  const rows: Row[] = [];
  const dur = args.quick ? 4 : 10;
  try {
    progress(`seeding ${USERS.toLocaleString()} lists (top ${config.pipeline.topN}) and ${ITEMS.toLocaleString()} resources under ${prefix}`);
    const store = new RedisServingStore({ redis, keyPrefix: prefix });
    const rng = mulberry32(5);
    const table = buildItems(ITEMS, 8, rng);
    for (let a = 0; a < ITEMS; a += 1000) {
      const ps: Promise<void>[] = [];
      for (let i = a; i < a + 1000; i++) {
        const m = table.meta[i]!;
        ps.push(store.putResource({ resourceId: table.ids[i], title: m.title!, type: m.type!, topics: m.topics!, skills: m.skills!, difficulty: m.difficulty, active: true }));
      }
      await Promise.all(ps);
    }
    for (let a = 0; a < USERS; a += 500) {
      const ps: Promise<void>[] = [];
      for (let u = a; u < a + 500; u++) ps.push(store.putRecommendations(makeList(`u${u}`, config.pipeline.topN, table, rng)));
      await Promise.all(ps);
    }

    const srv = await startServer(prefix);
    child = srv.child;
    const key = config.api.apiKeys.find((k) => k.scopes.includes('read'))!.key;
    const base = 'http://127.0.0.1:';
    const loads: Load[] = [
      { name: 'hello-world express', url: `${base}${srv.ports.hello}`, path: () => '/hello' },
      { name: 'express + bare ioredis GET', url: `${base}${srv.ports.raw}`, path: (u) => `/raw/u${u}` },
      { name: 'API recommendations', url: `${base}${srv.ports.api}`, path: (u) => `/v1/learners/u${u}/recommendations?limit=10`, headers: { 'x-api-key': key } },
    ];
    const probe = await fetch(`${loads[2].url}${loads[2].path(1)}`, { headers: loads[2].headers });
    const body = (await probe.json()) as { source?: string; count?: number };
    if (probe.status !== 200 || body.source !== 'personal' || body.count !== 10) throw new Error(`API probe failed: ${probe.status} ${JSON.stringify(body).slice(0, 200)}`);

    const max: Record<string, number> = {};
    const profile = args.rest.includes('--profile');
    for (const l of loads) {
      if (profile && l === loads[2]) child.kill('SIGUSR2');
      progress(`${l.name}: warm-up`);
      await cannon(l, { connections: 10, duration: 2 });
      progress(`${l.name}: 1,000 req/s for ${dur} s`);
      rows.push(row(l.name, '1,000 req/s', await cannon(l, { connections: 20, duration: dur, rate: 1000 })));
      progress(`${l.name}: max throughput, 32 connections, ${dur} s`);
      const r = await cannon(l, { connections: 32, duration: dur });
      rows.push(row(l.name, 'max, 32 conns', r));
      max[l.name] = r.requests.average;
    }

    progress('ioredis GET loop (no HTTP), 32 in flight');
    const lat: number[] = [];
    const t0 = performance.now();
    let i = 0;
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (performance.now() - t0 < dur * 1000) {
          const a = performance.now();
          await redis.get(`${prefix}rec:u${(i++ * 7919) % USERS}`);
          lat.push(performance.now() - a);
        }
      }),
    );
    const s = summarize(lat);
    rows.push({ target: 'ioredis GET (client only)', phase: 'max, 32 in flight', connections: 32, req_per_s: round(lat.length / dur), p50_ms: round(s.p50), p90_ms: '', p99_ms: round(s.p99), max_ms: round(s.max), non_2xx: 0, errors: 0 });

    report.sections.push({
      title: 'Read path: latency (ms) and throughput',
      rows,
      notes: [
        'autocannon in this process, all servers in one child process; both share the 2 cores (and the machine with other work).',
        `API: ${USERS.toLocaleString()} learners with cached top-${config.pipeline.topN} lists, limit=10, requests spread over learners; the rate limiter runs with its budget lifted.`,
        'autocannon reports latency with 1 ms resolution.',
      ],
    });
    const api = rows.find((r) => r.target === 'API recommendations' && r.phase === '1,000 req/s')!;
    const apiRate = Number(api.req_per_s);
    report.targets.push({ target: 'API p99 <= 5 ms at 1,000 req/s', measured: `p99 ${api.p99_ms} ms at ${apiRate} req/s`, pass: Number(api.p99_ms) <= 5 && apiRate >= 950 });
    const ratio = max['API recommendations'] / max['hello-world express'];
    report.targets.push({ target: 'API throughput >= 70% of hello-world', measured: `${round(max['API recommendations'])} vs ${round(max['hello-world express'])} req/s = ${round(ratio * 100)}%`, pass: ratio >= 0.7 });
    if (profile) {
      const line = new Promise<string>((resolve, reject) => {
        srv.lines.once('line', resolve);
        setTimeout(() => reject(new Error('read-server did not report its profile within 30 s')), 30_000).unref();
      });
      child.kill('SIGTERM');
      const file = (JSON.parse(await line) as { profile: string }).profile;
      const prof = summarise(JSON.parse(fs.readFileSync(file, 'utf8')) as Parameters<typeof summarise>[0], 15);
      const busy = prof.totalMs - (prof.byArea.find(([a]) => a === '(idle)')?.[1] ?? 0);
      report.sections.push({ title: 'CPU profile of the server process during the API phases (self time by area)', rows: prof.byArea.map(([a, ms]) => ({ area: a, self_ms: round(ms), share_of_busy: a === '(idle)' ? '' : `${round((100 * ms) / busy)}%` })), notes: [`profile: ${file}`, 'top functions: ' + prof.byFunction.filter(([f]) => !f.startsWith('(')).slice(0, 10).map(([f, ms]) => `${f} ${round(ms)} ms`).join('; ')] });
    }
  } finally {
    child?.kill('SIGTERM');
    progress('removing bench keys');
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await redis.unlink(...keys);
    } while (cursor !== '0');
    redis.disconnect();
    await stack.stop();
  }
  emitReport(report, args);
}
