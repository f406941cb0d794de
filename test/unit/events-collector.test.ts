import express from 'express';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { createCollectorRouter } from '../../producers/collector';
import { DependencyError, LearnstreamError, NotAcknowledgedError } from '../../lib/errors';
import type { KindedEvent } from '../../schemas';
import { ADMIN_GRANT, type Grant } from '../../producers/authorize';

/** The collector's JSON bodies (202 result or problem+json), loosely typed for assertions. */
type Body = {
  status: number;
  accepted: number;
  failed: number[];
  published: number[];
  maybeWritten: number[];
  errors: { index: number; reason: string; param: string; issues: { path: string; code: string }[] }[];
  events: { index: number }[];
};

const NOW = Date.UTC(2026, 0, 1);
/** The caller's grant, picked per request by an x-grant header (the API's authentication is not mounted here). */
const GRANTS: Record<string, Grant | undefined> = {
  admin: ADMIN_GRANT,
  write: { scopes: ['write'], name: 'w' },
  acme: { scopes: ['write'], idPrefix: 'acme:', name: 'acme' },
};
const interaction = (i: number, extra: Record<string, unknown> = {}) => ({
  kind: 'interaction',
  eventId: `e${i}`,
  userId: 'u1',
  resourceId: 'r1',
  type: 'view',
  dwellMs: 10,
  occurredAt: NOW,
  context: { platform: 'web' },
  ...extra,
});

