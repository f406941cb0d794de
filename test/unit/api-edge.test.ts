/** API edges that need no real services: rate limit, CORS, request ids in logs, readiness, draining, 5xx mapping. */
import { Registry } from 'prom-client';
import { startApi, type RunningApi, type StartOptions } from '../../api/server';
import { loadConfig } from '../../lib/config';
import { DependencyError } from '../../lib/errors';
import { createLogger, pseudonymiser } from '../../lib/log';
import { MemoryServingStore } from '../../serving/memory-store';
import { apiClient } from './api-client';
import { assertMatchesOpenApi } from './api-openapi';
import { createCollectorRouter } from '../../producers/collector';

// Generous: the shared 2-core machine can be busy; a timed-out test would leave a request that fails the suite later.
jest.setTimeout(30_000);

const KEY = 'edge-read-key';
const running: RunningApi[] = [];

async function start(opts: Partial<StartOptions> & { api?: Record<string, unknown> } = {}) {
  const config = loadConfig({ env: {}, overrides: { api: { apiKeys: [{ key: KEY, scopes: ['read'], name: 'edge' }], ...opts.api } } });
  const api = await startApi({
    config,
    store: new MemoryServingStore(),
    registry: new Registry(),
    port: 0,
    logger: createLogger({ level: 'error', write: () => undefined }),
    ...opts,
  });
  running.push(api);
  return { api, call: apiClient(`http://127.0.0.1:${api.port}`, KEY) };
}

afterEach(async () => {
  await Promise.all(running.splice(0).map((a) => a.stop()));
});

it('rate-limits per key with a token bucket: 429 problem+json with Retry-After', async () => {
  let t = 1_000_000;
  const { call } = await start({ api: { rateLimitPerMinute: 3 }, now: () => t });
  for (let i = 0; i < 3; i++) expect((await call('GET', '/v1/learners/u/knowledge')).status).toBe(200);
  const limited = await call('GET', '/v1/learners/u/knowledge');
  expect(limited.status).toBe(429);
  expect(limited.headers.get('retry-after')).toBe('20');
  expect(limited.body.type).toBe('https://learnstream.dev/problems/rate-limited');
  t += 20_000; // one token back
  expect((await call('GET', '/v1/learners/u/knowledge')).status).toBe(200);
  expect((await call('GET', '/v1/learners/u/knowledge')).status).toBe(429);
  // Health and metrics are not rate limited.
  expect((await call('GET', '/healthz', { key: null })).status).toBe(200);
});

it('answers CORS preflights for allowed origins only', async () => {
  const { api } = await start({ api: { corsOrigins: ['https://app.example'] } });
  const base = `http://127.0.0.1:${api.port}`;
  const pre = await fetch(`${base}/v1/learners/u/recommendations`, {
    method: 'OPTIONS',
    headers: { origin: 'https://app.example', 'access-control-request-method': 'GET', 'access-control-request-headers': 'x-api-key' },
  });
  expect(pre.status).toBe(204);
  expect(pre.headers.get('access-control-allow-origin')).toBe('https://app.example');
  expect(pre.headers.get('access-control-allow-headers')).toContain('x-api-key');
  const get = await fetch(`${base}/v1/learners/u/recommendations`, { headers: { origin: 'https://app.example', 'x-api-key': KEY } });
  expect(get.headers.get('access-control-allow-origin')).toBe('https://app.example');
  expect(get.headers.get('access-control-expose-headers')).toContain('x-request-id');
  const other = await fetch(`${base}/v1/learners/u/recommendations`, { headers: { origin: 'https://evil.example', 'x-api-key': KEY } });
  expect(other.headers.get('access-control-allow-origin')).toBeNull();
});

it('keeps a well-formed incoming request id, replaces a malformed one, and logs it', async () => {
  const lines: string[] = [];
  const { call } = await start({ logger: createLogger({ level: 'info', write: (l) => lines.push(l) }) });
  const r = await call('GET', '/v1/learners/u/knowledge', { headers: { 'x-request-id': 'trace-abc.123' } });
  expect(r.headers.get('x-request-id')).toBe('trace-abc.123');
  const bad = await call('GET', '/v1/learners/u/knowledge', { headers: { 'x-request-id': 'has spaces and "quotes"' } });
  expect(bad.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  await new Promise((r2) => setTimeout(r2, 20));
  const logged = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'request');
  // The whole path, not the part left by a router; the learner id in it as its pseudonym (lib/log.ts), never raw.
  const path = `/v1/learners/${pseudonymiser()('u')}/knowledge`;
  expect(logged).toContainEqual(
    expect.objectContaining({ requestId: 'trace-abc.123', path, route: '/v1/learners/:userId/knowledge', status: 200, apiKey: 'edge' }),
  );
});

