import type { KafkaMessage, Message } from 'kafkajs';
import { createDecodeStep, DeadLetterWriter, DLQ_HEADERS } from '../../consumers/decode/step';
import { DependencyError, PoisonMessageError } from '../../lib/errors';
import { createLogger } from '../../lib/log';
import { loadConfig } from '../../lib/config';
import { createInstrumentation } from '../../lib/metrics/instrumentation';
import { createRegistryClient } from '../../lib/registry/client';

// A registry nobody listens on: every lookup fails with a connection error, as during an outage.
const deadRegistry = () =>
  createRegistryClient(loadConfig({ overrides: { registry: { url: 'http://127.0.0.1:9/apis/ccompat/v7' } } }), { maxRetries: 0 });
const msg = (value: Buffer | null, key = 'u1'): KafkaMessage =>
  ({
    key: Buffer.from(key),
    value,
    offset: '7',
    timestamp: '1700000000000',
    headers: { trace: 'x' },
    attributes: 0,
    size: 0,
  }) as unknown as KafkaMessage;
const TOPIC = 'p.learning.interactions';

function setup(sendFails = false) {
  const sent: { topic: string; messages: Message[] }[] = [];
  const instr = createInstrumentation();
  const reasons: string[] = [];
  instr.on('deadLetter', (e) => void reasons.push(e.reason));
  const step = createDecodeStep({
    registry: deadRegistry(),
    topicPrefix: 'p.',
    emit: instr,
    sink: { send: (r) => (sendFails ? Promise.reject(new Error('broker down')) : (sent.push(r), Promise.resolve())) },
  });
  return { step, sent, reasons };
}

describe('consumer decode step (no services needed for these paths)', () => {
  it.each([
    ['garbage', Buffer.from('hello world'), 'not-confluent-framed'],
    ['too short', Buffer.from([0, 0, 0]), 'not-confluent-framed'],
    ['empty', Buffer.alloc(0), 'not-confluent-framed'],
    ['null on a non-compacted topic', null, 'unexpected-tombstone'],
  ])('dead-letters %s with reason and provenance headers, returns null', async (_n, value, reason) => {
    const { step, sent, reasons } = setup();
    await expect(step(TOPIC, 3, msg(value))).resolves.toBeNull();
    expect(reasons).toEqual([reason]);
    expect(sent).toHaveLength(1);
    expect(sent[0].topic).toBe(`${TOPIC}.dlq`);
    const m = sent[0].messages[0];
    expect(m.value).toEqual(value);
    expect(m.key?.toString()).toBe('u1');
    expect(m.headers).toMatchObject({
      [DLQ_HEADERS.reason]: reason,
      [DLQ_HEADERS.errorClass]: 'PoisonMessageError',
      [DLQ_HEADERS.topic]: TOPIC,
      [DLQ_HEADERS.partition]: '3',
      [DLQ_HEADERS.offset]: '7',
      [DLQ_HEADERS.timestamp]: '1700000000000',
      trace: 'x',
    });
  });

  it('a tombstone on a compacted topic is a deletion, not poison', async () => {
    const { step, sent } = setup();
    await expect(step('p.catalog.resources', 0, msg(null, 'r1'))).resolves.toEqual({ event: null, key: 'r1' });
    expect(sent).toHaveLength(0);
  });

  it('unknown topics are poison', async () => {
    const { step, reasons } = setup();
    await expect(step('p.something.else', 0, msg(Buffer.from([0, 0, 0, 0, 1, 2])))).resolves.toBeNull();
    expect(reasons).toEqual(['unknown-topic']);
  });

  it('a registry outage is a retriable DependencyError, never a dead letter', async () => {
    const { step, sent } = setup();
    const framed = Buffer.from([0, 0, 0, 0, 1, 2, 3]);
    const err = await step(TOPIC, 0, msg(framed)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DependencyError);
    expect((err as DependencyError).retriable).toBe(true);
    expect(sent).toHaveLength(0);
  });

  it('a failing DLQ write is a retriable DependencyError (the offset must not be committed)', async () => {
    const { step, reasons } = setup(true);
    const err = await step(TOPIC, 0, msg(Buffer.from('junk'))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DependencyError);
    expect(reasons).toEqual([]);
  });
});

describe('dead-letter warnings', () => {
  it('carry the reason and are limited to one line per topic and reason per 10 s, with the suppressed count', async () => {
    const lines: Record<string, unknown>[] = [];
    let t = 1_000_000;
    const writer = new DeadLetterWriter({
      sink: { send: () => Promise.resolve() },
      logger: createLogger({ level: 'debug', write: (l) => lines.push(JSON.parse(l) as Record<string, unknown>) }),
      now: () => t,
    });
    const src = (topic: string) => ({
      topic,
      partition: 0,
      message: { key: null, value: Buffer.from('x'), offset: '1', timestamp: '0', headers: {} },
    });
    const poison = (reason: 'not-confluent-framed' | 'invalid-field') => new PoisonMessageError(reason, `bad: ${reason}`);
    for (let i = 0; i < 50; i++) await writer.write(src('a'), poison('not-confluent-framed'));
    await writer.write(src('a'), poison('invalid-field'));
    await writer.write(src('b'), poison('not-confluent-framed'));
    t += 10_000;
    await writer.write(src('a'), poison('not-confluent-framed'));
    expect(lines.map((l) => [l.msg, l.topic, l.reason, l.suppressed])).toEqual([
      ['dead-lettered (not-confluent-framed)', 'a', 'not-confluent-framed', undefined],
      ['dead-lettered (invalid-field)', 'a', 'invalid-field', undefined],
      ['dead-lettered (not-confluent-framed)', 'b', 'not-confluent-framed', undefined],
      ['dead-lettered (not-confluent-framed)', 'a', 'not-confluent-framed', 49],
    ]);
    expect(lines.every((l) => l.level === 'warn')).toBe(true);
  });
});
