/**
 * Acceptance 2 of issue 3: more than 1,000 malformed inputs across the HTTP collector (real express server, real
 * Kafka behind it) and the consumer decode path (raw bytes produced straight to the real topics), with valid events
 * mixed in. Nothing crashes; every bad event is rejected (HTTP) or dead-lettered with a reason (Kafka); every valid
 * one is delivered exactly once. Seeded, so a failure reproduces.
 */
import avro from 'avsc';
import express from 'express';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Admin, Consumer, IHeaders, Kafka, Producer } from 'kafkajs';
import type { Config } from '../../lib/config';
import { createInstrumentation } from '../../lib/metrics/instrumentation';
import { type RegisteredSubject } from '../../lib/serde';
import { dlqName, topicName } from '../../schemas/topics';
import { createDecodeStep, DLQ_HEADERS } from '../../consumers/decode/step';
import { createCollectorRouter } from '../../producers/collector';
import { ADMIN_GRANT } from '../../producers/authorize';
import { Publisher } from '../../producers/publisher';
import { SCHEMAS, type EventKind, type EventName } from '../../schemas';
import { mulberry32 } from '../../models/random/prng';
import { closeKafkaWorld, testRegistry, waitFor, openKafkaWorld, type KafkaWorld } from '../helpers';

/** The collector's JSON bodies (202 result or problem+json), loosely typed for assertions. */
type Body = {
  status: number;
  accepted: number;
  failed: number[];
  errors: { index: number; reason: string; param: string; issues: { path: string; code: string }[] }[];
  events: { index: number }[];
};

const NOW = Date.now();
const DAY = 86_400_000;

const rnd = mulberry32(20261123);
const int = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];

type Fields = Record<string, unknown>;
let seq = 0;
/** A valid event of `kind` whose tracking id starts with `tag` ('ok-' valid, 'bad-' must never be delivered). */
function makeEvent(kind: EventKind, tag: string): Fields {
  const n = seq++;
  const id = `${tag}${kind}-${n}`;
  const user = `user-${n % 37}`;
  switch (kind) {
    case 'interaction':
      return {
        eventId: id,
        userId: user,
        resourceId: `res-${n % 50}`,
        type: pick(['view', 'click', 'complete', 'bookmark']),
        dwellMs: int(0, 60_000),
        occurredAt: NOW - int(0, 30 * DAY),
        context: { platform: 'web', device: pick([null, 'mobile']), session: null },
      };
    case 'quizAttempt':
      return {
        eventId: id,
        userId: user,
        itemId: `item-${n % 40}`,
        skills: ['algebra'],
        correct: rnd() < 0.6,
        score: rnd(),
        attempt: int(1, 3),
        responseTimeMs: int(0, 90_000),
        occurredAt: NOW - int(0, 30 * DAY),
      };
    case 'resource':
      return {
        resourceId: id,
        title: `Resource ${n}`,
        description: 'A resource.',
        type: pick(['video', 'article', 'quiz']),
        topics: ['math'],
        difficulty: rnd(),
      };
    case 'profile':
      return { userId: id, interests: ['statistics'], level: 'beginner', updatedAt: NOW - int(0, DAY) };
    case 'erasure':
      return { requestId: id, userId: user, requestedAt: NOW - int(0, DAY), reason: null };
  }
}
const trackingId = (e: Fields) => String(e.eventId ?? e.requestId ?? e.resourceId ?? e.userId);
const KINDS: EventKind[] = ['interaction', 'quizAttempt', 'resource', 'profile', 'erasure'];
const KIND_TOPIC_KEY = {
  interaction: 'interactions',
  quizAttempt: 'quizAttempts',
  resource: 'resources',
  profile: 'profiles',
  erasure: 'erasures',
} as const;
const KIND_NAME: Record<EventKind, EventName> = {
  interaction: 'LearningInteraction',
  quizAttempt: 'QuizAttempt',
  resource: 'Resource',
  profile: 'LearnerProfile',
  erasure: 'ErasureRequest',
};

