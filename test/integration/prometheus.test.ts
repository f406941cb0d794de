/**
 * Prometheus round trip: a dedicated Prometheus (own port and data dir) loads infra/prometheus/prometheus.yml with the
 * targets pointed at this test's running learnstream processes (the read API on the real Redis, and a pipeline-style
 * /metrics server), scrapes them, evaluates the real rules, and answers queries for learnstream metrics.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Registry } from 'prom-client';
import { startApi, type RunningApi } from '../../api/server';
import { loadConfig, type Config } from '../../lib/config';
import { createLogger } from '../../lib/log';
import { bindInstrumentation, createInstrumentation, createMetrics, serveMetrics, type MetricsServer } from '../../lib/metrics';
import { RedisServingStore } from '../../serving/redis-store';
import { startPrometheus, stackDown } from '../../infra/stack/index';
import { deleteKeys, freePort, testConfig, testRedis, waitFor } from '../helpers';

// testTimeout in a jest project config is ignored (it is a global option): set it here for the real services.
jest.setTimeout(120_000);

const PROM_DIR = path.resolve(__dirname, '../../infra/prometheus');

interface PromVector {
  metric: Record<string, string>;
  value: [number, string];
}

describe('Prometheus scrapes learnstream and evaluates its rules', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ls-prom-'));
  let promConfig: Config;
  let promUrl: string;
  let api: RunningApi;
  let pipeline: MetricsServer;
  const config = testConfig('prom');
  const redis = testRedis(config);

  const query = async (q: string): Promise<PromVector[]> => {
    const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(q)}`);
    const body = (await res.json()) as { status: string; data: { result: PromVector[] } };
    if (body.status !== 'success') throw new Error(`query ${q} failed: ${JSON.stringify(body)}`);
    return body.data.result;
  };

  beforeAll(async () => {
    const store = new RedisServingStore({ redis, keyPrefix: config.redis.keyPrefix });
    api = await startApi({
      config,
      store,
      registry: new Registry(),
      port: 0,
      logger: createLogger({ level: 'error' }),
      health: { redis: () => store.ping() },
    });
    // A pipeline-style process: its own registry, fed through instrumentation events, served by serveMetrics.
    const registry = new Registry();
    const instr = createInstrumentation();
    bindInstrumentation(instr, createMetrics(registry));
    instr.emit('event.consumed', { topic: 'learning.interactions', type: 'click' });
    instr.emit('list.written', { freshnessMs: 42, source: 'personal' });
    pipeline = await serveMetrics(registry, 0);

    const promPort = await freePort();
    promUrl = `http://127.0.0.1:${promPort}`;
    promConfig = loadConfig({ overrides: { dataDir: tmp, logLevel: 'warn', stack: { prometheusPort: promPort } } });
    const yml = fs
      .readFileSync(path.join(PROM_DIR, 'prometheus.yml'), 'utf8')
      .replace('127.0.0.1:18080', `127.0.0.1:${api.port}`)
      .replace('127.0.0.1:19464', `127.0.0.1:${pipeline.port}`)
      .replace('127.0.0.1:19090', `127.0.0.1:${promPort}`)
      .replace(/scrape_interval: 5s/, 'scrape_interval: 1s')
      .replace(/scrape_timeout: 4s/, 'scrape_timeout: 1s')
      .replace(/evaluation_interval: 5s/, 'evaluation_interval: 1s')
      .replace(/- rules\//g, `- ${PROM_DIR}/rules/`);
    const file = path.join(tmp, 'prometheus.yml');
    fs.writeFileSync(file, yml);
    await startPrometheus(promConfig, file);
  }, 120_000);

  afterAll(async () => {
    await stackDown(promConfig, { services: ['prometheus'] }).catch(() => undefined);
    await api?.stop();
    await pipeline?.close();
    await deleteKeys(redis, config.redis.keyPrefix);
    await redis.quit();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('reads the API request histogram back through the HTTP API, labelled by route template', async () => {
    const res = await fetch(`http://127.0.0.1:${api.port}/v1/learners/prom-learner/recommendations`, {
      headers: { 'x-api-key': 'dev-read-key' },
    });
    expect(res.status).toBe(200);
    const series = await waitFor(
      async () => {
        const r = await query(
          'learnstream_http_request_duration_seconds_count{job="learnstream-api",route="/v1/learners/:userId/recommendations",status="200"}',
        );
        return r.length > 0 && Number(r[0].value[1]) >= 1 ? r : false;
      },
      { timeoutMs: 30_000, intervalMs: 500, message: 'API request count in Prometheus' },
    );
    expect(series[0].metric).toMatchObject({ process: 'api', method: 'GET' });
  });

  it('scrapes the pipeline-style endpoint and both targets are up', async () => {
    const consumed = await waitFor(
      async () => {
        const r = await query('learnstream_pipeline_events_consumed_total{job="learnstream-pipeline"}');
        return r.length > 0 ? r : false;
      },
      { timeoutMs: 30_000, intervalMs: 500, message: 'pipeline events in Prometheus' },
    );
    expect(consumed[0].metric).toMatchObject({ topic: 'learning.interactions', type: 'click', process: 'pipeline' });
    const up = await query('up{job=~"learnstream-.*"}');
    expect(up.map((s) => [s.metric.job, s.value[1]]).sort()).toEqual([
      ['learnstream-api', '1'],
      ['learnstream-pipeline', '1'],
    ]);
  });

  it('loads the recording and alerting rules and evaluates them without errors', async () => {
    const rules = await waitFor(
      async () => {
        const body = (await (await fetch(`${promUrl}/api/v1/rules`)).json()) as {
          data: { groups: { name: string; rules: { name: string; health: string; lastError?: string }[] }[] };
        };
        const all = body.data.groups.flatMap((g) => g.rules);
        return all.length > 0 && all.every((r) => r.health === 'ok') ? body.data.groups : false;
      },
      { timeoutMs: 30_000, intervalMs: 500, message: 'all rules evaluated with health ok' },
    );
    expect(rules.map((g) => g.name).sort()).toEqual(
      ['learnstream-api', 'learnstream-pipeline', 'learnstream-pipeline', 'learnstream-slo'].sort(),
    );
    const rate = await waitFor(
      async () => {
        const r = await query('learnstream:pipeline_lists_written:rate1m');
        return r.length > 0 ? r : false;
      },
      { timeoutMs: 30_000, intervalMs: 500, message: 'recording rule series' },
    );
    expect(rate[0].metric).toMatchObject({ source: 'personal' });
  });
});
