/**
 * `npm run bench -- startup [--json] [--keep]`: how long `npm start` takes on a fresh clone, cold (nothing
 * downloaded yet) and warm (second start of the same clone), and that Ctrl-C leaves nothing running.
 *
 * A fresh `git clone` of this checkout's HEAD goes into a temporary folder and runs `npm start` (the README's command, demo
 * source included) with its own ports (so a stack already running here is neither reused nor disturbed) and, for the cold run, empty caches:
 * the learnstream download cache (Kafka and Apicurio through Maven's private repository in it, the model wheels),
 * npm's package cache and pip's. Debian packages (redis-server, prometheus, maven) are not uninstalled: a machine
 * without them pays the apt install on top, once. Each run is timed to the "ready" line (API answers /healthz) and to
 * /readyz answering 200 (Kafka, registry, Redis reachable, serving data present: the demo's first events have gone
 * through the pipeline); then SIGINT goes to the process group, as Ctrl-C would, and the run checks that the
 * orchestrator reports its clean stop, that `npm run stack:status` of the clone shows every service down, and that no
 * process of the clone is left (stop time runs until the last one is gone).
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isPortOpen } from '../infra/stack/ports';
import { emitReport, newReport, progress, type BenchArgs } from './lib/report';

const ROOT = path.join(__dirname, '..');

/** Ports of the measured clone, away from the defaults (a dev or test stack may be running on those). */
const PORTS = {
  LEARNSTREAM_KAFKA_PORT: 29092,
  LEARNSTREAM_KAFKA_CONTROLLER_PORT: 29093,
  LEARNSTREAM_REGISTRY_PORT: 28081,
  LEARNSTREAM_REDIS_PORT: 26379,
  LEARNSTREAM_PROMETHEUS_PORT: 29090,
  LEARNSTREAM_API_PORT: 28080,
  LEARNSTREAM_METRICS_PORT: 29464,
};

interface RunResult {
  run: string;
  ready_s: number;
  readyz_s: number | null;
  stop_s: number;
  clean_stop: boolean;
  services_down_after: boolean;
  processes_left: number;
}

async function waitUntil(pred: () => Promise<boolean> | boolean, timeoutMs: number, stepMs = 250): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await pred()) return true;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  return false;
}

async function httpOk(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
    return res.ok;
  } catch {
    return false;
  }
}

