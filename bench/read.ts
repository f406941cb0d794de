/**
 * Read path: latency percentiles and throughput of
 *   (a) the real GET /v1/learners/:id/recommendations (auth, rate limiter, validation, metrics, Redis GET + MGET),
 *   (b) a hello-world express route (the ceiling of any express route on this machine),
 *   (c) an express route doing one bare ioredis GET of the same list (one Redis round trip behind express),
 * all served by one child process (bench/read-server.ts) while this process generates load with autocannon
 * (HdrHistogram percentiles, coordinated-omission-aware fixed-rate mode). Two phases per target: a fixed concurrency
 * at full speed (throughput target) and a fixed rate of 1,000 req/s (latency target). The targets take turns in
 * several short rounds (each phase: hello-world, API, bare GET) and the targets are checked on the median of the
 * per-round figures: on this shared machine the speed available drifts by 2x between minutes, and with one long
 * phase per target that drift, not the code, decided the ratio. Each phase also records the CPU (in cores) that
 * the load generator, the server process and the whole machine used. Plus, for reference, an ioredis GET loop from
 * this process without HTTP.
 * `npm run bench -- read [--quick] [--json] [--profile] [--rounds N] [--baseline <checkout>] [--pin]` (--pin: generator and
 * servers on different CPUs, see pinning(); --profile: CPU profile of
 * the server during the API phases; rounds default 5, 3 with --quick; --baseline: another worktree's API served by its
 * own read-server, measured right after ours in every round); needs Redis (started when absent).
 */
import autocannon from 'autocannon';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { loadConfig } from '../lib/config';
import { createRedis } from '../lib/redis/client';
import { RedisServingStore } from '../serving/redis-store';
import type { RecommendationList } from '../serving/types';
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

interface Server {
  child: ChildProcess;
  ports: { api: number; hello: number; raw: number };
  /** The next JSON line the server prints (profile acknowledgements). */
  next<T>(timeoutMs: number): Promise<T>;
}

/** The read server of this checkout, or of `checkout` (another worktree: its API is then a same-run baseline). */
function startServer(prefix: string, checkout = path.join(__dirname, '..'), cpus: string | null = null): Promise<Server> {
  // node itself with the tsx loader (not the tsx wrapper binary): signals must reach the server, not a relay.
  // With --pin, `taskset -c <cpus>` execs node in place (same pid), so the server and all its threads stay on those CPUs.
  const argv = [process.execPath, '--import', 'tsx', path.join(checkout, 'bench', 'read-server.ts')];
  const [cmd, ...rest] = cpus === null ? argv : ['taskset', '-c', cpus, ...argv];
  const child = spawn(cmd, rest, {
    cwd: checkout,
    env: { ...process.env, BENCH_REDIS_PREFIX: prefix },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const rl = readline.createInterface({ input: child.stdout });
  const queued: string[] = [];
  const waiting: ((line: string) => void)[] = [];
  rl.on('line', (line) => {
    const w = waiting.shift();
    if (w) w(line);
    else queued.push(line);
  });
  const next = <T>(timeoutMs: number) =>
    new Promise<T>((resolve, reject) => {
      const got = (line: string) => resolve(JSON.parse(line) as T);
      const line = queued.shift();
      if (line !== undefined) return got(line);
      waiting.push(got);
      setTimeout(() => reject(new Error(`read-server printed nothing within ${timeoutMs} ms`)), timeoutMs).unref();
    });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`read-server exited with ${code}`)));
    next<Server['ports']>(60_000).then((ports) => resolve({ child, ports, next }), reject);
  });
}

