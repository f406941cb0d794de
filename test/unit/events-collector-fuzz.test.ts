/**
 * Property: no request body reaches a 5xx (issue 18, item 2). 10,000 generated bodies (LEARNSTREAM_FUZZ_RUNS to
 * change) go through the whole API process in-process: edge, authentication, rate limit, the collector router, its
 * error handler. Each answer is a 202 with accepted events, or a 4xx problem+json whose `status` is the HTTP status.
 * Every published event passes the validator again and holds only ids that the id rule accepts.
 *
 * Bodies mix near-valid events of every kind (mostly valid fields, some replaced by hostile values: control, bidi,
 * zero-width and lone-surrogate ids, timestamps in seconds, ±8.64e15, out of the safe-integer range), own
 * `__proto__` / `constructor` / `prototype` keys, arbitrary JSON, raw strings and odd media types. The publisher is
 * an in-memory stand-in (this test is about the HTTP contract; test/integration/events-fuzz.test.ts publishes to the
 * real Kafka). Fixed seed (LEARNSTREAM_FUZZ_SEED to vary); a failure prints the shrunk body and the seed.
 */
import fc from 'fast-check';
import { Registry } from 'prom-client';
import { startApi, type RunningApi } from '../../api/server';
import { loadConfig } from '../../lib/config';
import { createLogger } from '../../lib/log';
import { MemoryServingStore } from '../../lib/serving/memory';
import { createCollectorRouter } from '../../producers/collector';
import { EVENT_KINDS, KIND_EVENT, validateEvent, type EventKind, type KindedEvent } from '../../schemas';
import { idProblem } from '../../schemas/validate';

const RUNS = Number(process.env.LEARNSTREAM_FUZZ_RUNS ?? 10_000);
const SEED = Number(process.env.LEARNSTREAM_FUZZ_SEED ?? 18_2026);
const KEY = 'fuzz-write-key';
const NOW = Date.now();
const DAY = 86_400_000;

jest.setTimeout(300_000);

// Hostile characters, then any UTF-16 code unit (lone surrogates included), then plain ones.
const nastyChar = fc.oneof(
  fc.constantFrom('\u0000', '\u001b', '\u007f', '\u0085', '\u202e', '\u2066', '\u200b', '\u200d', '\ufeff', '\u2028', '\ud800', '\udfff', ' ', '\t', '\u3000', '\u00a0'),
  fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
  fc.constantFrom('a', 'Z', '7', '-', '_', 'é', '学'),
);
const goodId = fc.stringMatching(/^[a-z][a-z0-9-]{0,15}$/);
const id = fc.oneof({ arbitrary: goodId, weight: 6 }, { arbitrary: fc.string({ unit: nastyChar, maxLength: 10 }), weight: 3 }, { arbitrary: fc.string({ minLength: 120, maxLength: 140 }), weight: 1 });
const num = fc.oneof(fc.integer({ min: 0, max: 60_000 }), fc.double(), fc.integer(), fc.constantFrom(-1, 1.5, 1e21, -1e308, 8.64e15, Number.MAX_SAFE_INTEGER));
const goodTs = fc.integer({ min: NOW - 30 * DAY, max: NOW });
const badTs = fc.oneof(
  fc.constantFrom(0, -1, 1, 1.5, 8.64e15, -8.64e15, 8.64e15 + 1, -8.64e15 - 1, 2 ** 52 + 2, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 1e21, -1e308, Math.floor(NOW / 1000), NOW * 1000, NOW + 2 * DAY),
  fc.integer(),
  fc.double(),
  fc.string({ maxLength: 24 }),
);
const labels = fc.array(fc.oneof(goodId, id), { maxLength: 4 });
const text = fc.oneof({ arbitrary: fc.string({ maxLength: 40 }), weight: 9 }, { arbitrary: fc.string({ unit: nastyChar, maxLength: 40 }), weight: 1 });
const orNull = <T>(a: fc.Arbitrary<T>) => fc.oneof(fc.constant(null), a);
/** `a` in `percent` % of the cases, null otherwise. */
const sometimes = <T>(a: fc.Arbitrary<T>, percent: number): fc.Arbitrary<T | null> => fc.oneof({ arbitrary: fc.constant(null), weight: 100 - percent }, { arbitrary: a, weight: percent });