it('labels requests as express matches routes: HEAD as GET, any case, a trailing slash; a bad path escape is 400 before the key check', async () => {
  const { api, call } = await start({ api: { corsOrigins: ['*'] } });
  const base = `http://127.0.0.1:${api.port}`;
  expect((await fetch(`${base}/v1/learners/u/knowledge`, { method: 'HEAD', headers: { 'x-api-key': KEY } })).status).toBe(200);
  expect((await call('GET', '/V1/Learners/u/knowledge/', { key: null, validate: false })).status).toBe(401);
  // A documented path with a method it does not have is not that route.
  expect((await call('POST', '/v1/learners/u/knowledge', { key: null, validate: false })).status).toBe(401);
  const bad = await call('GET', '/v1/learners/%E0%A4%A/knowledge', { key: null, validate: false });
  expect(bad.status).toBe(400);
  expect(bad.body).toMatchObject({ type: 'https://learnstream.dev/problems/invalid-request', detail: "Failed to decode param '%E0%A4%A'" });
  const pre = await fetch(`${base}/v1/learners/%E0%A4%A/knowledge`, {
    method: 'OPTIONS',
    headers: { origin: 'https://app.example', 'access-control-request-method': 'GET' },
  });
  expect(pre.status).toBe(204);
  const text = (await call('GET', '/metrics', { key: null })).body as string;
  const count = (method: string, route: string, status: number) =>
    `learnstream_http_request_duration_seconds_count{method="${method}",route="${route}",status="${status}"} 1`;
  expect(text).toContain(count('HEAD', '/v1/learners/:userId/knowledge', 200));
  expect(text).toContain(count('GET', '/v1/learners/:userId/knowledge', 401));
  expect(text).toContain(count('POST', 'unmatched', 401));
  expect(text).toContain(count('GET', 'unmatched', 400));
});

it('sends read responses as JSON with a charset and the byte length of non-ASCII bodies; HEAD and conditional GETs as before', async () => {
  const store = new MemoryServingStore();
  const title = 'Équations du premier degré – 一次方程式 '.repeat(40); // over 1,000 characters
  await store.putResource({ resourceId: 'r1', title, type: 'video', topics: ['algèbre'], skills: [], active: true });
  await store.putRecommendations({
    userId: 'u',
    modelVersion: 'm',
    generatedAt: 1,
    source: 'personal',
    items: [{ resourceId: 'r1', score: 1, reasons: [] }],
  });
  const { api } = await start({ store });
  const url = `http://127.0.0.1:${api.port}/v1/learners/u/recommendations`;
  const res = await fetch(url, { headers: { 'x-api-key': KEY } });
  const bytes = Buffer.from(await res.arrayBuffer());
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
  expect(Number(res.headers.get('content-length'))).toBe(bytes.length);
  expect((JSON.parse(bytes.toString('utf8')) as { items: { title: string }[] }).items[0].title).toBe(title);
  const head = await fetch(url, { method: 'HEAD', headers: { 'x-api-key': KEY } });
  expect(head.status).toBe(200);
  expect(head.headers.get('content-length')).toBe(String(bytes.length));
  expect((await head.arrayBuffer()).byteLength).toBe(0);
  const conditional = await fetch(url, { headers: { 'x-api-key': KEY, 'if-none-match': '"x"' } });
  expect(conditional.status).toBe(200);
  expect(Buffer.from(await conditional.arrayBuffer()).equals(bytes)).toBe(true);
});

it('reports not-ready with the failing checks (503), timing out hung checks', async () => {
  const { call } = await start({
    health: {
      redis: () => Promise.resolve(true),
      kafka: () => Promise.reject(new Error('ECONNREFUSED')),
      slow: () => new Promise(() => undefined),
    },
  });
  const r = await call('GET', '/readyz', { key: null });
  expect(r.status).toBe(503);
  expect(r.body.status).toBe('not-ready');
  expect(r.body.checks.redis.ok).toBe(true);
  expect(r.body.checks.kafka).toMatchObject({ ok: false, error: 'ECONNREFUSED' });
  expect(r.body.checks.slow).toMatchObject({ ok: false, error: 'timed out after 1000 ms' });
});

