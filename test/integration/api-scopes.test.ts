/**
 * The scope matrix, table-driven: every operation of the OpenAPI document and every event kind of POST /v1/events,
 * called with every kind of key (none, unknown, read, write, write-only, admin-only, admin, and write and admin keys
 * bound to the id prefix `acme:`), against the real API process code over the real Redis, Kafka and registry. The
 * expected status of each cell is written out below from docs/api.md, not derived from the code under test. At the
 * end the Kafka topics are read back: exactly the events and erasures of allowed cells were published, none of a
 * refused one.
 */
import type { Consumer, KafkaMessage } from 'kafkajs';
import type { RunningApi } from '../../api/server';
import type { ApiKey, Scope } from '../../lib/config';
import { createLogger } from '../../lib/log';
import { RedisServingStore } from '../../serving/redis-store';
import { topicName } from '../../schemas/topics';
import { ADMIN_GRANT } from '../../producers/authorize';
import type { EventKind } from '../../schemas';
import { closeKafkaWorld, deleteKeys, openKafkaWorld, testRedis, waitFor, type KafkaWorld } from '../helpers';
import { apiClient, type Reply } from '../unit/api-client';
import { openApiDoc } from '../unit/api-openapi';
import { startTestApi, type TestApi } from '../pipeline-support/api';

jest.setTimeout(120_000);

/** The callers. `scopes: null` = no key at all; `unknown` = a key the server does not know. */
interface Caller {
  name: string;
  key: string | null;
  scopes: Scope[] | null;
  idPrefix?: string;
}
const CALLERS: Caller[] = [
  { name: 'none', key: null, scopes: null },
  { name: 'unknown', key: 'no-such-key-0000', scopes: null },
  { name: 'read', key: 'scope-read-key', scopes: ['read'] },
  { name: 'write', key: 'scope-write-key', scopes: ['read', 'write'] },
  { name: 'writeOnly', key: 'scope-write-only-key', scopes: ['write'] },
  { name: 'adminOnly', key: 'scope-admin-only-key', scopes: ['admin'] },
  { name: 'admin', key: 'scope-admin-key', scopes: ['read', 'write', 'admin'] },
  { name: 'acmeWrite', key: 'scope-acme-write-key', scopes: ['read', 'write'], idPrefix: 'acme:' },
  { name: 'acmeAdmin', key: 'scope-acme-admin-key', scopes: ['read', 'write', 'admin'], idPrefix: 'acme:' },
];
const KEYS: ApiKey[] = CALLERS.filter((c) => c.scopes && c.key).map((c) => ({
  key: c.key!,
  scopes: c.scopes!,
  name: c.name,
  ...(c.idPrefix ? { idPrefix: c.idPrefix } : {}),
}));

/** docs/api.md: what each operation needs. `public` = no key needed. `bound` = the id in the path obeys idPrefix. */
interface RouteRow {
  op: string;
  method: string;
  path: (id: string) => string;
  needs: Scope | 'public';
  /** Status once authorised (the route's own answer for the seeded data). */
  ok: number;
  bound?: boolean;
}
const ROUTES: RouteRow[] = [
  {
    op: 'GET /v1/learners/{userId}/recommendations',
    method: 'GET',
    path: (id) => `/v1/learners/${id}/recommendations`,
    needs: 'read',
    ok: 200,
  },
  { op: 'GET /v1/learners/{userId}/knowledge', method: 'GET', path: (id) => `/v1/learners/${id}/knowledge`, needs: 'read', ok: 200 },
  { op: 'GET /v1/learners/{userId}/path', method: 'GET', path: (id) => `/v1/learners/${id}/path?goal=r-seeded`, needs: 'read', ok: 200 },
  { op: 'GET /v1/learners/{userId}/reviews', method: 'GET', path: (id) => `/v1/learners/${id}/reviews`, needs: 'read', ok: 200 },
  { op: 'GET /v1/resources/{id}/similar', method: 'GET', path: () => '/v1/resources/r-seeded/similar', needs: 'read', ok: 200 },
  { op: 'DELETE /v1/learners/{userId}', method: 'DELETE', path: (id) => `/v1/learners/${id}`, needs: 'admin', ok: 202, bound: true },
  // POST /v1/events has its own table below (per event kind); here only that it is in the document.
  { op: 'POST /v1/events', method: 'POST', path: () => '/v1/events', needs: 'write', ok: 202 },
  { op: 'GET /healthz', method: 'GET', path: () => '/healthz', needs: 'public', ok: 200 },
  { op: 'GET /readyz', method: 'GET', path: () => '/readyz', needs: 'public', ok: 200 },
  { op: 'GET /metrics', method: 'GET', path: () => '/metrics', needs: 'public', ok: 200 },
  { op: 'GET /openapi.json', method: 'GET', path: () => '/openapi.json', needs: 'public', ok: 200 },
];

