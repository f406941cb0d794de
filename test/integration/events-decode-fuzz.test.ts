/**
 * Property: every Kafka record is decoded valid or dead-lettered with a reason, never thrown (issue 18, item 2).
 * 1,000 generated records (LEARNSTREAM_FUZZ_RECORDS to change) through the shared decode step against the real
 * registry, dead letters written by a real producer to the real `<topic>.dlq` topics: null values on every event
 * topic, random bytes, Confluent frames with unknown or another subject's schema id, and this build's Avro encoding
 * of generated events (valid ones and ones with hostile fields), truncated or with flipped bytes, with matching,
 * wrong or missing keys. Afterwards the DLQ topics hold exactly the records that were dead-lettered.
 */
import fc from 'fast-check';
import type { KafkaMessage, Producer } from 'kafkajs';
import { createDecodeStep, type DecodeResult } from '../../consumers/decode/step';
import { createInstrumentation } from '../../lib/metrics/instrumentation';
import type { PoisonReason, RegisteredSubject } from '../../lib/serde';
import { dlqName } from '../../schemas/topics';
import { AVRO_TYPES, eventKey, validateEvent, type EventKind, type EventName } from '../../schemas';
import { closeKafkaWorld, openKafkaWorld, type KafkaWorld } from '../helpers';
import { eventFields } from '../helpers/fuzz-events';

const RUNS = Number(process.env.LEARNSTREAM_FUZZ_RECORDS ?? 1_000);
const SEED = Number(process.env.LEARNSTREAM_FUZZ_SEED ?? 18_2026);
const REASONS: PoisonReason[] = [
  'unknown-topic',
  'unexpected-tombstone',
  'not-confluent-framed',
  'unknown-schema-id',
  'schema-mismatch',
  'avro-decode-failed',
  'invalid-field',
  'missing-key',
  'key-mismatch',
  'decode-crashed',
];
const KIND_OF: Record<EventName, EventKind> = {
  LearningInteraction: 'interaction',
  QuizAttempt: 'quizAttempt',
  Resource: 'resource',
  LearnerProfile: 'profile',
  ErasureRequest: 'erasure',
};

const frame = (schemaId: number, body: Uint8Array) => {
  const head = Buffer.alloc(5);
  head.writeInt32BE(schemaId | 0, 1);
  return Buffer.concat([head, body]);
};