/** Pids whose command line or working directory is inside `dir` (what a clean stop must leave at zero). */
function processesIn(dir: string): number[] {
  const out: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    const pid = Number(name);
    if (!pid || pid === process.pid) continue;
    try {
      const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      const cwd = fs.readlinkSync(`/proc/${pid}/cwd`);
      if (cmd.includes(dir) || cwd.startsWith(dir)) out.push(pid);
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return out;
}

async function startOnce(label: string, clone: string, env: NodeJS.ProcessEnv, logFile: string): Promise<RunResult> {
  const apiUrl = `http://127.0.0.1:${PORTS.LEARNSTREAM_API_PORT}`;
  const log = fs.openSync(logFile, 'a');
  const t0 = performance.now();
  // detached: its own process group, so SIGINT reaches npm and everything below it, as Ctrl-C in a terminal would
  const child = spawn('npm', ['start'], { cwd: clone, env, detached: true, stdio: ['ignore', 'pipe', log] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let readyAt = 0;
  let out = '';
  child.stdout!.on('data', (b: Buffer) => {
    fs.writeSync(log, b);
    out += b.toString();
    if (!readyAt && /learnstream: ready in/.test(out)) readyAt = performance.now();
  });
  const failed = await Promise.race([waitUntil(() => readyAt > 0, 30 * 60_000).then((ok) => !ok), exited.then(() => true)]);
  if (failed) {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
    throw new Error(`${label}: npm start did not reach ready (log: ${logFile})`);
  }
  const ready = (readyAt - t0) / 1000;
  progress(`${label}: ready in ${ready.toFixed(1)} s`);
  const readyzOk = await waitUntil(() => httpOk(`${apiUrl}/readyz`), 120_000, 200);
  const readyz = readyzOk ? (performance.now() - t0) / 1000 : null;
  const s0 = performance.now();
  process.kill(-child.pid!, 'SIGINT');
  await exited;
  // npm itself dies of the SIGINT at once; the orchestrator below it stops the stages and the stack, then says so
  await waitUntil(() => processesIn(clone).length === 0, 60_000, 100);
  const stop = (performance.now() - s0) / 1000;
  const clean = /stopped; nothing left running/.test(out);
  const status = spawnSync('npm', ['run', '-s', 'stack:status'], { cwd: clone, env, encoding: 'utf8' });
  fs.writeSync(log, `\n--- stack:status after stop ---\n${status.stdout}${status.stderr}\n`);
  fs.closeSync(log);
  const rows = status.stdout.split('\n').filter((l) => /^(kafka|registry|redis|prometheus)\s/.test(l));
  const down = status.status === 0 && rows.length >= 3 && rows.every((l) => /\sdown\s/.test(l));
  const left = processesIn(clone);
  progress(
    `${label}: stopped in ${stop.toFixed(1)} s (clean stop reported: ${clean}), services down: ${down}, processes left: ${left.length}`,
  );
  return {
    run: label,
    ready_s: round1(ready),
    readyz_s: readyz === null ? null : round1(readyz),
    stop_s: round1(stop),
    clean_stop: clean,
    services_down_after: down,
    processes_left: left.length,
  };
}

const round1 = (x: number) => Math.round(x * 10) / 10;

export async function run(args: BenchArgs): Promise<void> {
  const report = newReport('startup', args);
  for (const [name, port] of Object.entries(PORTS)) {
    if (await isPortOpen(port)) throw new Error(`port ${port} (${name}) is in use; free it or stop what runs there`);
  }
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'learnstream-startup-'));
  const clone = path.join(work, 'learnstream');
  const head = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).stdout.trim();
  progress(`cloning ${head} into ${clone}`);
  const cloned = spawnSync('git', ['clone', '-q', ROOT, clone], { encoding: 'utf8' });
  if (cloned.status !== 0) throw new Error(`git clone failed: ${cloned.stderr}`);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...Object.fromEntries(Object.entries(PORTS).map(([k, v]) => [k, String(v)])),
    LEARNSTREAM_CACHE_DIR: path.join(work, 'cache'),
    npm_config_cache: path.join(work, 'npm-cache'),
    PIP_NO_CACHE_DIR: '1',
    ONNXRUNTIME_NODE_INSTALL_CUDA: 'skip',
    LEARNSTREAM_LOG_LEVEL: 'warn',
  };
  for (const k of [
    'LEARNSTREAM_CONFIG',
    'LEARNSTREAM_KAFKA_BROKERS',
    'LEARNSTREAM_REGISTRY_URL',
    'LEARNSTREAM_REDIS_URL',
    'LEARNSTREAM_ENCODER_DIR',
    'LEARNSTREAM_DATA_DIR',
  ])
    delete env[k];
  const logFile = path.join(work, 'npm-start.log');
  const results: RunResult[] = [];
  try {
    results.push(await startOnce('cold (fresh clone, empty caches)', clone, env, logFile));
    results.push(await startOnce('warm (same clone, second start)', clone, env, logFile));
  } finally {
    if (!args.rest.includes('--keep')) fs.rmSync(work, { recursive: true, force: true });
    else progress(`kept ${work}`);
  }
  report.sections.push({
    title: `npm start on a fresh clone of ${head} (demo source on)`,
    rows: results.map((r) => ({ ...r })),
    notes: [
      'ready_s: spawn to the "ready" line (API answers /healthz); readyz_s: to /readyz 200 (Kafka, registry, Redis, serving data from the first demo events); stop_s: SIGINT until no process of the clone is left.',
      'cold: empty learnstream, npm and pip caches (Kafka and Apicurio jars, model wheels and every npm package downloaded); Debian packages already installed.',
    ],
  });
  for (const r of results) {
    report.targets.push({
      target: `${r.run}: Ctrl-C leaves nothing running`,
      measured: `clean stop reported ${r.clean_stop}, services down ${r.services_down_after}, ${r.processes_left} processes left`,
      pass: r.clean_stop && r.services_down_after && r.processes_left === 0,
    });
  }
  emitReport(report, args);
}