/** docs/api.md and docs/events.md: the scope each event kind needs, and the id field a bound key's prefix holds. */
const KIND_NEEDS: Record<EventKind, { scope: Scope; boundField?: 'resourceId' | 'userId' }> = {
  interaction: { scope: 'write' },
  quizAttempt: { scope: 'write' },
  resource: { scope: 'write', boundField: 'resourceId' },
  profile: { scope: 'write', boundField: 'userId' },
  erasure: { scope: 'admin', boundField: 'userId' },
};
const KINDS = Object.keys(KIND_NEEDS) as EventKind[];
/** Ids are made in these two tenants' spaces: inside and outside the bound keys' prefix. */
const SPACES = ['acme:', 'globex:'] as const;

const authStatus = (c: Caller, needs: Scope | 'public'): number | null => {
  if (needs === 'public') return null;
  if (!c.scopes) return 401;
  return c.scopes.includes(needs) ? null : 403;
};

function expectedRoute(r: RouteRow, c: Caller, space: string): number {
  const auth = authStatus(c, r.needs);
  if (auth) return auth;
  if (r.bound && c.idPrefix && !space.startsWith(c.idPrefix)) return 403;
  return r.ok;
}

function expectedEvent(kind: EventKind, c: Caller, space: string): number {
  if (!c.scopes) return 401;
  // the collector admits write or admin keys; each event then needs its own scope
  if (!c.scopes.includes('write') && !c.scopes.includes('admin')) return 403;
  const need = KIND_NEEDS[kind];
  if (!c.scopes.includes(need.scope)) return 403;
  if (need.boundField && c.idPrefix && !space.startsWith(c.idPrefix)) return 403;
  return 202;
}

/** One valid event of `kind` whose owning ids lie in `space`; `tag` makes the ids of each cell unique. */
function eventOf(kind: EventKind, space: string, tag: string): Record<string, unknown> {
  const now = Date.now();
  const user = `${space}u-${tag}`;
  switch (kind) {
    case 'interaction':
      return {
        kind,
        eventId: `e-${tag}`,
        userId: user,
        resourceId: `${space}r-${tag}`,
        type: 'click',
        occurredAt: now,
        context: { platform: 'web' },
      };
    case 'quizAttempt':
      return { kind, eventId: `q-${tag}`, userId: user, itemId: `${space}i-${tag}`, correct: true, occurredAt: now };
    case 'resource':
      return { kind, resourceId: `${space}r-${tag}`, title: 'A resource', type: 'video' };
    case 'profile':
      return { kind, userId: user, interests: ['algebra'], updatedAt: now };
    case 'erasure':
      return { kind, requestId: `x-${tag}`, userId: user, requestedAt: now };
  }
}

