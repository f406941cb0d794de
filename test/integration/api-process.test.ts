/**
 * The real API entry point (`npm run api` = api/server.ts) as a child process on the real stack: it becomes ready,
 * reports its dependency checks, serves requests with request ids and metrics, and exits 0 on SIGTERM.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { deleteKeys, freePort, testConfig, testRedis, waitFor } from '../helpers';

// testTimeout in a jest project config is ignored (it is a global option): set it here for the real services.
jest.setTimeout(120_000);

const ROOT = path.resolve(__dirname, '../..');

describe('api/server.ts process', () => {
  const config = testConfig('api-proc');
  let child: ChildProcess;
  let stderr = '';
  let base: string;

  beforeAll(async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    child = spawn(path.join(ROOT, 'node_modules/.bin/tsx'), [path.join(ROOT, 'api/server.ts')], {
      env: {
        ...process.env,
        LEARNSTREAM_API_PORT: String(port),
        LEARNSTREAM_REDIS_KEY_PREFIX: config.redis.keyPrefix,
        LEARNSTREAM_KAFKA_TOPIC_PREFIX: config.kafka.topicPrefix,
        LEARNSTREAM_LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    await waitFor(async () => (await fetch(`${base}/healthz`)).ok, {
      timeoutMs: 60_000,
      intervalMs: 200,
      message: `API process listening (stderr: ${stderr.slice(-500)})`,
    });
  });

  afterAll(async () => {
    if (child.exitCode === null) child.kill('SIGKILL');
    const redis = testRedis(config);
    await deleteKeys(redis, config.redis.keyPrefix);
    await redis.quit();
  });

  it('checks Redis, Kafka and the registry for readiness; "model" waits for serving data', async () => {
    const r = await fetch(`${base}/readyz`);
    const body = (await r.json()) as { status: string; checks: Record<string, { ok: boolean }> };
    expect(Object.keys(body.checks).sort()).toEqual(['kafka', 'model', 'redis', 'registry']);
    expect(body.checks.redis.ok && body.checks.kafka.ok && body.checks.registry.ok).toBe(true);
    // A fresh key prefix has no popularity yet: not ready to serve content, said so.
    expect(body.checks.model.ok).toBe(false);
    expect(r.status).toBe(503);
  });

  it('serves a labelled fallback, logs the request id, and exits 0 on SIGTERM', async () => {
    const r = await fetch(`${base}/v1/learners/someone/recommendations`, {
      headers: { 'x-api-key': 'dev-read-key', 'x-request-id': 'proc-test-1' },
    });
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ source: 'popular', fallback: true });
    await waitFor(() => stderr.includes('"requestId":"proc-test-1"'), { message: 'request id in the log' });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stderr).toContain('"msg":"api stopped"');
  });
});