describe('fuzz: generated Kafka records through the decode step', () => {
  let world: KafkaWorld | undefined;
  let producer: Producer;
  let subjects: RegisteredSubject[];

  beforeAll(async () => {
    world = await openKafkaWorld('ev-dfuzz');
    subjects = world.subjects;
    producer = world.kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
  }, 60_000);
  afterAll(async () => {
    await producer?.disconnect();
    await closeKafkaWorld(world);
  }, 30_000);

  it(`decodes or dead-letters with a reason each of ${RUNS} generated records, and never throws`, async () => {
    const instr = createInstrumentation();
    const dead: { topic: string; reason: string }[] = [];
    instr.on('deadLetter', (e) => void dead.push(e));
    const step = createDecodeStep({ registry: world!.registry, topicPrefix: world!.config.kafka.topicPrefix, sink: producer, emit: instr });

    /** One record: a topic (subject) and the value and key bytes to decode there. */
    const record = fc.constantFrom(...subjects).chain((s) => {
      const type = AVRO_TYPES[s.event];
      const other = subjects.find((o) => o.event !== s.event)!;
      const avroBody = eventFields(KIND_OF[s.event]).map((e) => {
        // Hostile values avsc cannot encode at all (a string where a long goes) are sent as whatever bytes we have.
        try {
          return { bytes: type.toBuffer(e), key: eventKeyOf(s.event, e) };
        } catch {
          return { bytes: Buffer.from(JSON.stringify(e)), key: null };
        }
      });
      const value = fc.oneof(
        { arbitrary: avroBody.map((b) => ({ value: frame(s.id, b.bytes), key: b.key })), weight: 6 },
        {
          arbitrary: fc
            .tuple(avroBody, fc.nat(), fc.nat(255))
            .map(([b, at, x]) => ({ value: flip(frame(s.id, b.bytes), at, x), key: b.key })),
          weight: 2,
        },
        {
          arbitrary: fc
            .tuple(avroBody, fc.nat())
            .map(([b, n]) => ({ value: frame(s.id, b.bytes).subarray(0, 5 + (n % Math.max(1, b.bytes.length))), key: b.key })),
          weight: 1,
        },
        {
          arbitrary: fc.tuple(fc.integer(), fc.uint8Array({ maxLength: 64 })).map(([id, b]) => ({ value: frame(id, b), key: null })),
          weight: 1,
        },
        { arbitrary: avroBody.map((b) => ({ value: frame(other.id, b.bytes), key: b.key })), weight: 1 },
        { arbitrary: fc.uint8Array({ maxLength: 64 }).map((b) => ({ value: Buffer.from(b), key: null })), weight: 1 },
        { arbitrary: fc.constant({ value: null, key: null }), weight: 1 },
      );
      const key = fc.oneof(
        { arbitrary: fc.constant('same'), weight: 6 },
        { arbitrary: fc.constant(null), weight: 1 },
        { arbitrary: fc.string({ maxLength: 8 }), weight: 1 },
      );
      return fc.tuple(value, key).map(([v, k]) => ({ topic: s.topic, event: s.event, value: v.value, key: k === 'same' ? v.key : k }));
    });

    let offset = 0;
    const outcomes = new Map<string, number>();
    const count = (k: string) => outcomes.set(k, (outcomes.get(k) ?? 0) + 1);
    await fc.assert(
      fc.asyncProperty(record, async (r) => {
        const message = {
          key: r.key === null ? null : Buffer.from(r.key),
          value: r.value,
          offset: String(offset++),
          timestamp: String(Date.now()),
          headers: {},
          attributes: 0,
        } as unknown as KafkaMessage;
        const before = dead.length;
        const out: DecodeResult | null = await step(r.topic, 0, message); // a throw fails the property
        if (out === null) {
          expect(dead.length).toBe(before + 1);
          expect(REASONS).toContain(dead[before].reason);
          expect(dead[before].reason).not.toBe('decode-crashed');
          count(dead[before].reason);
        } else if (out.event === null) {
          expect(r.value).toBeNull();
          expect(['LearnerProfile', 'Resource']).toContain(r.event);
          count('tombstone');
        } else {
          expect(dead.length).toBe(before);
          expect(out.event).toBe(r.event);
          expect(validateEvent(out.event, out.value).ok).toBe(true);
          expect(eventKey(out.event, out.value as never)).toBe(r.key === null ? null : Buffer.from(r.key).toString());
          count('decoded');
        }
      }),
      { numRuns: RUNS, seed: SEED },
    );
    process.stdout.write(`decode fuzz: ${RUNS} records, ${JSON.stringify(Object.fromEntries([...outcomes].sort()))}\n`);
    expect(outcomes.get('decoded') ?? 0).toBeGreaterThan(RUNS * 0.1);
    expect(dead.length).toBeGreaterThan(RUNS * 0.3);

    // Every dead letter is in Kafka: the DLQ topics' end offsets add up to the dead letters counted.
    const admin = world!.admin;
    let inDlq = 0;
    for (const s of subjects) for (const p of await admin.fetchTopicOffsets(dlqName(s.topic))) inDlq += Number(p.high);
    expect(inDlq).toBe(dead.length);
  }, 300_000);
});

function eventKeyOf(name: EventName, e: Record<string, unknown>): string | null {
  const k = name === 'Resource' ? e.resourceId : e.userId;
  return typeof k === 'string' ? k : null;
}

function flip(b: Buffer, at: number, x: number): Buffer {
  const c = Buffer.from(b);
  const i = 5 + (at % Math.max(1, c.length - 5));
  if (i < c.length) c[i] ^= x || 1;
  return c;
}