/** Valid field values per kind: an envelope starts as a valid event. */
const VALID: Record<EventKind, Record<string, fc.Arbitrary<unknown>>> = {
  interaction: {
    eventId: goodId, userId: goodId, resourceId: goodId, type: fc.constantFrom('view', 'click', 'complete', 'bookmark'), value: fc.constant(null),
    dwellMs: fc.integer({ min: 0, max: 60_000 }), occurredAt: goodTs, context: fc.record({ platform: fc.constantFrom('web', 'ios'), device: orNull(goodId), session: orNull(goodId) }),
  },
  quizAttempt: {
    eventId: goodId, userId: goodId, itemId: goodId, resourceId: orNull(goodId), skills: fc.array(goodId, { maxLength: 3 }), correct: fc.boolean(),
    score: orNull(fc.double({ min: 0, max: 1, noNaN: true })), attempt: fc.integer({ min: 1, max: 3 }), responseTimeMs: fc.integer({ min: 0, max: 90_000 }), occurredAt: goodTs,
  },
  resource: {
    resourceId: goodId, title: goodId, description: fc.string({ maxLength: 40 }), type: fc.constantFrom('video', 'article', 'quiz'), topics: fc.array(goodId, { maxLength: 3 }),
    skills: fc.array(goodId, { maxLength: 3 }), prerequisites: fc.array(goodId, { maxLength: 2 }), difficulty: orNull(fc.double({ min: 0, max: 1, noNaN: true })), publishedAt: orNull(fc.constantFrom(Date.UTC(1902, 0, 1), NOW - DAY)),
  },
  profile: { userId: goodId, interests: fc.array(goodId, { maxLength: 3 }), goals: fc.array(goodId, { maxLength: 2 }), level: fc.constantFrom('beginner', 'intermediate', 'advanced'), updatedAt: goodTs },
  erasure: { requestId: goodId, userId: goodId, requestedAt: goodTs, reason: orNull(fc.string({ maxLength: 40 })) },
};

/** Hostile values per field, swapped in for a few fields of a valid event. */
const HOSTILE: Record<EventKind, Record<string, fc.Arbitrary<unknown>>> = {
  interaction: {
    eventId: id, userId: id, resourceId: id,
    type: fc.constantFrom('rate', 'progress', 'teleport', ''),
    value: fc.oneof(fc.double(), num), dwellMs: num, occurredAt: badTs,
    context: fc.oneof(fc.record({ platform: text, device: orNull(text), session: orNull(id) }), fc.jsonValue()),
  },
  quizAttempt: {
    eventId: id, userId: id, itemId: id, resourceId: id, skills: labels, correct: fc.jsonValue(), score: num, attempt: num, responseTimeMs: num, occurredAt: badTs,
  },
  resource: {
    resourceId: id, title: text, description: text, type: fc.constantFrom('podcast', ''), topics: labels, skills: labels, prerequisites: labels,
    difficulty: num, publishedAt: badTs,
  },
  profile: { userId: id, interests: labels, goals: fc.array(text, { maxLength: 3 }), level: fc.constantFrom('guru', ''), updatedAt: badTs },
  erasure: { requestId: id, userId: id, requestedAt: badTs, reason: text },
};

const kindArb = fc.oneof({ arbitrary: fc.constantFrom(...EVENT_KINDS), weight: 9 }, { arbitrary: fc.constantFrom('teleport', '', 'INTERACTION', '__proto__', 'constructor', 'toString'), weight: 1 });
const extraKey = fc.constantFrom('__proto__', 'constructor', 'prototype', 'hasOwnProperty', 'surprise');

/** One envelope as JSON text: built by hand so that `__proto__` can be an own key, as a JSON client sends it. */
const envelope: fc.Arbitrary<string> = kindArb.chain((kind) => {
  const k: EventKind = Object.hasOwn(VALID, kind) ? (kind as EventKind) : 'interaction';
  const keys = Object.keys(VALID[k]);
  return fc.tuple(
    fc.record(VALID[k]),
    fc.record(HOSTILE[k]),
    sometimes(fc.subarray(keys, { minLength: 1, maxLength: 2 }), 40),
    sometimes(fc.constantFrom(...keys), 8),
    sometimes(fc.tuple(fc.constantFrom(...keys), fc.jsonValue({ maxDepth: 2 })), 8),
    sometimes(fc.tuple(extraKey, fc.jsonValue({ maxDepth: 2 })), 12),
  ).map(([valid, hostile, swap, drop, replace, extra]) => {
    const e: Record<string, unknown> = { kind, ...valid };
    for (const f of swap ?? []) e[f] = hostile[f];
    if (drop !== null) delete e[drop];
    if (replace !== null) e[replace[0]] = replace[1];
    const json = JSON.stringify(e);
    return extra === null ? json : `{${JSON.stringify(extra[0])}:${JSON.stringify(extra[1]) ?? 'null'},${json.slice(1)}`;
  });
});