describe('scope matrix over every route and every event kind (real Redis, Kafka, registry)', () => {
  let world: KafkaWorld | undefined;
  let api: RunningApi;
  let testApi: TestApi | undefined;
  let call: ReturnType<typeof apiClient>;
  let redis: ReturnType<typeof testRedis>;
  /** Topic (without prefix) → record keys that allowed cells published. */
  const expectedOnKafka = new Map<string, Set<string>>();
  const expectKey = (topic: string, key: string) => expectedOnKafka.set(topic, (expectedOnKafka.get(topic) ?? new Set()).add(key));

  beforeAll(async () => {
    world = await openKafkaWorld('scopes');
    const config = { ...world.config, api: { ...world.config.api, apiKeys: KEYS, rateLimitPerMinute: 100_000 } };
    redis = testRedis(config);
    const store = new RedisServingStore({ redis, keyPrefix: config.redis.keyPrefix });
    await store.putResource({
      resourceId: 'r-seeded',
      title: 'Seeded',
      type: 'video',
      topics: ['algebra'],
      skills: [],
      difficulty: 0.5,
      active: true,
    });
    await store.putCurriculumNode({ resourceId: 'r-seeded', title: 'Seeded', skills: [], prerequisites: [], active: true });
    const logger = createLogger({ level: 'error', write: () => undefined });
    testApi = await startTestApi({
      config,
      store,
      kafka: world.kafka,
      registry: world.registry,
      logger,
      grant: ADMIN_GRANT,
    });
    api = testApi.api;
    call = apiClient(`http://127.0.0.1:${api.port}`);
  }, 60_000);

  afterAll(async () => {
    await testApi?.stop();
    if (redis) {
      await deleteKeys(redis, world!.config.redis.keyPrefix);
      redis.disconnect();
    }
    await closeKafkaWorld(world);
  });

  it('the route table covers every operation of the OpenAPI document, and nothing else', () => {
    const documented = Object.entries(openApiDoc.paths as Record<string, Record<string, unknown>>).flatMap(([p, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`),
    );
    expect(ROUTES.map((r) => r.op).sort()).toEqual(documented.sort());
  });

  const routeCells = ROUTES.filter((r) => r.method !== 'POST').flatMap((r) =>
    CALLERS.flatMap((c) => (r.bound ? SPACES : ['acme:']).map((space) => ({ r, c, space }))),
  );
  it.each(routeCells.map((x) => [x.r.op, x.c.name, x.space, x]))('%s as %s (ids in %s)', async (_op, _caller, _space, { r, c, space }) => {
    const id = `${space}u-${r.method}-${c.name}`;
    const res: Reply = await call(r.method, r.path(id), { key: c.key });
    const want = expectedRoute(r, c, space);
    expect({ status: res.status, body: want >= 400 ? res.body : undefined }).toMatchObject({ status: want });
    if (want === 401) expect(res.body.type).toBe('https://learnstream.dev/problems/unauthenticated');
    if (want === 403) {
      expect(res.body.type).toBe('https://learnstream.dev/problems/forbidden');
      expect(res.body.detail).toMatch(
        r.bound && c.scopes?.includes('admin')
          ? /outside the ids the key '\w+' may write: they start with 'acme:'/
          : new RegExp(`needs the '${r.needs}' scope`),
      );
    }
    if (r.method === 'DELETE' && want === 202) expectKey('privacy.erasures', id);
  });

  const eventCells = KINDS.flatMap((kind) => CALLERS.flatMap((c) => SPACES.map((space) => ({ kind, c, space }))));
  it.each(eventCells.map((x) => [x.kind, x.c.name, x.space, x]))(
    'POST /v1/events kind %s as %s (ids in %s)',
    async (_kind, _caller, _space, { kind, c, space }) => {
      const tag = `${kind}-${c.name}`;
      const event = eventOf(kind, space, tag);
      const res = await call('POST', '/v1/events', { key: c.key, body: [event] });
      const want = expectedEvent(kind, c, space);
      expect({ status: res.status, body: res.body as unknown }).toMatchObject({ status: want });
      if (want === 202) {
        expect(res.body).toEqual({ accepted: 1, rejected: 0, errors: [] });
        const topic = {
          interaction: 'learning.interactions',
          quizAttempt: 'learning.quiz-attempts',
          resource: 'catalog.resources',
          profile: 'learners.profiles',
          erasure: 'privacy.erasures',
        }[kind];
        expectKey(topic, String(kind === 'resource' ? event.resourceId : event.userId));
      } else if (want === 403) {
        expect(res.body.type).toBe('https://learnstream.dev/problems/forbidden');
        const field = KIND_NEEDS[kind].boundField;
        // the collector names the refused event and why: the scope, or the id outside the prefix
        const scopeMissing = !c.scopes!.includes(KIND_NEEDS[kind].scope);
        const param = res.body.errors[0].param as string;
        if (!c.scopes!.includes('write') && !c.scopes!.includes('admin'))
          expect(res.body.detail).toMatch(/needs one of the scopes 'write', 'admin'/);
        else if (scopeMissing)
          expect(res.body.errors).toEqual([
            { param: '[0].kind', message: expect.stringContaining(`needs the '${KIND_NEEDS[kind].scope}' scope`) },
          ]);
        else expect(param).toBe(`[0].${field}`);
      }
    },
  );

  it('a batch holding one refused event is refused whole: nothing of it is published', async () => {
    const res = await call('POST', '/v1/events', {
      key: 'scope-write-key',
      body: [eventOf('interaction', 'acme:', 'mixed'), eventOf('erasure', 'acme:', 'mixed')],
    });
    expect(res.status).toBe(403);
    expect(res.body.events).toEqual([expect.objectContaining({ index: 1, kind: 'erasure', reason: 'forbidden' })]);
  });

  it('Kafka holds exactly the events of the allowed cells, and no erasure a non-admin asked for', async () => {
    const topics = ['learning.interactions', 'learning.quiz-attempts', 'catalog.resources', 'learners.profiles', 'privacy.erasures'];
    const prefix = world!.config.kafka.topicPrefix;
    const seen = new Map<string, Set<string>>();
    const total = [...expectedOnKafka.values()].reduce((n, s) => n + s.size, 0);
    let consumer: Consumer | undefined;
    try {
      consumer = world!.kafka.consumer({ groupId: `${prefix}scope-check` });
      await consumer.connect();
      await consumer.subscribe({ topics: topics.map((t) => `${prefix}${t}`), fromBeginning: true });
      let count = 0;
      await consumer.run({
        eachMessage: ({ topic, message }: { topic: string; message: KafkaMessage }) => {
          const t = topic.slice(prefix.length);
          seen.set(t, (seen.get(t) ?? new Set()).add(String(message.key)));
          count++;
          return Promise.resolve();
        },
      });
      await waitFor(() => count >= total, { timeoutMs: 30_000, message: `${total} records of allowed cells on Kafka` });
      // a refused record would arrive with the allowed ones (same producer, same batches); give stragglers a moment
      await new Promise((r) => setTimeout(r, 1000));
    } finally {
      await consumer?.disconnect();
    }
    const sorted = (m: Map<string, Set<string>>) => Object.fromEntries(topics.map((t) => [t, [...(m.get(t) ?? [])].sort()]));
    expect(sorted(seen)).toEqual(sorted(expectedOnKafka));
    // the erasures: admins anywhere, the bound admin only inside acme:, never a write key
    const erased = [...(seen.get('privacy.erasures') ?? [])];
    expect(erased.length).toBeGreaterThan(0);
    expect(erased.filter((u) => /-(read|write|writeOnly|acmeWrite|none|unknown)$/.test(u))).toEqual([]);
    expect(erased.filter((u) => u.startsWith('globex:') && u.endsWith('acmeAdmin'))).toEqual([]);
    expect(topicName('erasures', prefix)).toBe(`${prefix}privacy.erasures`);
  });
});