/** Event-level corruptions for the collector: each returns a JSON value that must be rejected. */
const CORRUPT: ((kind: EventKind) => unknown)[] = [
  (k) => ({
    kind: k,
    ...makeEvent(k, 'bad-'),
    ...(k === 'interaction'
      ? { dwellMs: 'long' }
      : k === 'quizAttempt'
        ? { correct: 'yes' }
        : k === 'resource'
          ? { title: 42 }
          : k === 'profile'
            ? { interests: 'x' }
            : { requestedAt: '2020-01-01' }),
  }),
  (k) => {
    const e = { kind: k, ...makeEvent(k, 'bad-') } as Fields;
    delete e[
      pick(
        k === 'resource'
          ? ['title', 'type']
          : k === 'profile'
            ? ['updatedAt']
            : k === 'erasure'
              ? ['userId', 'requestedAt']
              : ['userId', 'occurredAt'],
      )
    ];
    return e;
  },
  () => ({ kind: 'interaction', ...makeEvent('interaction', 'bad-'), dwellMs: -int(1, 1e6) }),
  () => ({ kind: 'interaction', ...makeEvent('quizAttempt', 'bad-') }),
  (k) => ({
    kind: k,
    ...makeEvent(k, 'bad-'),
    ...(k === 'interaction' || k === 'quizAttempt'
      ? { occurredAt: NOW + int(2, 3650) * DAY }
      : k === 'profile'
        ? { updatedAt: NOW + int(2, 3650) * DAY }
        : k === 'erasure'
          ? { requestedAt: NOW + int(2, 3650) * DAY }
          : { publishedAt: NOW + int(2, 3650) * DAY }),
  }),
  (k) => ({
    kind: k,
    ...makeEvent(k, 'bad-'),
    ...(k === 'resource' ? { description: 'd'.repeat(int(16_385, 20_000)) } : { userId: 'u'.repeat(int(129, 2000)) }),
  }),
  () => ({ kind: pick(['teleport', '', 'INTERACTION', 5, null]), ...makeEvent('interaction', 'bad-') }),
  () => ({ ...makeEvent('interaction', 'bad-') }),
  () => pick([42, 'event', null, true, [], [{ kind: 'interaction' }]]),
  (k) => ({ kind: k, ...makeEvent(k, 'bad-'), surprise: 'field' }),
  () => ({
    kind: 'quizAttempt',
    ...makeEvent('quizAttempt', 'bad-'),
    ...pick([{ score: 1.5 }, { score: -0.1 }, { attempt: 0 }, { skills: Array(33).fill('s') }, { responseTimeMs: -5 }]),
  }),
  () => ({
    kind: 'interaction',
    ...makeEvent('interaction', 'bad-'),
    ...pick([
      { type: 'rate', value: 7 },
      { type: 'teleport' },
      { type: 'progress', value: 2 },
      { context: { platform: 1 } },
      { context: null },
    ]),
  }),
];