interface Req {
  body: string;
  type: string | null;
}
const JSON_TYPE = 'application/json';
const request: fc.Arbitrary<Req> = fc.oneof(
  { arbitrary: fc.array(envelope, { minLength: 1, maxLength: 5 }).map((xs) => ({ body: `[${xs.join(',')}]`, type: JSON_TYPE })), weight: 14 },
  { arbitrary: fc.array(envelope, { minLength: 6, maxLength: 8 }).map((xs) => ({ body: `[${xs.join(',')}]`, type: JSON_TYPE })), weight: 1 },
  { arbitrary: fc.jsonValue().map((v) => ({ body: JSON.stringify(v) ?? 'null', type: JSON_TYPE })), weight: 2 },
  { arbitrary: fc.string({ unit: nastyChar, maxLength: 60 }).map((s) => ({ body: s, type: JSON_TYPE })), weight: 1 },
  { arbitrary: fc.tuple(envelope, fc.constantFrom(null, 'text/plain', 'application/merge-patch+json', 'application/x-www-form-urlencoded', 'application/json; charset=latin1', 'application/json; charset=utf-16')).map(([e, type]) => ({ body: `[${e}]`, type })), weight: 1 },
  { arbitrary: fc.constant({ body: `[${'"x",'.repeat(20_000)}"x"]`, type: JSON_TYPE }), weight: 1 },
);

describe('collector property: no body reaches a 5xx', () => {
  let api: RunningApi;
  let url: string;
  const published: KindedEvent[] = [];

  beforeAll(async () => {
    const config = loadConfig({ env: {}, overrides: { api: { apiKeys: [{ key: KEY, scopes: ['read', 'write'], name: 'fuzz' }], rateLimitPerMinute: 10_000_000 } } });
    const eventsRouter = createCollectorRouter({ publisher: { publishValid: (e) => (published.push(e), Promise.resolve()) }, limits: { maxEvents: 5, maxBodyBytes: 64 * 1024 } });
    api = await startApi({ config, store: new MemoryServingStore(), registry: new Registry(), port: 0, eventsRouter, logger: createLogger({ level: 'error', write: () => undefined }) });
    url = `http://127.0.0.1:${api.port}/v1/events`;
  });
  afterAll(() => api?.stop());

  it(`answers 202 or a 4xx problem for ${RUNS} generated bodies, and publishes only valid events with clean ids`, async () => {
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        published.length = 0;
        const headers: Record<string, string> = { 'x-api-key': KEY };
        if (r.type !== null) headers['content-type'] = r.type;
        const res = await fetch(url, { method: 'POST', headers, body: r.body });
        const text = await res.text();
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        if (res.status === 202) {
          const body = JSON.parse(text) as { accepted: number };
          expect(body.accepted).toBeGreaterThan(0);
          expect(published).toHaveLength(body.accepted);
          for (const p of published) {
            expect(validateEvent(KIND_EVENT[p.kind], p.event, { now: Date.now() }).ok).toBe(true);
            const e = p.event as unknown as Record<string, unknown>;
            for (const k of ['eventId', 'userId', 'resourceId', 'itemId', 'requestId']) if (typeof e[k] === 'string') expect(idProblem(e[k])).toBeNull();
          }
          return;
        }
        expect(res.status).toBeGreaterThanOrEqual(400);
        expect(res.status).toBeLessThan(500);
        expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
        expect(JSON.parse(text)).toMatchObject({ status: res.status, type: expect.stringMatching(/^https:\/\/learnstream\.dev\/problems\//) });
        expect(published).toHaveLength(0);
      }),
      { numRuns: RUNS, seed: SEED },
    );
    const seen = Object.fromEntries([...statuses].sort(([a], [b]) => a - b));
    process.stdout.write(`collector fuzz: ${RUNS} bodies, statuses ${JSON.stringify(seen)}\n`);
    // The generator must reach both sides of the contract, or the property says little.
    expect(statuses.get(202) ?? 0).toBeGreaterThan(RUNS * 0.1);
    expect(statuses.get(400) ?? 0).toBeGreaterThan(RUNS * 0.1);
    expect([...statuses.keys()].every((s) => s === 202 || (s >= 400 && s < 500))).toBe(true);
  });
});
