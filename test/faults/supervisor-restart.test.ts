/**
 * `npm start`'s supervision (issue 17, item 2; issue 19, item 2), against the real Kafka, registry and Redis:
 * scripts/start.ts runs as its own process with its own ports, data dir (so its own Prometheus), topic and key
 * prefixes, with two learner instances (lib/config/layout.ts). Prometheus scrapes all four processes; kill -9 of one
 * learner instance → the supervisor starts that one again, alone (the other instance and the item/catalogue process
 * keep their pids), the pipeline's /readyz names the missing instance meanwhile, the API answered /healthz all
 * along; kill -9 of the API child → it comes back and the pipeline is untouched; SIGINT → exit 0 and nothing left
 * listening.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { deleteKeys, freePort, freePortSpan, testConfig, testRedis, waitFor } from '../helpers';

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
  const config = testConfig('supervise', { kafka: { partitions: 2 } });
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ls-supervise-'));
  let start: ChildProcess | undefined;
  let out = '';
  const pids = new Set<number>();
  /** Pids named in the supervisor's `<name> started|restarted (pid N…` lines, newest last. */
  const pidsOf = (name: string) =>
    [...out.matchAll(new RegExp(`learnstream: ${name} (?:started|restarted) \\(pid (\\d+)`, 'g'))].map((m) => Number(m[1]));

  afterAll(async () => {
    if (start && start.exitCode === null) start.kill('SIGKILL');
    for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
    const redis = testRedis(config);
    await deleteKeys(redis, config.redis.keyPrefix);
    redis.disconnect();
    fs.writeFileSync(path.join(os.tmpdir(), 'ls-supervise-last.log'), out);
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('restarts a killed learner instance alone and a killed API; the API and Prometheus stay up; SIGINT stops everything', async () => {
    const apiPort = await freePort();
    // the pipeline's port and both learner instances' (metrics.port + 1 + i): three in a row
    const metricsPort = await freePortSpan(3);
    const promPort = await freePort();
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      // The test's shared services, as external ones: this start manages only its own Prometheus.
      LEARNSTREAM_KAFKA_BROKERS: config.kafka.brokers.join(','),
      LEARNSTREAM_REGISTRY_URL: config.registry.url,
      LEARNSTREAM_REDIS_URL: config.redis.url,
      LEARNSTREAM_KAFKA_TOPIC_PREFIX: config.kafka.topicPrefix,
      LEARNSTREAM_KAFKA_PARTITIONS: '2',
      LEARNSTREAM_LEARNER_INSTANCES: '2',
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
    const proc = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts', '--no-demo'], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    start = proc;
    const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
    proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (out += d.toString()));

    await waitFor(() => out.includes('learnstream: ready in') || (proc.exitCode !== null && Promise.reject(new Error(out))), {
      timeoutMs: 240_000,
      intervalMs: 200,
      message: 'npm start ready',
    });
    // learner instance i serves on metricsPort + 1 + i
    const learnerPort = (i: number) => metricsPort + 1 + i;
    for (const port of [metricsPort, learnerPort(0), learnerPort(1)])
      await waitFor(() => ok(`http://127.0.0.1:${port}/healthz`), { timeoutMs: 120_000, message: `pipeline /healthz on ${port}` });
    expect(await ok(`http://127.0.0.1:${promPort}/-/ready`)).toBe(true);
    // the generated scrape config: one target per process, each up
    const targets = async () => {
      const body = (await (await fetch(`http://127.0.0.1:${promPort}/api/v1/targets`)).json()) as {
        data: { activeTargets: { labels: Record<string, string>; health: string }[] };
      };
      return body.data.activeTargets
        .filter((t) => t.labels.job?.startsWith('learnstream-'))
        .map((t) => `${t.labels.process} ${t.health}`)
        .sort();
    };
    await waitFor(async () => ((await targets()).filter((t) => t.endsWith(' up')).length === 4 ? true : undefined), {
      timeoutMs: 60_000,
      intervalMs: 500,
      message: 'four targets up',
    });
    expect(await targets()).toEqual(['api up', 'learner-0 up', 'learner-1 up', 'pipeline up']);
    const ready = async () => {
      const res = await fetch(`http://127.0.0.1:${metricsPort}/readyz`);
      return { status: res.status, body: (await res.json()) as { reasons: string[] } };
    };
    await waitFor(async () => ((await ready()).status === 200 ? true : undefined), {
      timeoutMs: 120_000,
      intervalMs: 500,
      message: 'pipeline /readyz 200 with both learner instances',
    });
    const [pipeline] = pidsOf('pipeline');
    const [l0] = pidsOf('learner-0');
    const [learner] = pidsOf('learner-1');
    const [api] = pidsOf('api');
    for (const pid of [pipeline, l0, learner, api]) pids.add(pid);
    process.stdout.write(
      `npm start ready in ${((Date.now() - t0) / 1000).toFixed(1)} s (pipeline pid ${pipeline}, learners ${l0} ${learner}, api pid ${api})\n`,
    );

    // The API is probed every 100 ms from before the kill until the learner instance is back.
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
    process.kill(learner, 'SIGKILL');
    // /readyz of the pipeline reflects every learner instance: the killed one is named while it is away
    const unready = await waitFor(
      async () => {
        const r = await ready();
        return r.status === 503 ? r.body : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 100, message: '/readyz 503 while learner-1 is down' },
    );
    expect(unready.reasons.join('\n')).toContain(`learner instance on port ${learnerPort(1)}`);
    const second = await waitFor(() => pidsOf('learner-1').find((p) => p !== learner), {
      timeoutMs: 30_000,
      intervalMs: 50,
      message: 'learner-1 restarted',
    });
    pids.add(second);
    await waitFor(() => ok(`http://127.0.0.1:${learnerPort(1)}/healthz`), { timeoutMs: 120_000, message: 'restarted learner-1 /healthz' });
    const backMs = Date.now() - killedAt;
    await waitFor(async () => ((await ready()).status === 200 ? true : undefined), {
      timeoutMs: 120_000,
      intervalMs: 500,
      message: 'pipeline /readyz 200 again',
    });
    probing = false;
    await prober;
    process.stdout.write(
      `learner-1: kill -9 → new process serving /healthz in ${(backMs / 1000).toFixed(1)} s; API probed ${probes} times, ${failures.length} failures\n`,
    );
    expect(out).toMatch(new RegExp(`learner-1 \\(pid ${learner}\\) exited unexpectedly \\(killed by SIGKILL\\).*restarting in 1\\.0 s`));
    expect(alive(learner)).toBe(false);
    expect(probes).toBeGreaterThan(5);
    expect(failures).toEqual([]);
    // only the killed instance was restarted
    expect(pidsOf('api')).toEqual([api]);
    expect(pidsOf('learner-0')).toEqual([l0]);
    expect(pidsOf('pipeline')).toEqual([pipeline]);
    expect(await ok(`http://127.0.0.1:${promPort}/-/ready`)).toBe(true);
    expect(proc.exitCode).toBeNull();

    // The API's turn: it comes back on its port, the pipeline process is left alone.
    process.kill(api, 'SIGKILL');
    const api2 = await waitFor(() => pidsOf('api').find((p) => p !== api), { timeoutMs: 30_000, intervalMs: 50, message: 'api restarted' });
    pids.add(api2);
    await waitFor(() => ok(`http://127.0.0.1:${apiPort}/healthz`), { timeoutMs: 120_000, message: 'restarted API /healthz' });
    expect(pidsOf('learner-1')).toEqual([learner, second]);
    expect(pidsOf('pipeline')).toEqual([pipeline]);
    for (const pid of [second, l0, pipeline]) expect(alive(pid)).toBe(true);
    expect(await ok(`http://127.0.0.1:${metricsPort}/healthz`)).toBe(true);

    // Only a signal stops everything: the children, then the Prometheus this start started.
    proc.kill('SIGINT');
    expect(await exited).toBe(0);
    for (const pid of pids) expect([pid, alive(pid)]).toEqual([pid, false]);
    for (const port of [apiPort, metricsPort, learnerPort(0), learnerPort(1), promPort])
      expect([port, await listening(port)]).toEqual([port, false]);
  });
});
