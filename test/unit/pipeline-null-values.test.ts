/** Null values on non-compacted event topics are dead-lettered with a reason before a stage can skip them silently. */
import type { Message } from 'kafkajs';
import { createDecodeStep, DLQ_HEADERS } from '../../consumers/decode/step';
import { loadConfig } from '../../lib/config';
import { createInstrumentation } from '../../lib/metrics/instrumentation';
import { createRegistryClient } from '../../lib/registry/client';
import { stageDecode } from '../../consumers/decode/decoders';
import { deadLetterNullValues, nonCompactedEventTopics } from '../../consumers/decode/null-values';
import type { GroupProcessor, InputRecord } from '../../consumers/runner/stage-runner';

// Null values never reach the registry; a dead address makes sure nothing here depends on it.
const deadRegistry = () =>
  createRegistryClient(loadConfig({ overrides: { registry: { url: 'http://127.0.0.1:9/apis/ccompat/v7' } } }), { maxRetries: 0 });
const record = (topic: string, value: Buffer | null): InputRecord => ({
  topic,
  partition: 1,
  offset: '42',
  key: Buffer.from('u1'),
  value,
  timestamp: 1_700_000_000_000,
  headers: {},
});

function setup() {
  const sent: { topic: string; messages: Message[] }[] = [];
  const reasons: string[] = [];
  const instr = createInstrumentation();
  instr.on('deadLetter', (e) => void reasons.push(`${e.topic}:${e.reason}`));
  const step = createDecodeStep({
    registry: deadRegistry(),
    topicPrefix: 'p.',
    emit: instr,
    sink: { send: (r) => (sent.push(r), Promise.resolve()) },
  });
  const applied: string[] = [];
  const inner: GroupProcessor<number> = {
    stage: 'learner',
    restore: () => undefined,
    apply: (_g, r) => void applied.push(`${r.topic}:${r.value === null ? 'null' : 'value'}`),
    flush: () => Promise.resolve(),
    snapshot: () => 7,
    drop: () => undefined,
    ready: () => true,
  };
  const processor = deadLetterNullValues(inner, stageDecode(step), nonCompactedEventTopics('p.'));
  return { processor, sent, reasons, applied };
}

it('names the non-compacted event topics: interactions, quiz attempts, erasures', () => {
  expect([...nonCompactedEventTopics('p.')].sort()).toEqual(['p.learning.interactions', 'p.learning.quiz-attempts', 'p.privacy.erasures']);
});

it.each(['p.learning.interactions', 'p.learning.quiz-attempts', 'p.privacy.erasures'])(
  'dead-letters a null value on %s with reason unexpected-tombstone; the stage never sees it',
  async (topic) => {
    const { processor, sent, reasons, applied } = setup();
    await processor.apply(1, record(topic, null));
    expect(applied).toEqual([]);
    expect(reasons).toEqual([`${topic}:unexpected-tombstone`]);
    expect(sent).toHaveLength(1);
    expect(sent[0].topic).toBe(`${topic}.dlq`);
    expect(sent[0].messages[0]).toMatchObject({
      value: null,
      headers: { [DLQ_HEADERS.reason]: 'unexpected-tombstone', [DLQ_HEADERS.topic]: topic, [DLQ_HEADERS.offset]: '42' },
    });
    expect(String(sent[0].messages[0].headers?.[DLQ_HEADERS.message])).toContain('null value on non-compacted topic');
  },
);

it('passes tombstones on compacted topics, internal topics and every non-null record to the stage untouched', async () => {
  const { processor, sent, applied } = setup();
  await processor.apply(1, record('p.learners.profiles', null));
  await processor.apply(1, record('p.catalog.resources', null));
  await processor.apply(1, record('p.model.item-updates', null));
  await processor.apply(1, record('p.learning.interactions', Buffer.from([0, 0, 0, 0, 1])));
  expect(applied).toEqual([
    'p.learners.profiles:null',
    'p.catalog.resources:null',
    'p.model.item-updates:null',
    'p.learning.interactions:value',
  ]);
  expect(sent).toHaveLength(0);
  // The rest of the processor interface is the stage's own.
  expect(processor.stage).toBe('learner');
  expect(processor.snapshot(1)).toBe(7);
  expect(processor.ready?.()).toBe(true);
  expect('afterBatch' in processor).toBe(false);
});