interface Load {
  name: string;
  /** The server process, for its CPU time. */
  pid: number;
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

/** Clock ticks of a process (utime + stime from /proc/<pid>/stat) and of the whole machine (non-idle, /proc/stat). */
function ticks(pid: number): { proc: number; busy: number; total: number } | null {
  try {
    // comm (field 2) may contain spaces: count fields after its closing parenthesis
    const st = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
    const cpu = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const total = cpu.slice(0, 8).reduce((a, b) => a + b, 0);
    return { proc: Number(f[11]) + Number(f[12]), busy: total - cpu[3] - cpu[4], total };
  } catch {
    return null; // not Linux: the CPU columns stay empty
  }
}

/**
 * CPU used during one phase, in cores: the load generator (this process), the server process and the whole machine
 * (all processes, of os.cpus().length cores). With 2 cores, what the generator takes is not available to the server.
 */
function cpuMeter(serverPid: number): () => Row {
  const hz = 100; // USER_HZ: 100 on every Linux build Node supports
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const k0 = ticks(serverPid);
  return () => {
    const wallS = (performance.now() - t0) / 1000;
    const c = process.cpuUsage(c0);
    const k1 = ticks(serverPid);
    if (!k0 || !k1) return {};
    const cores = os.cpus().length;
    return {
      gen_cores: round((c.user + c.system) / 1e6 / wallS),
      server_cores: round((k1.proc - k0.proc) / hz / wallS),
      machine_cores: round(((k1.busy - k0.busy) / (k1.total - k0.total)) * cores),
    };
  };
}

function row(round_: number, name: string, phase: string, r: autocannon.Result, cpu: Row): Row {
  const lat = r.latency;
  return {
    round: round_,
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
    ...cpu,
    // CPU per request of the server: what the request costs when it gets a core, whatever share of the two the
    // machine's other work left it during the phase
    server_us_per_req:
      typeof cpu.server_cores === 'number' && r.requests.average > 0 ? round((cpu.server_cores * 1e6) / r.requests.average) : NaN,
  };
}

/**
 * --pin: the load generator and the servers on different CPUs (`taskset`), so the generator no longer takes CPU from
 * the server it measures (flat out it used ~43% of what the hello-world server got, ~20% of the API's: it slowed
 * the faster target more). On 2 cores that is one each; Redis and everything else still float over both.
 */
function pinning(on: boolean): { generator: string; server: string } | null {
  if (!on) return null;
  const n = os.cpus().length;
  if (n < 2) throw new Error('--pin needs at least 2 CPUs');
  const generator = String(n - 1);
  const server = n === 2 ? '0' : `0-${n - 2}`;
  try {
    // -a: every thread of this process (libuv's pool, autocannon's workers start later and inherit it)
    execFileSync('taskset', ['-a', '-p', '-c', generator, String(process.pid)], { stdio: 'ignore' });
  } catch (err) {
    throw new Error(`--pin needs taskset (util-linux): ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  return { generator, server };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

type Summary = ReturnType<typeof summarise>;

/** Adds up the self time of several profiles (one per API phase). */
function mergeProfiles(ps: Summary[]): Summary {
  const add = (pick: (p: Summary) => [string, number][]) => {
    const m = new Map<string, number>();
    for (const p of ps) for (const [k, ms] of pick(p)) m.set(k, (m.get(k) ?? 0) + ms);
    return [...m.entries()].sort((a, b) => b[1] - a[1]);
  };
  return { byArea: add((p) => p.byArea), byFunction: add((p) => p.byFunction), totalMs: ps.reduce((a, p) => a + p.totalMs, 0) };
}

export async function run(args: BenchArgs): Promise<void> {
  const report = newReport('read', args);
  const config = loadConfig();
  const stack = await ensureStack(config);
  const prefix = `lsbench:${randomBytes(4).toString('hex')}:`;
  const redis = createRedis(config);
  let child: ChildProcess | null = null;
  let baseChild: ChildProcess | null = null;
  const rows: Row[] = [];
  // Short phases, more rounds: the machine's speed changes within seconds (one run's per-round ratios ranged 18-80%),
  // so the median needs many comparisons; five rounds of 3 s take about as long as two 10 s phases per target did.
  const dur = args.quick ? 2 : 3;
  const roundsArg = args.rest.indexOf('--rounds');
  const rounds = roundsArg >= 0 ? Number(args.rest[roundsArg + 1]) : args.quick ? 3 : 5;
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error('--rounds needs a positive integer');
  try {
    const baselineArg = args.rest.indexOf('--baseline');
    const baselineDir = baselineArg >= 0 ? path.resolve(args.rest[baselineArg + 1] ?? '') : null;
    // The baseline checkout reads its own copy of the same data, its lists written by its own serving store: a
    // checkout from before a list format cannot read it (it would serve every learner the popular fallback), and one
    // reading older lists through its backward-compatible path would not be measured as it runs in production.
    const basePrefix = `${prefix}base:`;
    type PutList = (l: RecommendationList) => Promise<void>;
    const seeds: { prefix: string; putList: (keyPrefix: string) => PutList }[] = [
      { prefix, putList: (keyPrefix) => (l) => new RedisServingStore({ redis, keyPrefix }).putRecommendations(l) },
    ];
    if (baselineDir) {
      // serving/redis-store.ts since the serving store became its own folder; lib/serving/redis.ts before.
      const where = [path.join(baselineDir, 'serving', 'redis-store.ts'), path.join(baselineDir, 'lib', 'serving', 'redis.ts')].find((f) =>
        existsSync(f),
      );
      if (!where) throw new Error(`--baseline ${baselineDir}: no serving/redis-store.ts or lib/serving/redis.ts`);
      const mod = (await import(where)) as {
        RedisServingStore: new (o: { redis: unknown; keyPrefix: string }) => { putRecommendations: PutList };
      };
      seeds.push({
        prefix: basePrefix,
        putList: (keyPrefix) => {
          const store = new mod.RedisServingStore({ redis, keyPrefix });
          return (l) => store.putRecommendations(l);
        },
      });
    }
    for (const seed of seeds) {
      progress(
        `seeding ${USERS.toLocaleString()} lists (top ${config.pipeline.topN}) and ${ITEMS.toLocaleString()} resources under ${seed.prefix}`,
      );
      const store = new RedisServingStore({ redis, keyPrefix: seed.prefix });
      // The same seed for every copy: the same catalogue and lists.
      const rng = mulberry32(5);
      const table = buildItems(ITEMS, 8, rng);
      for (let a = 0; a < ITEMS; a += 1000) {
        const ps: Promise<void>[] = [];
        for (let i = a; i < a + 1000; i++) {
          const m = table.meta[i]!;
          ps.push(
            store.putResource({
              resourceId: table.ids[i],
              title: m.title!,
              type: m.type!,
              topics: m.topics!,
              skills: m.skills!,
              difficulty: m.difficulty,
              active: true,
            }),
          );
        }
        await Promise.all(ps);
      }
      const put = seed.putList(seed.prefix);
      for (let a = 0; a < USERS; a += 500) {
        const ps: Promise<unknown>[] = [];
        for (let u = a; u < a + 500; u++) ps.push(put(makeList(`u${u}`, config.pipeline.topN, table, rng)));
        await Promise.all(ps);
      }
    }

    const pin = pinning(args.rest.includes('--pin'));
    const srv = await startServer(prefix, undefined, pin?.server ?? null);
    child = srv.child;
    const baseSrv = baselineDir ? await startServer(basePrefix, baselineDir, pin?.server ?? null) : null;
    baseChild = baseSrv?.child ?? null;
    const key = config.api.apiKeys.find((k) => k.scopes.includes('read'))!.key;
    const base = 'http://127.0.0.1:';
    const pid = srv.child.pid!;
    const apiPath = (u: number) => `/v1/learners/u${u}/recommendations?limit=10`;
    const loads: Load[] = [
      { name: 'hello-world express', pid, url: `${base}${srv.ports.hello}`, path: () => '/hello' },
      { name: 'express + bare ioredis GET', pid, url: `${base}${srv.ports.raw}`, path: (u) => `/raw/u${u}` },
      { name: 'API recommendations', pid, url: `${base}${srv.ports.api}`, path: apiPath, headers: { 'x-api-key': key } },
    ];
    const baseLoad: Load | null = baseSrv
      ? {
          name: 'API, baseline checkout',
          pid: baseSrv.child.pid!,
          url: `${base}${baseSrv.ports.api}`,
          path: apiPath,
          headers: { 'x-api-key': key },
        }
      : null;
    const probe = await fetch(`${loads[2].url}${loads[2].path(1)}`, { headers: loads[2].headers });
    const body = (await probe.json()) as { source?: string; count?: number };
    if (probe.status !== 200 || body.source !== 'personal' || body.count !== 10)
      throw new Error(`API probe failed: ${probe.status} ${JSON.stringify(body).slice(0, 200)}`);
    if (baseLoad) {
      const baseProbe = await fetch(`${baseLoad.url}${baseLoad.path(1)}`, { headers: baseLoad.headers });
      const baseBody = (await baseProbe.json()) as { source?: string; count?: number };
      if (baseProbe.status !== 200 || baseBody.source !== 'personal' || baseBody.count !== 10)
        throw new Error(`baseline API probe failed: ${baseProbe.status} ${JSON.stringify(baseBody).slice(0, 200)}`);
    }

    const profile = args.rest.includes('--profile');
    const phaseS = dur;
    const [hello, raw, apiLoad] = loads;
    // --baseline <checkout>: that checkout's API right after ours in every round, for a base-vs-branch ratio
    const order = baseLoad ? [hello, apiLoad, baseLoad, raw] : [hello, apiLoad, raw];
    const profiles: Summary[] = [];
    const profileFiles: string[] = [];
    const phase = async (r: number, l: Load, name: string, opts: { connections: number; duration: number; rate?: number }) => {
      const profiled = profile && l === apiLoad;
      if (profiled) {
        child!.kill('SIGUSR2');
        await srv.next<{ profiling: boolean }>(30_000);
      }
      const meter = cpuMeter(l.pid);
      const res = await cannon(l, opts);
      const cpu = meter();
      if (profiled) {
        child!.kill('SIGUSR2');
        const { profile: file } = await srv.next<{ profile: string }>(30_000);
        profileFiles.push(file);
        profiles.push(summarise(JSON.parse(fs.readFileSync(file, 'utf8')) as Parameters<typeof summarise>[0], Infinity));
      }
      const out = row(r, l.name, name, res, cpu);
      rows.push(out);
      return out;
    };

    for (const l of order) {
      progress(`${l.name}: warm-up`);
      await cannon(l, { connections: 10, duration: 2 });
    }
    // Per round: the targets back to back at full speed, then the same at 1,000 req/s, so each ratio compares
    // phases seconds apart.
    const perRound: Row[] = [];
    for (let r = 1; r <= rounds; r++) {
      const max: Record<string, Row> = {};
      const fixed: Record<string, Row> = {};
      // the two APIs swap places every other round, so neither always runs in the other's wake
      const inRound = baseLoad && r % 2 === 0 ? [hello, baseLoad, apiLoad, raw] : order;
      for (const l of inRound) {
        progress(`round ${r}/${rounds}: ${l.name}: max throughput, 32 connections, ${phaseS} s`);
        max[l.name] = await phase(r, l, 'max, 32 conns', { connections: 32, duration: phaseS });
      }
      for (const l of inRound) {
        progress(`round ${r}/${rounds}: ${l.name}: 1,000 req/s for ${phaseS} s`);
        fixed[l.name] = await phase(r, l, '1,000 req/s', { connections: 20, duration: phaseS, rate: 1000 });
      }
      const rate = (l: Load) => Number(max[l.name].req_per_s);
      perRound.push({
        round: r,
        // the machine is shared: how busy it was says how much the round's figures are worth
        load_1m: round(os.loadavg()[0]),
        hello_req_per_s: rate(hello),
        api_req_per_s: rate(apiLoad),
        raw_get_req_per_s: rate(raw),
        api_over_hello_pct: round((100 * rate(apiLoad)) / rate(hello)),
        api_over_raw_get_pct: round((100 * rate(apiLoad)) / rate(raw)),
        api_p99_ms_at_1000: Number(fixed[apiLoad.name].p99_ms),
        hello_p99_ms_at_1000: Number(fixed[hello.name].p99_ms),
        raw_get_p99_ms_at_1000: Number(fixed[raw.name].p99_ms),
        api_p99_over_hello_p99: round(Number(fixed[apiLoad.name].p99_ms) / Math.max(1, Number(fixed[hello.name].p99_ms))),
        api_achieved_at_1000: Number(fixed[apiLoad.name].req_per_s),
        hello_us_per_req: Number(max[hello.name].server_us_per_req),
        api_us_per_req: Number(max[apiLoad.name].server_us_per_req),
        // the throughput ratio if each server had had the same CPU: hello-world's CPU per request over the API's
        api_over_hello_per_cpu_pct: round((100 * Number(max[hello.name].server_us_per_req)) / Number(max[apiLoad.name].server_us_per_req)),
        ...(baseLoad
          ? {
              baseline_api_req_per_s: rate(baseLoad),
              baseline_api_us_per_req: Number(max[baseLoad.name].server_us_per_req),
              api_over_baseline_pct: round((100 * rate(apiLoad)) / rate(baseLoad)),
              api_over_baseline_per_cpu_pct: round(
                (100 * Number(max[baseLoad.name].server_us_per_req)) / Number(max[apiLoad.name].server_us_per_req),
              ),
              baseline_api_p99_ms_at_1000: Number(fixed[baseLoad.name].p99_ms),
            }
          : {}),
      });
    }
    const med = (k: string) => round(median(perRound.map((p) => Number(p[k]))));
    const cols = Object.keys(perRound[0]).filter((k) => k !== 'round');
    perRound.push({ round: 'median', ...Object.fromEntries(cols.map((k) => [k, med(k)])) });

    progress('ioredis GET loop (no HTTP), 32 in flight');
    const lat: number[] = [];
    const t0 = performance.now();
    let i = 0;
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (performance.now() - t0 < dur * 1000) {
          const a = performance.now();
          await redis.getBuffer(`${prefix}rec:u${(i++ * 7919) % USERS}`);
          lat.push(performance.now() - a);
        }
      }),
    );
    const s = summarize(lat);
    rows.push({
      target: 'ioredis GET (client only)',
      phase: 'max, 32 in flight',
      connections: 32,
      req_per_s: round(lat.length / dur),
      p50_ms: round(s.p50),
      p90_ms: '',
      p99_ms: round(s.p99),
      max_ms: round(s.max),
      non_2xx: 0,
      errors: 0,
    });

    report.sections.push({
      title: `Read path: ${rounds} interleaved rounds, latency (ms), throughput and CPU (cores) per phase`,
      rows,
      notes: [
        pin
          ? `--pin: autocannon (this process, all threads) on CPU ${pin.generator}, the server process(es) on CPU ${pin.server}; Redis and other work are not pinned.`
          : 'autocannon in this process, all servers in one child process; both share the 2 cores (and the machine with other work).',
        'gen_cores / server_cores: CPU of the load generator / the server process during the phase; machine_cores: all processes (Redis and other work included); server_us_per_req: server CPU per request.',
        `API: ${USERS.toLocaleString()} learners with cached top-${config.pipeline.topN} lists, limit=10, requests spread over learners; the rate limiter runs with its budget lifted.`,
        'autocannon reports latency with 1 ms resolution.',
      ],
    });
    report.sections.push({
      title: 'Per round: API against the baselines measured seconds before and after it (median row: median of each column)',
      rows: perRound,
    });
    const m = perRound[perRound.length - 1];
    const allRounds = perRound.slice(0, -1);
    const loadNote = `load average ${allRounds.map((p) => p.load_1m).join(' / ')} (1 min, per round)${pin ? ', --pin' : ''}`;
    const sustained = allRounds.every((p) => Number(p.api_achieved_at_1000) >= 950);
    report.targets.push({
      target: "API p99 <= 1.5x hello-world's p99 at 1,000 req/s, same rounds",
      measured: `median of per-round ratios ${m.api_p99_over_hello_p99}x (rounds ${allRounds.map((p) => `${p.api_p99_ms_at_1000} / ${p.hello_p99_ms_at_1000} ms`).join('; ')}); ${sustained ? '' : 'NOT '}sustained in every round; ${loadNote}`,
      pass: Number(m.api_p99_over_hello_p99) <= 1.5 && sustained,
    });
    report.targets.push({
      target: '(reference) API p99 <= 5 ms at 1,000 req/s',
      measured: `median p99 ${m.api_p99_ms_at_1000} ms (rounds ${allRounds.map((p) => p.api_p99_ms_at_1000).join(' / ')}); hello-world ${m.hello_p99_ms_at_1000} ms`,
      pass: Number(m.api_p99_ms_at_1000) <= 5 && sustained,
    });
    report.targets.push({
      target: 'API throughput >= 70% of hello-world',
      measured: `median of per-round ratios ${m.api_over_hello_pct}% (rounds ${allRounds.map((p) => `${p.api_req_per_s} / ${p.hello_req_per_s} = ${p.api_over_hello_pct}%`).join('; ')}); ${loadNote}`,
      pass: Number(m.api_over_hello_pct) >= 70,
    });
    report.figures = {
      api_over_hello_pct: Number(m.api_over_hello_pct),
      api_p99_over_hello_p99: Number(m.api_p99_over_hello_p99),
      api_over_hello_per_cpu_pct: Number(m.api_over_hello_per_cpu_pct),
      load_1m_median: Number(m.load_1m),
    };
    report.targets.push({
      target: '(reference) API throughput per server CPU >= 70% of hello-world',
      measured: `median ${m.api_over_hello_per_cpu_pct}%: ${m.api_us_per_req} vs ${m.hello_us_per_req} µs of server CPU per request`,
      pass: Number(m.api_over_hello_per_cpu_pct) >= 70,
    });
    if (baseLoad) {
      report.targets.push({
        target: `(reference) API against the baseline checkout ${baselineDir}`,
        measured: `median throughput ${m.api_over_baseline_pct}% of the baseline's (${allRounds.map((p) => `${p.api_req_per_s} / ${p.baseline_api_req_per_s}`).join('; ')}), per server CPU ${m.api_over_baseline_per_cpu_pct}% (${m.api_us_per_req} vs ${m.baseline_api_us_per_req} µs per request)`,
        pass: Number(m.api_over_baseline_pct) >= 100,
      });
    }
    if (profile) {
      const prof = mergeProfiles(profiles);
      const busy = prof.totalMs - (prof.byArea.find(([a]) => a === '(idle)')?.[1] ?? 0);
      report.sections.push({
        title: `CPU profile of the server process during the ${profiles.length} API phases (self time by area)`,
        rows: prof.byArea.map(([a, ms]) => ({
          area: a,
          self_ms: round(ms),
          share_of_busy: a === '(idle)' ? '' : `${round((100 * ms) / busy)}%`,
        })),
        notes: [
          `profiles (one per phase): ${profileFiles.map((f) => path.relative(process.cwd(), f)).join(', ')}`,
          'top functions: ' +
            prof.byFunction
              .filter(([f]) => !f.startsWith('('))
              .slice(0, 15)
              .map(([f, ms]) => `${f} ${round(ms)} ms`)
              .join('; '),
        ],
      });
    }
  } finally {
    child?.kill('SIGTERM');
    baseChild?.kill('SIGTERM');
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