describe('collector router (publisher stubbed: HTTP contract only; the Kafka path is in test/integration/events-fuzz)', () => {
  let server: Server;
  let base: string;
  const published: KindedEvent[] = [];
  let fail = false;
  /** Per-event outcome, by eventId; undefined = acknowledged. */
  let failWith: (eventId: string) => Error | undefined = () => undefined;

  beforeAll(async () => {
    const app = express();
    app.use(
      '/v1/events',
      createCollectorRouter({
        publisher: {
          publishValid: (e) => {
            const err = fail ? new DependencyError('kafka', 'down') : failWith((e.event as { eventId: string }).eventId);
            return err ? Promise.reject(err) : (published.push(e), Promise.resolve());
          },
        },
        limits: { maxEvents: 5, maxBodyBytes: 4096 },
        now: () => NOW,
        grantOf: (req) => GRANTS[req.get('x-grant') ?? 'admin'],
      }),
    );
    server = app.listen(0);
    await new Promise((r) => server.once('listening', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/events`;
  });
  afterAll(() => new Promise((r) => server.close(r)));
  beforeEach(() => {
    published.length = 0;
    fail = false;
    failWith = () => undefined;
  });

  const post = (body: unknown, type = 'application/json', grant = 'admin') =>
    fetch(base, {
      method: 'POST',
      headers: { 'content-type': type, 'x-grant': grant },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  const erasure = { kind: 'erasure', requestId: 'x1', userId: 'victim', requestedAt: NOW };
  const resource = (resourceId: string) => ({ kind: 'resource', resourceId, title: 'T', type: 'video' });

  it('accepts a valid batch with 202 after publishing', async () => {
    const res = await post([interaction(1), interaction(2)]);
    expect(res.status).toBe(202);
    expect((await res.json()) as Body).toEqual({ accepted: 2, rejected: 0, errors: [] });
    expect(published.map((e) => (e.event as { eventId: string }).eventId)).toEqual(['e1', 'e2']);
  });

  it('publishes the valid part of a mixed batch and reports each invalid one by index', async () => {
    const res = await post([interaction(1), interaction(2, { dwellMs: -5 }), { kind: 'teleport' }, 7]);
    expect(res.status).toBe(202);
    const body = (await res.json()) as Body;
    expect(body.accepted).toBe(1);
    expect(body.errors.map((e: { index: number; reason: string }) => [e.index, e.reason])).toEqual([
      [1, 'invalid-event'],
      [2, 'invalid-kind'],
      [3, 'invalid-kind'],
    ]);
    expect(body.errors[0].issues[0]).toMatchObject({ path: 'dwellMs', code: 'out-of-range' });
    expect(published).toHaveLength(1);
  });

  it('answers problem+json 400 when nothing is valid', async () => {
    const res = await post([interaction(1, { occurredAt: NOW + 3 * 86_400_000 })]);
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
    const body = (await res.json()) as Body;
    expect(body).toMatchObject({ type: 'https://learnstream.dev/problems/invalid-request', status: 400 });
    expect(body.errors[0]).toMatchObject({ param: '[0].occurredAt' });
  });

  it.each([
    ['not JSON', '{oops', 'application/json', 400],
    ['not an array', { kind: 'interaction' }, 'application/json', 400],
    ['empty', [], 'application/json', 400],
    ['too many events', Array.from({ length: 6 }, (_, i) => interaction(i)), 'application/json', 413],
    ['too many bytes', [interaction(1, { eventId: 'x'.repeat(5000) })], 'application/json', 413],
    ['wrong media type', 'a,b', 'text/csv', 415],
  ])('rejects %s', async (_name, body, type, status) => {
    const res = await post(body, type);
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(((await res.json()) as Body).status).toBe(status);
    expect(published).toHaveLength(0);
  });

  it('refuses an erasure without admin with 403, publishing nothing of the batch (even an invalid erasure)', async () => {
    const res = await post([interaction(1), erasure, { kind: 'erasure', userId: '' }], 'application/json', 'write');
    expect(res.status).toBe(403);
    expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
    const body = (await res.json()) as Body & { detail: string };
    expect(body).toMatchObject({ type: 'https://learnstream.dev/problems/forbidden', status: 403 });
    expect(body.detail).toMatch(/2 of the 3 events are not allowed/);
    expect(body.errors).toEqual([
      { param: '[1].kind', message: "an event of kind 'erasure' needs the 'admin' scope; the key 'w' has write" },
      { param: '[2].kind', message: "an event of kind 'erasure' needs the 'admin' scope; the key 'w' has write" },
    ]);
    expect(published).toHaveLength(0);
    expect((await post([erasure])).status).toBe(202);
    expect(published).toHaveLength(1);
  });

  it('keeps a key bound to an id prefix to resources and profiles under it; interactions are not bound', async () => {
    const outside = await post(
      [resource('acme:r1'), resource('globex:r1'), { kind: 'profile', userId: 'globex:u1', updatedAt: NOW }],
      'application/json',
      'acme',
    );
    expect(outside.status).toBe(403);
    expect(((await outside.json()) as Body).errors.map((e) => e.param)).toEqual(['[1].resourceId', '[2].userId']);
    expect(published).toHaveLength(0);
    const inside = await post(
      [resource('acme:r1'), { kind: 'profile', userId: 'acme:u1', updatedAt: NOW }, interaction(1, { userId: 'globex:u9' })],
      'application/json',
      'acme',
    );
    expect(inside.status).toBe(202);
    expect(published.map((e) => e.kind)).toEqual(['resource', 'profile', 'interaction']);
  });

  it('fails closed without a caller: 401', async () => {
    const res = await post([interaction(1)], 'application/json', 'nobody');
    expect(res.status).toBe(401);
    expect(published).toHaveLength(0);
  });

  it('answers 503 with Retry-After when Kafka does not acknowledge', async () => {
    fail = true;
    const res = await post([interaction(1)]);
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('1');
    expect(((await res.json()) as Body).failed).toEqual([0]);
  });

  it('503 lists which failed events may be in Kafka anyway (sent, not acknowledged) and which never will be', async () => {
    const outcome: Record<string, Error> = {
      e2: new NotAcknowledgedError(false, 'not sent'),
      e3: new NotAcknowledgedError(true, 'sent, no ack'),
    };
    failWith = (id) => outcome[id];
    const res = await post([interaction(1), interaction(2), interaction(3)]);
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('1');
    const body = (await res.json()) as Body;
    expect({ published: body.published, failed: body.failed, maybeWritten: body.maybeWritten }).toEqual({
      published: [0],
      failed: [1, 2],
      maybeWritten: [2],
    });
  });

  it('answers 500 only when Kafka refused a record for good, and 503 when an outage is among the failures', async () => {
    failWith = (id) => (id === 'e1' ? new LearnstreamError('Kafka refused the batch: MESSAGE_TOO_LARGE') : undefined);
    expect((await post([interaction(1)])).status).toBe(500);
    failWith = (id) => (id === 'e1' ? new LearnstreamError('refused') : new NotAcknowledgedError(false, 'not sent'));
    expect((await post([interaction(1), interaction(2)])).status).toBe(503);
  });
});