it('/readyz?checks= runs only the named checks, and an unknown name fails', async () => {
  const { call } = await start({ health: { redis: () => Promise.resolve(true), kafka: () => Promise.reject(new Error('ECONNREFUSED')) } });
  const reads = await call('GET', '/readyz?checks=redis', { key: null });
  expect(reads.status).toBe(200);
  expect(reads.body).toEqual({ status: 'ready', checks: { redis: expect.objectContaining({ ok: true }) } });
  assertMatchesOpenApi('GET', '/readyz', { status: reads.status, contentType: 'application/json', body: reads.body });
  expect((await call('GET', '/readyz?checks=redis,kafka', { key: null })).status).toBe(503);
  const typo = await call('GET', '/readyz?checks=reddis', { key: null });
  expect(typo.status).toBe(503);
  expect(typo.body.checks).toEqual({ reddis: expect.objectContaining({ ok: false, error: 'unknown check' }) });
  expect((await call('GET', '/readyz', { key: null })).status).toBe(503); // no filter: every check
});

it('maps a dependency failure to 503 problem+json with Retry-After, and an unexpected one to 500 without leaking it', async () => {
  const store = new MemoryServingStore();
  store.getKnowledge = () => Promise.reject(new DependencyError('redis', 'connection refused'));
  store.getRecommendationView = () => Promise.reject(new Error('secret internal detail'));
  const { call } = await start({ store });
  const dep = await call('GET', '/v1/learners/u/knowledge');
  expect(dep.status).toBe(503);
  expect(dep.headers.get('retry-after')).toBe('1');
  expect(dep.body.type).toBe('https://learnstream.dev/problems/dependency-unavailable');
  const boom = await call('GET', '/v1/learners/u/recommendations');
  expect(boom.status).toBe(500);
  expect(JSON.stringify(boom.body)).not.toContain('secret');
});

it('answers DELETE with 503 when no erasure publisher is configured', async () => {
  const config = loadConfig({ env: {}, overrides: { api: { apiKeys: [{ key: 'edge-admin-key', scopes: ['admin'], name: 'a' }] } } });
  const api = await startApi({
    config,
    store: new MemoryServingStore(),
    registry: new Registry(),
    port: 0,
    logger: createLogger({ level: 'error' }),
  });
  running.push(api);
  const r = await apiClient(`http://127.0.0.1:${api.port}`, 'edge-admin-key')('DELETE', '/v1/learners/u');
  expect(r.status).toBe(503);
});

it('drains in-flight requests on stop, refuses new work, and stop() is idempotent', async () => {
  const store = new MemoryServingStore();
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const original = store.getKnowledge.bind(store);
  store.getKnowledge = async (u) => {
    await gate;
    return original(u);
  };
  let closed = 0;
  const { api, call } = await start({ store, onClose: () => Promise.resolve(void closed++) });
  const slow = call('GET', '/v1/learners/u/knowledge');
  while (api.drain.inFlight() === 0) await new Promise((r) => setTimeout(r, 5));
  expect(api.drain.inFlight()).toBe(1);
  const stopped = api.stop();
  expect(api.stop()).toBe(stopped);
  await new Promise((r) => setTimeout(r, 50));
  await expect(fetch(`http://127.0.0.1:${api.port}/healthz`)).rejects.toThrow();
  release();
  expect((await slow).status).toBe(200);
  await stopped;
  expect(closed).toBe(1);
});

it('labels 401, 429 and 503 answers of a known route with its template, and only unknown paths as unmatched', async () => {
  const { api, call } = await start({ api: { rateLimitPerMinute: 1 } });
  expect((await call('GET', '/v1/learners/u/recommendations', { key: null })).status).toBe(401);
  expect((await call('GET', '/v1/resources/r1/similar', { key: 'not-a-key' })).status).toBe(401);
  expect((await call('GET', '/v1/learners/u/knowledge')).status).toBe(200);
  expect((await call('GET', '/v1/learners/u/knowledge')).status).toBe(429);
  expect((await call('GET', '/v1/no-such-route', { key: null, validate: false })).status).toBe(401);
  api.drain.begin();
  expect((await call('GET', '/v1/learners/u/knowledge')).status).toBe(503);
  const text = (await call('GET', '/metrics', { key: null })).body as string;
  const count = (route: string, status: number, method = 'GET') =>
    new RegExp(
      `learnstream_http_request_duration_seconds_count\\{method="${method}",route="${route.replace(/\//g, '\\/')}",status="${status}"\\} 1\\b`,
    );
  expect(text).toMatch(count('/v1/learners/:userId/recommendations', 401));
  expect(text).toMatch(count('/v1/resources/:id/similar', 401));
  expect(text).toMatch(count('/v1/learners/:userId/knowledge', 200));
  expect(text).toMatch(count('/v1/learners/:userId/knowledge', 429));
  expect(text).toMatch(count('/v1/learners/:userId/knowledge', 503));
  expect(text).toMatch(count('unmatched', 401));
  expect(text).not.toMatch(/route="unmatched",status="(429|503)"/);
});

