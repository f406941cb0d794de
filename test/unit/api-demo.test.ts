/** The demo page's server side without services: key choice, the figures read from real prom-client output, routes. */
import { Registry } from 'prom-client';
import { demoKeys } from '../../api/demo/keys';
import { pipelineFigures } from '../../api/demo/pipeline-metrics';
import { startApi, type RunningApi } from '../../api/server';
import { loadConfig } from '../../lib/config';
import { createLogger } from '../../lib/log';
import { createMetrics, serveMetrics, type MetricsServer } from '../../lib/metrics';
import { MemoryServingStore } from '../../serving/memory-store';

jest.setTimeout(30_000);

const KEYS = [
  { key: 'demo-admin-key', scopes: ['read', 'write', 'admin'] as const, name: 'admin' },
  { key: 'demo-write-key', scopes: ['read', 'write'] as const, name: 'write' },
  { key: 'demo-read-key', scopes: ['read'] as const, name: 'read' },
].map((k) => ({ ...k, scopes: [...k.scopes] }));

describe('demoKeys', () => {
  it('gives the browser a read-only key and the server a write key without admin', () => {
    expect(demoKeys(KEYS)).toEqual({ browserRead: KEYS[2], serverWrite: KEYS[1] });
  });
  it('never falls back to a broader key', () => {
    expect(demoKeys([KEYS[0]])).toEqual({ browserRead: undefined, serverWrite: undefined });
  });
});

describe('pipelineFigures from real prom-client output', () => {
  it('counts, means and bucket-bound quantiles of the personal freshness; sums of the counters', async () => {
    const registry = new Registry();
    const m = createMetrics(registry, { defaultMetrics: false });
    // 20 personal lists: 18 within 50 ms, 2 at 0.4 s; popular lists are not the panel's figure.
    for (let i = 0; i < 18; i++) m.freshness.observe({ source: 'personal' }, 0.04);
    m.freshness.observe({ source: 'personal' }, 0.4);
    m.freshness.observe({ source: 'personal' }, 0.4);
    m.freshness.observe({ source: 'popular' }, 50);
    m.eventsConsumed.inc({ topic: 'a', type: 'click' }, 5);
    m.eventsConsumed.inc({ topic: 'b', type: 'quiz' }, 2);
    m.listsWritten.inc({ source: 'personal' }, 20);
    m.listsWritten.inc({ source: 'popular' }, 1);
    const f = pipelineFigures(await registry.metrics());
    expect(f.freshness.count).toBe(20);
    expect(f.freshness.meanSec).toBeCloseTo((18 * 0.04 + 0.8) / 20, 6);
    expect(f.freshness.p50LeSec).toBe(0.05);
    expect(f.freshness.p95LeSec).toBe(0.5);
    expect(f.eventsConsumed).toBe(7);
    expect(f.listsWritten).toBe(21);
    expect(f.rerank).toEqual({ count: 0, meanSec: null, p50LeSec: null, p95LeSec: null });
  });

  it("reports a quantile beyond the largest bucket as '+Inf'", async () => {
    const registry = new Registry();
    createMetrics(registry, { defaultMetrics: false }).freshness.observe({ source: 'personal' }, 120);
    expect(pipelineFigures(await registry.metrics()).freshness.p95LeSec).toBe('+Inf');
  });
});

describe('demo routes', () => {
  const running: { stop(): Promise<void> }[] = [];
  afterEach(async () => {
    await Promise.all(running.splice(0).map((r) => r.stop()));
  });
  async function start(demoPage: boolean, pipelineMetricsUrl?: string): Promise<string> {
    const config = loadConfig({ env: {}, overrides: { api: { apiKeys: KEYS, demoPage } } });
    const api: RunningApi = await startApi({
      config,
      store: new MemoryServingStore(),
      registry: new Registry(),
      port: 0,
      logger: createLogger({ level: 'error', write: () => undefined }),
      pipelineMetricsUrl,
    });
    running.push(api);
    return `http://127.0.0.1:${api.port}`;
  }

  it('are off unless config.api.demoPage', async () => {
    const base = await start(false);
    expect((await fetch(`${base}/demo`)).status).toBe(404);
    expect((await fetch(`${base}/demo/events`, { method: 'POST' })).status).toBe(404);
  });

  it('serve the page with a strict content security policy and hand out the read-only key only', async () => {
    const base = await start(true);
    const page = await fetch(`${base}/demo`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(await page.text()).toContain('<script src="/demo/app.js"');
    expect((await fetch(`${base}/demo/app.js`)).headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(await (await fetch(`${base}/demo/config.json`)).json()).toMatchObject({
      readKey: 'demo-read-key',
      canWrite: true,
      learners: expect.arrayContaining(['demo-learner-1']),
    });
  });

  it('reject anything but a demo action before posting it', async () => {
    const base = await start(true);
    const post = (body: unknown) =>
      fetch(`${base}/demo/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    for (const body of [
      { userId: 'u', resourceId: 'r', action: 'erase' },
      { userId: 'bad id', resourceId: 'r', action: 'click' },
      { userId: 'u', resourceId: 'r', action: 'click', kind: 'erasure' },
    ]) {
      const r = await post(body);
      expect(r.status).toBe(400);
      expect(((await r.json()) as { type: string }).type).toMatch(/invalid-request$/);
    }
  });

  it('proxy the pipeline figures, and say so when the pipeline is not there', async () => {
    const registry = new Registry();
    createMetrics(registry, { defaultMetrics: false }).freshness.observe({ source: 'personal' }, 0.02);
    const pipeline: MetricsServer = await serveMetrics(registry, 0);
    running.push({ stop: () => pipeline.close() });
    const up = (await (await fetch(`${await start(true, `http://127.0.0.1:${pipeline.port}/metrics`)}/demo/metrics`)).json()) as {
      pipeline: { freshness: { count: number; p50LeSec: number } };
    };
    expect(up.pipeline.freshness).toMatchObject({ count: 1, p50LeSec: 0.025 });
    const down = (await (await fetch(`${await start(true, 'http://127.0.0.1:9/metrics')}/demo/metrics`)).json()) as {
      pipeline: null;
      error: string;
    };
    expect(down.pipeline).toBeNull();
    expect(down.error).toMatch(/pipeline metrics at http:\/\/127\.0\.0\.1:9\/metrics unavailable/);
  });
});
