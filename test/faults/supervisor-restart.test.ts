/**
 * `npm start`'s supervision (issue 17, item 2), against the real Kafka, registry and Redis: scripts/start.ts runs as
 * its own process with its own ports, data dir (so its own Prometheus), topic and key prefixes. kill -9 of the
 * pipeline child → the supervisor starts a new pipeline process, while the API answered /healthz all along and
 * Prometheus stayed up; kill -9 of the API child → it comes back and the pipeline is untouched; SIGINT → exit 0 and
 * nothing left listening.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { deleteKeys, freePort, testConfig, testRedis, waitFor } from '../helpers';

jest.setTimeout(420_000);

const ROOT = path.resolve(__dirname, '..', '..');

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function ok(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
    await res.arrayBuffer();
    return res.ok;
  } catch {
    return false;
  }
}

async function listening(port: number): Promise<boolean> {
  try {
    await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(1000) });
    return true;
  } catch {
    return false;
  }
}

describe('npm start supervision (real stack, kill -9 of a child)', () => {
  const config = testConfig('supervise', { kafka: { partitions: 1 } });
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ls-supervise-'));
  let start: ChildProcess | undefined;
  let out = '';
  const pids = new Set<number>();
  /** Pids named in the supervisor's `<name> started|restarted (pid N…` lines, newest last. */
  const pidsOf = (name: string) => [...out.matchAll(new RegExp(`learnstream: ${name} (?:started|restarted) \\(pid (\\d+)`, 'g'))].map((m) => Number(m[1]));

  afterAll(async () => {
    if (start && start.exitCode === null) start.kill('SIGKILL');
    for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
    const redis = testRedis(config);
    await deleteKeys(redis, config.redis.keyPrefix);
    redis.disconnect();
    fs.writeFileSync(path.join(os.tmpdir(), 'ls-supervise-last.log'), out);
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('restarts a killed pipeline and a killed API; the API and Prometheus stay up; SIGINT stops everything', async () => {
    const apiPort = await freePort();
    const metricsPort = await freePort();
    const promPort = await freePort();
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      // The test's shared services, as external ones: this start manages only its own Prometheus.
      LEARNSTREAM_KAFKA_BROKERS: config.kafka.brokers.join(','),
      LEARNSTREAM_REGISTRY_URL: config.registry.url,
      LEARNSTREAM_REDIS_URL: config.redis.url,
      LEARNSTREAM_KAFKA_TOPIC_PREFIX: config.kafka.topicPrefix,
      LEARNSTREAM_KAFKA_PARTITIONS: '1',
      LEARNSTREAM_REDIS_KEY_PREFIX: config.redis.keyPrefix,
      LEARNSTREAM_DATA_DIR: work,
      LEARNSTREAM_API_PORT: String(apiPort),
      LEARNSTREAM_METRICS_PORT: String(metricsPort),
      LEARNSTREAM_PROMETHEUS_PORT: String(promPort),
      // No encoder model: start-up stays cheap, and it is not what is tested.
      LEARNSTREAM_ENCODER_DIR: path.join(work, 'no-model'),
      LEARNSTREAM_LOG_LEVEL: 'warn',
    };
    const t0 = Date.now();
    const proc = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts', '--no-demo'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    start = proc;
    const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
    proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (out += d.toString()));

    await waitFor(() => out.includes('learnstream: ready in') || (proc.exitCode !== null && Promise.reject(new Error(out))), { timeoutMs: 240_000, intervalMs: 200, message: 'npm start ready' });
    await waitFor(() => ok(`http://127.0.0.1:${metricsPort}/healthz`), { timeoutMs: 120_000, message: 'pipeline /healthz' });
    expect(await ok(`http://127.0.0.1:${promPort}/-/ready`)).toBe(true);
    const [pipeline] = pidsOf('pipeline');
    const [api] = pidsOf('api');
    for (const pid of [pipeline, api]) pids.add(pid);
    process.stdout.write(`npm start ready in ${((Date.now() - t0) / 1000).toFixed(1)} s (pipeline pid ${pipeline}, api pid ${api})\n`);

    // The API is probed every 100 ms from before the kill until the pipeline is back.
    let probes = 0;
    const failures: string[] = [];
    let probing = true;
    const prober = (async () => {
      while (probing) {
        probes++;
        if (!(await ok(`http://127.0.0.1:${apiPort}/healthz`))) failures.push(new Date().toISOString());
        await new Promise((r) => setTimeout(r, 100));
      }
    })();

    const killedAt = Date.now();
    process.kill(pipeline, 'SIGKILL');
    const second = await waitFor(() => pidsOf('pipeline').find((p) => p !== pipeline), { timeoutMs: 30_000, intervalMs: 50, message: 'pipeline restarted' });
    pids.add(second);
    await waitFor(() => ok(`http://127.0.0.1:${metricsPort}/healthz`), { timeoutMs: 120_000, message: 'restarted pipeline /healthz' });
    const backMs = Date.now() - killedAt;
    probing = false;
    await prober;
    process.stdout.write(`pipeline: kill -9 → new process serving /healthz in ${(backMs / 1000).toFixed(1)} s; API probed ${probes} times, ${failures.length} failures\n`);
    expect(out).toMatch(new RegExp(`pipeline \\(pid ${pipeline}\\) exited unexpectedly \\(killed by SIGKILL\\).*restarting in 1\\.0 s`));
    expect(alive(pipeline)).toBe(false);
    expect(probes).toBeGreaterThan(5);
    expect(failures).toEqual([]);
    expect(pidsOf('api')).toEqual([api]); // the API was never restarted
    expect(await ok(`http://127.0.0.1:${promPort}/-/ready`)).toBe(true);
    expect(proc.exitCode).toBeNull();

    // The API's turn: it comes back on its port, the pipeline process is left alone.
    process.kill(api, 'SIGKILL');
    const api2 = await waitFor(() => pidsOf('api').find((p) => p !== api), { timeoutMs: 30_000, intervalMs: 50, message: 'api restarted' });
    pids.add(api2);
    await waitFor(() => ok(`http://127.0.0.1:${apiPort}/healthz`), { timeoutMs: 120_000, message: 'restarted API /healthz' });
    expect(pidsOf('pipeline')).toEqual([pipeline, second]);
    expect(alive(second)).toBe(true);
    expect(await ok(`http://127.0.0.1:${metricsPort}/healthz`)).toBe(true);

    // Only a signal stops everything: the children, then the Prometheus this start started.
    proc.kill('SIGINT');
    expect(await exited).toBe(0);
    for (const pid of pids) expect([pid, alive(pid)]).toEqual([pid, false]);
    for (const port of [apiPort, metricsPort, promPort]) expect([port, await listening(port)]).toEqual([port, false]);
  });
});
