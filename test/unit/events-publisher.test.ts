/**
 * Publisher batching and retry policy with a scripted producer (the broker path itself is covered by
 * test/integration/events-publisher.test.ts and events-replay.test.ts against the real Kafka).
 */
import type { Client } from '@confluentinc/schemaregistry';
import type { Kafka } from 'kafkajs';
import { DependencyError, LearnstreamError, ValidationError } from '../../lib/errors';
import { Publisher } from '../../producers/publisher';
import { AVRO_TYPES } from '../../schemas';

type Batch = { topicMessages: { topic: string; messages: { key: string; value: Buffer | null }[] }[] };

function harness(
  script: (call: number) => Error | null,
  opts: { maxBatchRecords?: number; maxPending?: number } = {},
  gate: Promise<void> = Promise.resolve(),
) {
  const calls: Batch[] = [];
  const producer = {
    connect: () => Promise.resolve(),
    disconnect: () => Promise.resolve(),
    sendBatch: async (b: Batch) => {
      calls.push(b);
      await gate;
      const err = script(calls.length);
      if (err) throw err;
      return [];
    },
  };
  const kafka = { producer: () => producer } as unknown as Kafka;
  const registry = { getId: () => Promise.resolve(7) } as unknown as Client;
  const create = () => Publisher.create({ kafka, registry, topicPrefix: 'p.', lingerMs: 1, retryBackoffMs: 1, retries: 2, ...opts });
  return { calls, create };
}

const kafkaError = (retriable: boolean) => Object.assign(new Error(retriable ? 'leader moved' : 'message too large'), { retriable });
const ev = (i: number, user = `u${i % 3}`) => ({
  eventId: `e${i}`,
  userId: user,
  resourceId: 'r',
  type: 'view' as const,
  occurredAt: Date.now(),
  context: { platform: 'web' },
});

describe('Publisher (scripted producer)', () => {
  it('batches in call order, frames with the registered schema id, keys by userId', async () => {
    const { calls, create } = harness(() => null, { maxBatchRecords: 100 });
    const p = await create();
    await Promise.all(Array.from({ length: 250 }, (_, i) => p.publishInteraction(ev(i))));
    await p.close();
    expect(calls.map((c) => c.topicMessages[0].messages.length)).toEqual([100, 100, 50]);
    const all = calls.flatMap((c) => c.topicMessages[0].messages);
    expect(all.map((m) => (AVRO_TYPES.LearningInteraction.fromBuffer(m.value!.subarray(5)) as { eventId: string }).eventId)).toEqual(
      Array.from({ length: 250 }, (_, i) => `e${i}`),
    );
    expect(all[0].value!.subarray(0, 5)).toEqual(Buffer.from([0, 0, 0, 0, 7]));
    expect(all[4].key).toBe('u1');
    expect(calls[0].topicMessages[0].topic).toBe('p.learning.interactions');
  });

  it('retries retriable failures and resolves once acknowledged', async () => {
    const { calls, create } = harness((n) => (n <= 2 ? kafkaError(true) : null));
    const p = await create();
    await expect(p.publishInteraction(ev(1))).resolves.toBeUndefined();
    expect(calls).toHaveLength(3);
    await p.close();
  });

  it('gives up after the retry budget with a retriable DependencyError', async () => {
    const { calls, create } = harness(() => kafkaError(true));
    const p = await create();
    const err = await p.publishInteraction(ev(1)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DependencyError);
    expect(calls).toHaveLength(3);
    await p.close();
  });

  it('does not retry non-retriable failures', async () => {
    const { calls, create } = harness(() => kafkaError(false));
    const p = await create();
    const err = await p.publishInteraction(ev(1)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LearnstreamError);
    expect((err as LearnstreamError).retriable).toBe(false);
    expect(calls).toHaveLength(1);
    await p.close();
  });

  it('validates before queueing and bounds the records waiting for acks', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const { calls, create } = harness(() => null, { maxBatchRecords: 10, maxPending: 20 }, gate);
    const p = await create();
    await expect(p.publishInteraction({ ...ev(1), dwellMs: -3 })).rejects.toBeInstanceOf(ValidationError);
    const all = Array.from({ length: 60 }, (_, i) => p.publishInteraction(ev(i)));
    await new Promise((r) => setTimeout(r, 30));
    // The broker has not acknowledged anything yet: only maxPending records may be accepted, the rest wait.
    expect(p.inFlight).toBe(20);
    expect(calls).toHaveLength(1);
    release();
    await Promise.all(all);
    await p.close();
    expect(calls.flatMap((c) => c.topicMessages[0].messages)).toHaveLength(60);
  });
});
