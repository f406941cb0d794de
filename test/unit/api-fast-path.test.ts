/**
 * The node:http fast path (api/fast-path.ts) against express: one app, two listeners on it, one running the API's
 * handler (fast path, express behind it) and one running the express app alone. The same requests go to both and the
 * answers must be the same: status, every header but Date (ratelimit-remaining: the shared bucket counts down by one
 * per request), and the body byte for byte. The fast path's own counter and the duration histogram prove which path
 * served; requests it must leave to express are checked to reach express.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { startApi, type RunningApi } from '../../api/server';
import { loadConfig } from '../../lib/config';
import { DependencyError } from '../../lib/errors';
import { createLogger } from '../../lib/log';
import { MemoryServingStore } from '../../serving/memory-store';
import type { RecommendationView } from '../../serving/types';
import { seed } from './api-fixture';

const READ = 'fp-read-key';
const WRITE_ONLY = 'fp-write-only-key';
const RID = 'fixed-request-id-1';

/** A learner whose list read fails as when Redis is down (a 503 with Retry-After). */
class FlakyStore extends MemoryServingStore {
  override getRecommendationView(userId: string): Promise<RecommendationView | null> {
    if (userId === 'u-broken') return Promise.reject(new DependencyError('redis', 'connection refused'));
    return super.getRecommendationView(userId);
  }
}

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

let api: RunningApi;
let expressOnly: Server;
let registry: Registry;
let fastBase: string;
let expressBase: string;