describe('fuzz: malformed input through the collector and the consumer decode path', () => {
  let config: Config;
  let kafka: Kafka;
  let admin: Admin;
  let world: KafkaWorld | undefined;
  let publisher: Publisher;
  let raw: Producer;
  let server: Server;
  let url: string;
  let subjects: RegisteredSubject[];
  const consumers: Consumer[] = [];

  beforeAll(async () => {
    world = await openKafkaWorld('ev-fuzz');
    ({ config, kafka, admin } = world);
    const { registry } = world;
    subjects = world.subjects;
    publisher = await Publisher.create({ kafka, registry, topicPrefix: config.kafka.topicPrefix, grant: ADMIN_GRANT });
    raw = kafka.producer({ allowAutoTopicCreation: false });
    await raw.connect();
    const app = express();
    // an admin caller: the fuzz is about input, not scopes (test/integration/api-scopes.test.ts)
    app.use(
      '/v1/events',
      createCollectorRouter({ publisher, limits: { maxEvents: 50, maxBodyBytes: 64 * 1024 }, grantOf: () => ADMIN_GRANT }),
    );
    server = app.listen(0);
    await new Promise((r) => server.once('listening', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/events`;
  }, 40_000);

  afterAll(async () => {
    await Promise.all(consumers.map((c) => c.disconnect()));
    await new Promise((r) => server?.close(r));
    await publisher?.close();
    await raw?.disconnect();
    await closeKafkaWorld(world);
  }, 30_000);

  it('rejects or dead-letters every malformed input with a reason and delivers every valid event exactly once', async () => {
    const expectedValid = new Set<string>();
    let malformed = 0;
    const post = (body: string, type = 'application/json') => fetch(url, { method: 'POST', headers: { 'content-type': type }, body });
    const problem = async (res: Response, status: number) => {
      expect(res.status).toBe(status);
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      const body = (await res.json()) as Body;
      expect(body).toMatchObject({ status, type: expect.stringMatching(/^https:\/\/learnstream\.dev\/problems\//) });
      return body;
    };

    // 1. Collector, mixed batches: valid events published, each bad one reported by index.
    for (let r = 0; r < 40; r++) {
      const batch: unknown[] = [];
      const badIdx: number[] = [];
      const size = int(20, 50);
      for (let i = 0; i < size; i++) {
        if (rnd() < 0.55) {
          badIdx.push(i);
          batch.push(pick(CORRUPT)(pick(KINDS)));
        } else {
          const kind = pick(KINDS);
          const e = makeEvent(kind, 'ok-');
          batch.push({ kind, ...e });
        }
      }
      malformed += badIdx.length;
      const res = await post(JSON.stringify(batch));
      if (badIdx.length === size) {
        const body = await problem(res, 400);
        expect(body.events.map((e: { index: number }) => e.index)).toEqual(badIdx);
        continue;
      }
      expect(res.status).toBe(202);
      const body = (await res.json()) as Body;
      expect(body.errors.map((e: { index: number }) => e.index)).toEqual(badIdx);
      for (const e of body.errors) expect(e.issues.length).toBeGreaterThan(0);
      expect(body.accepted).toBe(size - badIdx.length);
      batch.forEach((e, i) => {
        if (!badIdx.includes(i)) expectedValid.add(trackingId(e as Fields));
      });
    }
    const inMixedBatches = malformed;
    // 2. Collector, batches with nothing valid.
    for (let r = 0; r < 10; r++) {
      const batch = Array.from({ length: int(1, 30) }, () => pick(CORRUPT)(pick(KINDS)));
      malformed += batch.length;
      await problem(await post(JSON.stringify(batch)), 400);
    }
    const inInvalidBatches = malformed - inMixedBatches;
    // 3. Collector, whole-request garbage: not JSON, not an array, too many events, too many bytes, wrong type.
    const ok = () => ({ kind: 'interaction', ...makeEvent('interaction', 'bad-') });
    const requests: [() => [string, string], number][] = [
      [() => [Buffer.from(Array.from({ length: int(1, 300) }, () => int(0, 255))).toString('latin1'), 'application/json'], 400],
      [() => [JSON.stringify([ok()]).slice(0, -int(1, 10)), 'application/json'], 400],
      [() => [JSON.stringify(pick([{ events: [ok()] }, 'string', 12, null, true])), 'application/json'], 400],
      [() => ['[]', 'application/json'], 400],
      [() => [JSON.stringify(Array.from({ length: int(51, 400) }, ok)), 'application/json'], 413],
      [() => [JSON.stringify([{ ...ok(), context: { platform: 'web', session: 's'.repeat(70 * 1024) } }]), 'application/json'], 413],
      [() => [JSON.stringify([ok()]), pick(['text/plain', 'application/x-www-form-urlencoded', 'text/csv'])], 415],
    ];
    for (let r = 0; r < 140; r++) {
      const [make, status] = requests[r % requests.length];
      const [body, type] = make();
      malformed++;
      const res = await post(body, type);
      if (status === 400 && res.status !== 400) throw new Error(`expected 400 for ${JSON.stringify(body.slice(0, 80))}, got ${res.status}`);
      await problem(res, status);
    }
    const collectorMalformed = malformed;

    // 4. Consumer path: raw bytes straight onto the topics, with valid frames mixed in.
    const idOf = (name: EventName) => subjects.find((s) => s.event === name)!.id;
    const types = Object.fromEntries(
      Object.entries(SCHEMAS).map(([n, s]) => [n, avro.Type.forSchema(s as unknown as avro.Schema)]),
    ) as Record<EventName, avro.Type>;
    const frame = (id: number, body: Buffer) => {
      const h = Buffer.alloc(5);
      h.writeInt32BE(id, 1);
      return Buffer.concat([h, body]);
    };
    const encode = (kind: EventKind, e: Fields) => types[KIND_NAME[kind]].toBuffer(types[KIND_NAME[kind]].clone(e));
    const keyOf = (kind: EventKind, e: Fields) => String(kind === 'resource' ? e.resourceId : e.userId);
    const poison: { topic: string; key: string | null; value: Buffer | null }[] = [];
    const validRaw: { topic: string; key: string; value: Buffer }[] = [];
    // `kind` in a result = the topic it must go to (semantic corruptions need their own topic to get past the schema).
    const rawPoison: ((kind: EventKind) => { key: string | null; value: Buffer | null; kind?: EventKind })[] = [
      () => ({ key: 'bad-key', value: Buffer.from(Array.from({ length: int(1, 200) }, () => int(1, 255))) }),
      () => ({ key: 'bad-key', value: Buffer.from(Array.from({ length: int(0, 4) }, () => 0)) }),
      (k) => ({ key: 'bad-key', value: Buffer.from(JSON.stringify(makeEvent(k, 'bad-'))) }),
      (k) => ({ key: 'bad-key', value: frame(int(900_000_000, 2_000_000_000), encode(k, makeEvent(k, 'bad-'))) }),
      (k) => {
        const body = encode(k, makeEvent(k, 'bad-'));
        return { key: 'bad-key', value: frame(idOf(KIND_NAME[k]), body.subarray(0, int(0, body.length - 1))) };
      },
      (k) => ({
        key: 'bad-key',
        value: frame(idOf(KIND_NAME[k]), Buffer.concat([encode(k, makeEvent(k, 'bad-')), Buffer.from([int(0, 255), int(0, 255)])])),
      }),
      () => {
        const e: Fields = {
          ...makeEvent('interaction', 'bad-'),
          ...pick<Fields>([
            { dwellMs: -int(1, 1000) },
            { occurredAt: NOW + int(2, 500) * DAY },
            { userId: 'u'.repeat(300) },
            { type: 'rate', value: 9 },
          ]),
        };
        return { key: String(e.userId), value: frame(idOf('LearningInteraction'), encode('interaction', e)), kind: 'interaction' };
      },
      () => {
        const e: Fields = { ...makeEvent('quizAttempt', 'bad-'), ...pick<Fields>([{ score: 3 }, { attempt: -1 }, { responseTimeMs: -1 }]) };
        return { key: String(e.userId), value: frame(idOf('QuizAttempt'), encode('quizAttempt', e)), kind: 'quizAttempt' };
      },
      (k) => {
        const e = makeEvent(k, 'bad-');
        return { key: pick([null, `someone-else-${int(0, 9)}`]), value: frame(idOf(KIND_NAME[k]), encode(k, e)) };
      },
      (k) => {
        const other = pick(KINDS.filter((x) => x !== k));
        const e = makeEvent(other, 'bad-');
        return { key: keyOf(k, e), value: frame(idOf(KIND_NAME[other]), encode(other, e)) };
      },
    ];
    for (let i = 0; i < 520; i++) {
      let kind = pick(KINDS);
      let p = pick(rawPoison)(kind);
      kind = p.kind ?? kind;
      // Empty values read back as null: a tombstone, which is legitimate on the compacted catalogue/profile topics.
      if (p.value !== null && p.value.length === 0 && (kind === 'resource' || kind === 'profile')) {
        kind = 'interaction';
        p = { key: 'bad-key', value: null };
      }
      // Compacted topics refuse keyless records at the broker, so a missing key can only be tried on the others.
      if (p.key === null && (kind === 'resource' || kind === 'profile')) p = { ...p, key: 'someone-else' };
      poison.push({ topic: topicName(KIND_TOPIC_KEY[kind], config.kafka.topicPrefix), key: p.key, value: p.value });
    }
    for (let i = 0; i < 15; i++) {
      poison.push({
        topic: topicName(pick(['interactions', 'quizAttempts', 'erasures'] as const), config.kafka.topicPrefix),
        key: 'bad-key',
        value: null,
      });
    }
    for (let i = 0; i < 150; i++) {
      const kind = pick(KINDS);
      const e = makeEvent(kind, 'ok-raw-');
      validRaw.push({
        topic: topicName(KIND_TOPIC_KEY[kind], config.kafka.topicPrefix),
        key: keyOf(kind, e),
        value: frame(idOf(KIND_NAME[kind]), encode(kind, e)),
      });
      expectedValid.add(trackingId(e));
    }
    malformed += poison.length;
    const mixed = [...poison.map((p) => ({ ...p, bad: true })), ...validRaw.map((v) => ({ ...v, bad: false }))].sort(() => rnd() - 0.5);
    for (let i = 0; i < mixed.length; i += 100) {
      const chunk = mixed.slice(i, i + 100);
      const byTopic = new Map<string, { key: string | null; value: Buffer | null }[]>();
      for (const m of chunk) byTopic.set(m.topic, [...(byTopic.get(m.topic) ?? []), { key: m.key, value: m.value }]);
      await raw.sendBatch({ acks: -1, topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })) });
    }
    expect(malformed).toBeGreaterThanOrEqual(1000);
    console.log(
      `malformed inputs: ${collectorMalformed} via HTTP (${inMixedBatches} in 40 mixed batches, ${inInvalidBatches} in 10 all-invalid batches, ` +
        `${collectorMalformed - inMixedBatches - inInvalidBatches} whole requests), ${poison.length} raw on Kafka; valid events: ${expectedValid.size} (${validRaw.length} raw)`,
    );

    // 5. One consumer over the five topics, through the shared decode step with a real DLQ producer.
    const eventTopics = KINDS.map((k) => topicName(KIND_TOPIC_KEY[k], config.kafka.topicPrefix));
    const totalMessages = async (topics: string[]) => {
      let n = 0;
      for (const t of topics) for (const p of await admin.fetchTopicOffsets(t)) n += Number(p.high);
      return n;
    };
    const total = await totalMessages(eventTopics);
    expect(total).toBe(expectedValid.size + poison.length);
    const instr = createInstrumentation();
    const deadByReason: Record<string, number> = {};
    instr.on('deadLetter', (e) => {
      deadByReason[e.reason] = (deadByReason[e.reason] ?? 0) + 1;
    });
    const delivered = new Map<string, number>();
    let processed = 0;
    let tombstones = 0;
    const decode = createDecodeStep({ registry: testRegistry(config), topicPrefix: config.kafka.topicPrefix, sink: raw, emit: instr });
    const consumer = kafka.consumer({ groupId: `${config.kafka.topicPrefix}fuzz` });
    consumers.push(consumer);
    await consumer.connect();
    await consumer.subscribe({ topics: eventTopics, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ topic, partition, message }) => {
        const d = await decode(topic, partition, message);
        processed++;
        if (d === null) return;
        if (d.event === null) {
          tombstones++;
          return;
        }
        const id = trackingId(d.value as unknown as Fields);
        delivered.set(id, (delivered.get(id) ?? 0) + 1);
      },
    });
    await waitFor(() => processed >= total, { timeoutMs: 30_000, message: `all ${total} messages processed` });

    const dead = Object.values(deadByReason).reduce((a, b) => a + b, 0);
    console.log(`dead letters by reason: ${JSON.stringify(deadByReason)}`);
    expect({ processed, tombstones, dead }).toEqual({ processed: total, tombstones: 0, dead: poison.length });
    expect([...delivered.values()].every((n) => n === 1)).toBe(true);
    expect(new Set(delivered.keys())).toEqual(expectedValid);
    expect([...delivered.keys()].filter((k) => k.startsWith('bad-'))).toEqual([]);

    // 6. The DLQ holds the original bytes with the reason and provenance headers.
    const dlqTopics = eventTopics.map(dlqName);
    expect(await totalMessages(dlqTopics)).toBe(poison.length);
    const dlq: { topic: string; value: Buffer | null; headers: IHeaders }[] = [];
    const reader = kafka.consumer({ groupId: `${config.kafka.topicPrefix}fuzz-dlq` });
    consumers.push(reader);
    await reader.connect();
    await reader.subscribe({ topics: dlqTopics, fromBeginning: true });
    await reader.run({
      eachMessage: ({ topic, message }) => {
        dlq.push({ topic, value: message.value, headers: message.headers ?? {} });
        return Promise.resolve();
      },
    });
    await waitFor(() => dlq.length >= poison.length, { timeoutMs: 20_000, message: 'all dead letters read back' });
    const hex = (b: Buffer | null) => (b === null ? 'null' : b.toString('hex'));
    const expectedBytes = poison.map((p) => `${dlqName(p.topic)}|${hex(p.value && p.value.length > 0 ? p.value : null)}`).sort();
    const gotBytes = dlq.map((d) => `${d.topic}|${hex(d.value && d.value.length > 0 ? d.value : null)}`).sort();
    expect(gotBytes).toEqual(expectedBytes);
    for (const d of dlq) {
      const h = (k: string) => d.headers[k]?.toString();
      expect(h(DLQ_HEADERS.reason)).toMatch(/^[a-z-]+$/);
      expect(h(DLQ_HEADERS.errorClass)).toBe('PoisonMessageError');
      expect(h(DLQ_HEADERS.message)?.length).toBeGreaterThan(0);
      expect(`${h(DLQ_HEADERS.topic)}.dlq`).toBe(d.topic);
      expect(h(DLQ_HEADERS.partition)).toMatch(/^\d+$/);
      expect(h(DLQ_HEADERS.offset)).toMatch(/^\d+$/);
      expect(h(DLQ_HEADERS.timestamp)).toMatch(/^\d+$/);
    }
  }, 100_000);
});