it('while draining, /readyz answers 503 draining and /metrics and /healthz still answer; other requests get shutting-down', async () => {
  const { api, call } = await start({ health: { redis: () => Promise.resolve(true) } });
  expect((await call('GET', '/readyz', { key: null })).body.status).toBe('ready');
  api.drain.begin();
  const ready = await call('GET', '/readyz', { key: null });
  expect(ready.status).toBe(503);
  expect(ready.body).toMatchObject({ status: 'draining', checks: { redis: { ok: true } } });
  expect(ready.headers.get('connection')).toBe('close');
  assertMatchesOpenApi('GET', '/readyz', { status: ready.status, contentType: 'application/json', body: ready.body });
  const metrics = await call('GET', '/metrics', { key: null });
  expect(metrics.status).toBe(200);
  expect(metrics.body).toContain('learnstream_http_request_duration_seconds_count{method="GET",route="/readyz",status="503"} 1');
  expect((await call('GET', '/healthz', { key: null })).status).toBe(200);
  const refused = await call('GET', '/v1/learners/u/knowledge');
  expect(refused.status).toBe(503);
  expect(refused.body.type).toBe('https://learnstream.dev/problems/shutting-down');
});

it('the OpenAPI check rejects responses that drift from the document', () => {
  expect(() =>
    assertMatchesOpenApi('GET', '/v1/learners/u/knowledge', {
      status: 200,
      contentType: 'application/json',
      body: { userId: 'u', skills: [] },
    }),
  ).toThrow(/updatedAt/);
  expect(() => assertMatchesOpenApi('GET', '/v1/learners/u/knowledge', { status: 418, contentType: 'application/json', body: {} })).toThrow(
    /418/,
  );
  expect(() =>
    assertMatchesOpenApi('GET', '/v1/learners/u/recommendations', {
      status: 400,
      contentType: 'application/problem+json',
      body: { type: 'about:blank', title: 't', status: 400 },
    }),
  ).toThrow();
});

