/**
 * The stage runner's readiness pause (issue 17, "nothing stuck"): a partition the runner pauses while downstream is
 * behind is always resumed, also when the wait ends with an exception. A heartbeat throws while the group rebalances;
 * before the fix that left the partition paused in kafkajs for good: the stage consumed nothing more while its process
 * looked alive. The runner is driven through its real kafkajs callbacks (start, GROUP_JOIN, eachBatch) by a hand-built
 * consumer and EachBatchPayload; fake timers run the readiness polling, so nothing here waits on the clock.
 */
import type { Batch, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import { StageRunner, type GroupProcessor, type InputRecord } from '../../consumers/runner/stage-runner';
import { MemoryCheckpointStore } from '../../consumers/state/checkpoint';
import { createLogger } from '../../lib/log';
import { noopEmitter } from '../../lib/metrics/instrumentation';

const TOPIC = 'in';

/** The kafkajs consumer and admin surface the runner uses, recording what it is asked to do. */
function fakeKafka() {
  const listeners = new Map<string, (e: { payload: unknown }) => void>();
  let eachBatch: ((p: EachBatchPayload) => Promise<void>) | null = null;
  const consumer = {
    events: { GROUP_JOIN: 'group_join', CRASH: 'crash', START_BATCH_PROCESS: 'start_batch_process' },
    on: (name: string, fn: (e: { payload: unknown }) => void) => void listeners.set(name, fn),
    connect: () => Promise.resolve(),
    subscribe: () => Promise.resolve(),
    run: (o: { eachBatch: (p: EachBatchPayload) => Promise<void> }) => {
      eachBatch = o.eachBatch;
      return Promise.resolve();
    },
    seek: () => undefined,
    pause: () => undefined,
    commitOffsets: () => Promise.resolve(),
    stop: () => Promise.resolve(),
    disconnect: () => Promise.resolve(),
  };
  const admin = {
    connect: () => Promise.resolve(),
    disconnect: () => Promise.resolve(),
    fetchTopicOffsets: () => Promise.resolve([{ partition: 0, offset: '0', low: '0', high: '10' }]),
    fetchOffsets: () => Promise.resolve([{ topic: TOPIC, partitions: [{ partition: 0, offset: '-1' }] }]),
  };
  const kafka = { consumer: () => consumer, admin: () => admin } as unknown as Kafka;
  return {
    kafka,
    join: (partitions: number[]) => listeners.get('group_join')!({ payload: { memberAssignment: { [TOPIC]: partitions } } }),
    batch: (p: EachBatchPayload) => eachBatch!(p),
  };
}

/** One batch of partition 0 as kafkajs hands it over, with a heartbeat of our choosing; counts pauses and resumes. */
function payload(offsets: number[], heartbeat: () => Promise<void>) {
  const calls = { paused: 0, resumed: 0, resolved: [] as string[] };
  const messages = offsets.map(
    (o) => ({ offset: String(o), key: Buffer.from('k'), value: Buffer.from('v'), timestamp: '1', headers: {} }) as unknown as KafkaMessage,
  );
  const batch = { topic: TOPIC, partition: 0, highWatermark: '10', messages } as unknown as Batch;
  const p = {
    batch,
    resolveOffset: (o: string) => void calls.resolved.push(o),
    heartbeat,
    pause: () => {
      calls.paused++;
      return () => void calls.resumed++;
    },
    isRunning: () => true,
    isStale: () => false,
    commitOffsetsIfNecessary: () => Promise.resolve(),
    uncommittedOffsets: () => ({ topics: [] }),
  } as unknown as EachBatchPayload;
  return { p, calls };
}

function processor(isReady: () => boolean) {
  const applied: string[] = [];
  const proc: GroupProcessor<null> = {
    stage: 'test',
    restore: () => undefined,
    apply: (_g: number, r: InputRecord) => void applied.push(r.offset),
    flush: () => Promise.resolve(),
    snapshot: () => null,
    drop: () => undefined,
    ready: isReady,
  };
  return { proc, applied };
}

async function startedRunner(proc: GroupProcessor<null>) {
  const k = fakeKafka();
  const runner = new StageRunner({
    kafka: k.kafka,
    groupId: 'g',
    topics: [TOPIC],
    processor: proc,
    store: new MemoryCheckpointStore(),
    logger: createLogger({ level: 'error' }),
    emit: noopEmitter,
    lagIntervalMs: 0,
  });
  await runner.start();
  k.join([0]);
  // The first batch of a group restores its checkpoint (none: earliest) and seeks; the next one is consumed.
  await k.batch(payload([0], () => Promise.resolve()).p);
  return { runner, k };
}

describe('stage runner readiness pause', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('resumes the paused partition when the heartbeat throws during the wait (the group is rebalancing)', async () => {
    const { proc, applied } = processor(() => false); // downstream stays behind
    const { k } = await startedRunner(proc);
    const { p, calls } = payload([0, 1, 2], () => Promise.reject(new Error('The group is rebalancing, so a rejoin is needed')));
    const handled = k.batch(p);
    const outcome = expect(handled).rejects.toThrow(/rebalancing/);
    await jest.advanceTimersByTimeAsync(1500); // the wait heartbeats once a second
    await outcome;
    expect(calls).toMatchObject({ paused: 1, resumed: 1 });
    expect(applied).toEqual([]);
  });

  it('resumes the partition and applies the batch once downstream is ready again', async () => {
    let ready = false;
    const { proc, applied } = processor(() => ready);
    const { k } = await startedRunner(proc);
    const { p, calls } = payload([0, 1, 2], () => Promise.resolve());
    const handled = k.batch(p);
    await jest.advanceTimersByTimeAsync(1000);
    expect(calls).toMatchObject({ paused: 1, resumed: 0 }); // still waiting, partition paused
    ready = true;
    await jest.advanceTimersByTimeAsync(10);
    await handled;
    expect(calls).toMatchObject({ paused: 1, resumed: 1, resolved: ['0', '1', '2'] });
    expect(applied).toEqual(['0', '1', '2']);
  });
});