beforeAll(async () => {
  const store = new FlakyStore({ now: () => Date.UTC(2026, 10, 2) });
  await seed(store);
  registry = new Registry();
  const config = loadConfig({
    env: {},
    overrides: {
      api: {
        apiKeys: [
          { key: READ, scopes: ['read'], name: 'reader' },
          { key: WRITE_ONLY, scopes: ['write'], name: 'writer' },
        ],
        rateLimitPerMinute: 100_000,
      },
    },
  });
  api = await startApi({
    config,
    store,
    registry,
    port: 0,
    host: '127.0.0.1',
    logger: createLogger({ level: 'error', write: () => undefined }),
  });
  expressOnly = createServer(api.app).listen(0, '127.0.0.1');
  await new Promise((resolve) => expressOnly.once('listening', resolve));
  fastBase = `http://127.0.0.1:${api.port}`;
  expressBase = `http://127.0.0.1:${(expressOnly.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => expressOnly.close(resolve));
  await api.stop();
});

async function get(base: string, path: string, headers: Record<string, string>): Promise<Answer> {
  const res = await fetch(base + path, { headers });
  const out: Record<string, string> = {};
  res.headers.forEach((v, k) => (out[k] = v));
  return { status: res.status, headers: out, body: await res.text() };
}

/** The answer without what differs between any two requests: Date, and the remaining rate-limit budget's value. */
function comparable(a: Answer): Answer {
  const headers = { ...a.headers };
  delete headers.date;
  if (headers['ratelimit-remaining'] !== undefined) headers['ratelimit-remaining'] = '(n)';
  return { ...a, headers };
}

const key = { 'x-api-key': READ, 'x-request-id': RID };
const CASES: [string, string, Record<string, string>][] = [
  ['personal list', '/v1/learners/u-personal/recommendations', key],
  ['limit', '/v1/learners/u-personal/recommendations?limit=2', key],
  ['explain', '/v1/learners/u-personal/recommendations?explain=true&limit=4', key],
  ['type filter', '/v1/learners/u-personal/recommendations?type=video', key],
  ['topic filter', '/v1/learners/u-personal/recommendations?topic=geometry', key],
  ['skill filter + explain', '/v1/learners/u-personal/recommendations?skill=linear-eq&explain=1', key],
  ['filter that empties the list (popular fallback)', '/v1/learners/u-personal/recommendations?type=book', key],
  ['cold-start learner', '/v1/learners/u-cold/recommendations?explain=true', key],
  ['learner with interests only', '/v1/learners/u-interests/recommendations?explain=true', key],
  ['missing learner', '/v1/learners/nobody-here/recommendations?explain=true', key],
  ['bad limit', '/v1/learners/u-personal/recommendations?limit=0', key],
  ['several bad parameters', '/v1/learners/u-personal/recommendations?limit=abc&type=bogus&explain=maybe&limt=5', key],
  ['repeated parameter', '/v1/learners/u-personal/recommendations?limit=1&limit=2', key],
  ['empty query', '/v1/learners/u-personal/recommendations?', key],
  ['bad learner id', '/v1/learners/a!b/recommendations', key],
  ['control character in topic', '/v1/learners/u-personal/recommendations?topic=%01x', key],
  ['store failure (503)', '/v1/learners/u-broken/recommendations', key],
  ['no key', '/v1/learners/u-personal/recommendations', { 'x-request-id': RID }],
  ['wrong key', '/v1/learners/u-personal/recommendations', { 'x-api-key': 'not-a-key', 'x-request-id': RID }],
  ['key without the read scope', '/v1/learners/u-personal/recommendations', { 'x-api-key': WRITE_ONLY, 'x-request-id': RID }],
  ['Bearer key', '/v1/learners/u-personal/recommendations?limit=3', { authorization: `Bearer ${READ}`, 'x-request-id': RID }],
  ['similar items', '/v1/resources/r-alg-video/similar', key],
  ['similar, popular-in-topic fallback', '/v1/resources/r-geo-video/similar?limit=2', key],
  ['similar, unknown resource', '/v1/resources/r-nope/similar', key],
  ['similar, bad limit', '/v1/resources/r-alg-video/similar?limit=999', key],
  ['similar, wrong key', '/v1/resources/r-alg-video/similar', { 'x-api-key': 'nope', 'x-request-id': RID }],
];

describe('fast path', () => {
  it.each(CASES)('answers as express does: %s', async (_name, path, headers) => {
    const before = api.fastPath.served();
    const viaExpress = await get(expressBase, path, headers);
    const viaFast = await get(fastBase, path, headers);
    expect(comparable(viaFast)).toEqual(comparable(viaExpress));
    // ...and it was the fast path that answered on the API's port, not express behind it
    const after = api.fastPath.served();
    const route = path.startsWith('/v1/resources/') ? '/v1/resources/:id/similar' : '/v1/learners/:userId/recommendations';
    expect(after[route] - before[route]).toBe(1);
  });

  it('makes a request id like express when none (or a malformed one) is sent', async () => {
    const variants: Record<string, string>[] = [{ 'x-api-key': READ }, { 'x-api-key': READ, 'x-request-id': 'bad id with spaces' }];
    for (const headers of variants) {
      const [a, b] = await Promise.all([
        get(expressBase, '/v1/learners/u-personal/recommendations?limit=1', headers),
        get(fastBase, '/v1/learners/u-personal/recommendations?limit=1', headers),
      ]);
      expect(a.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
      expect(b.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
      const masked = (x: Answer) => comparable({ ...x, headers: { ...x.headers, 'x-request-id': '(id)' } });
      expect(masked(b)).toEqual(masked(a));
    }
  });

  it('leaves to express what it does not serve, and express answers it', async () => {
    const before = api.fastPath.served();
    const fallThrough: [string, string, RequestInit][] = [
      ['upper case', '/v1/Learners/u-personal/recommendations', {}],
      ['trailing slash', '/v1/learners/u-personal/recommendations/', {}],
      ['percent-encoded id', '/v1/learners/u%2Dpersonal/recommendations', {}],
      ['HEAD', '/v1/learners/u-personal/recommendations', { method: 'HEAD' }],
      ['conditional request', '/v1/learners/u-personal/recommendations', { headers: { 'if-none-match': '*' } }],
      ['another route', '/v1/learners/u-personal/knowledge', {}],
    ];
    for (const [, path, init] of fallThrough) {
      const headers = { ...key, ...(init.headers as Record<string, string> | undefined) };
      const [a, b] = await Promise.all([fetch(expressBase + path, { ...init, headers }), fetch(fastBase + path, { ...init, headers })]);
      expect(b.status).toBe(a.status);
      expect(await b.text()).toBe(await a.text());
    }
    expect(api.fastPath.served()).toEqual(before);
  });

  it('records the same metrics as express: duration by route template and status', async () => {
    const countOf = async (status: string) => {
      const m = (await registry.getSingleMetric('learnstream_http_request_duration_seconds')!.get()).values as {
        metricName?: string;
        labels: Record<string, string | number>;
        value: number;
      }[];
      return (
        m.find(
          (v) =>
            v.metricName === 'learnstream_http_request_duration_seconds_count' &&
            v.labels.route === '/v1/learners/:userId/recommendations' &&
            v.labels.status === status,
        )?.value ?? 0
      );
    };
    const [ok0, bad0] = [await countOf('200'), await countOf('400')];
    const served0 = api.fastPath.served()['/v1/learners/:userId/recommendations'];
    await get(fastBase, '/v1/learners/u-personal/recommendations', key);
    await get(fastBase, '/v1/learners/u-personal/recommendations?limit=x', key);
    await get(expressBase, '/v1/learners/u-personal/recommendations', key);
    // finish listeners run after the response is out: let them
    await new Promise((r) => setTimeout(r, 50));
    expect(await countOf('200')).toBe(ok0 + 2);
    expect(await countOf('400')).toBe(bad0 + 1);
    expect(api.fastPath.served()['/v1/learners/:userId/recommendations']).toBe(served0 + 2);
  });
});