describe('POST /v1/events (the collector mounted behind the API middleware)', () => {
  const WRITE = 'edge-write-key';
  async function startWithCollector(opts: { api?: Record<string, unknown>; now?: () => number } = {}) {
    const published: unknown[] = [];
    const eventsRouter = createCollectorRouter({
      publisher: { publishValid: (e) => Promise.resolve(void published.push(e)) },
      limits: { maxEvents: 2, maxBodyBytes: 4096 },
    });
    const config = loadConfig({
      env: {},
      overrides: {
        api: {
          apiKeys: [
            { key: KEY, scopes: ['read'], name: 'r' },
            { key: WRITE, scopes: ['write'], name: 'w' },
          ],
          ...opts.api,
        },
      },
    });
    const api = await startApi({
      config,
      store: new MemoryServingStore(),
      registry: new Registry(),
      port: 0,
      logger: createLogger({ level: 'error', write: () => undefined }),
      eventsRouter,
      ...(opts.now ? { now: opts.now } : {}),
    });
    running.push(api);
    return { api, published, call: apiClient(`http://127.0.0.1:${api.port}`, WRITE) };
  }
  const click = {
    kind: 'interaction',
    eventId: 'e1',
    userId: 'u1',
    resourceId: 'r1',
    type: 'click',
    occurredAt: Date.now(),
    context: { platform: 'web' },
  };

  it('needs the write scope, accepts valid events (202), answers problem+json for bad bodies', async () => {
    const { api, published, call } = await startWithCollector();
    expect((await call('POST', '/v1/events', { key: null, body: [click] })).status).toBe(401);
    expect((await call('POST', '/v1/events', { key: KEY, body: [click] })).status).toBe(403);
    const ok = await call('POST', '/v1/events', { body: [click] });
    expect(ok.status).toBe(202);
    expect(ok.body).toEqual({ accepted: 1, rejected: 0, errors: [] });
    expect(published).toHaveLength(1);
    const bad = await call('POST', '/v1/events', { body: [{ kind: 'interaction', userId: 'u1' }] });
    expect(bad.status).toBe(400);
    expect(bad.body.type).toBe('https://learnstream.dev/problems/invalid-request');
    expect((await call('POST', '/v1/events', { body: [click, click, click] })).status).toBe(413);
    const notJson = await fetch(`http://127.0.0.1:${api.port}/v1/events`, {
      method: 'POST',
      headers: { 'x-api-key': WRITE, 'content-type': 'text/plain' },
      body: 'hello',
    });
    expect(notJson.status).toBe(415);
    const broken = await fetch(`http://127.0.0.1:${api.port}/v1/events`, {
      method: 'POST',
      headers: { 'x-api-key': WRITE, 'content-type': 'application/json' },
      body: '[{',
    });
    expect(broken.status).toBe(400);
    assertMatchesOpenApi('POST', '/v1/events', { status: 400, contentType: broken.headers.get('content-type'), body: await broken.json() });
    const metrics = await (await fetch(`http://127.0.0.1:${api.port}/metrics`)).text();
    expect(metrics).toMatch(/learnstream_http_request_duration_seconds_count\{method="POST",route="\/v1\/events",status="202"\} 1/);
    expect(metrics).toMatch(/learnstream_http_request_duration_seconds_count\{method="POST",route="\/v1\/events",status="403"\} 1/);
  });

  it('rate-limits the collector per key: 429 problem+json with Retry-After, and the limited batch is not published', async () => {
    let t = 2_000_000;
    const { published, call } = await startWithCollector({ api: { rateLimitPerMinute: 2 }, now: () => t });
    for (let i = 0; i < 2; i++) expect((await call('POST', '/v1/events', { body: [{ ...click, eventId: `e-rl-${i}` }] })).status).toBe(202);
    const limited = await call('POST', '/v1/events', { body: [{ ...click, eventId: 'e-rl-2' }] });
    expect(limited.status).toBe(429);
    expect(limited.contentType).toMatch(/^application\/problem\+json/);
    expect(limited.headers.get('retry-after')).toBe('30');
    expect(limited.body).toMatchObject({ type: 'https://learnstream.dev/problems/rate-limited', status: 429 });
    expect(published).toHaveLength(2);
    t += 30_000; // one token back
    expect((await call('POST', '/v1/events', { body: [{ ...click, eventId: 'e-rl-3' }] })).status).toBe(202);
    expect(published).toHaveLength(3);
  });
});

it('throttles an address that keeps presenting unknown keys (429), without affecting valid keys', async () => {
  let t = 5_000_000;
  const { call } = await start({ now: () => t });
  for (let i = 0; i < 60; i++) expect((await call('GET', '/v1/learners/u/knowledge', { key: `guess-${i}-xxxxxxxx` })).status).toBe(401);
  const blocked = await call('GET', '/v1/learners/u/knowledge', { key: 'guess-61-xxxxxxxx' });
  expect(blocked.status).toBe(429);
  expect(blocked.headers.get('retry-after')).toBe('1');
  expect((await call('GET', '/v1/learners/u/knowledge')).status).toBe(200);
  t += 1000;
  expect((await call('GET', '/v1/learners/u/knowledge', { key: 'guess-62-xxxxxxxx' })).status).toBe(401);
});

it('logs probes and scrapes at debug, a not-ready /readyz at info, client requests at info', async () => {
  const lines: { level: string; msg: string; route?: string; status?: number }[] = [];
  const { call } = await start({
    health: { store: () => Promise.resolve(false) },
    logger: createLogger({ level: 'debug', write: (l) => lines.push(JSON.parse(l) as (typeof lines)[number]) }),
  });
  expect((await call('GET', '/metrics', { key: null })).status).toBe(200);
  expect((await call('GET', '/healthz', { key: null })).status).toBe(200);
  expect((await call('GET', '/readyz', { key: null })).status).toBe(503);
  expect((await call('GET', '/v1/learners/u/knowledge')).status).toBe(200);
  const access = lines.filter((l) => l.msg === 'request').map((l) => `${l.route} ${l.status} ${l.level}`);
  expect(access).toEqual(['/metrics 200 debug', '/healthz 200 debug', '/readyz 503 info', '/v1/learners/:userId/knowledge 200 info']);
  expect(lines.filter((l) => l.level === 'error')).toEqual([]);
});
