/**
 * The stage runner's readiness pause (issue 17, "nothing stuck"): a partition the runner pauses while downstream is
 * behind is always resumed, also when the wait ends with an exception. A heartbeat throws while the group rebalances;
 * before the fix that left the partition paused in kafkajs for good: the stage consumed nothing more while its process
 * looked alive. The pause is visible while it lasts (consumer.paused, pauses() for /readyz), and a pause, or a
 * partition with lag that gets no batch, longer than maxPauseMs is a stall: counted once and handed to onFatal (the
 * process exits and is restarted); a partition without lag never is. The runner is driven through its real kafkajs
 * callbacks (start, GROUP_JOIN, START_BATCH_PROCESS, eachBatch) by a hand-built consumer and EachBatchPayload; fake
 * timers run the readiness polling and the lag timer, so nothing here waits on the clock.
 */
import type { Batch, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import {
  StageRunner,
  StallError,
  type GroupProcessor,
  type InputRecord,
  type StageRunnerOptions,
} from '../../consumers/runner/stage-runner';
import { MemoryCheckpointStore } from '../../consumers/state/checkpoint';
import { pauseReasons } from '../../pipelines/pipeline';
import { createLogger } from '../../lib/log';
import { createInstrumentation, type InstrumentationEvents } from '../../lib/metrics/instrumentation';

const TOPIC = 'in';

/** The kafkajs consumer and admin surface the runner uses, recording what it is asked to do. */
function fakeKafka(offsets = { high: '10' }) {
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
    fetchTopicOffsets: () => Promise.resolve([{ partition: 0, offset: offsets.high, low: '0', high: offsets.high }]),
    fetchOffsets: () => Promise.resolve([{ topic: TOPIC, partitions: [{ partition: 0, offset: '-1' }] }]),
  };
  const kafka = { consumer: () => consumer, admin: () => admin } as unknown as Kafka;
  return {
    kafka,
    join: (partitions: number[]) => listeners.get('group_join')!({ payload: { memberAssignment: { [TOPIC]: partitions } } }),
    batch: (p: EachBatchPayload) => eachBatch!(p),
    /** kafkajs handed over a batch it filtered to nothing (only transaction markers): eachBatch never sees it. */
    filtered: (lastOffset: string) =>
      listeners.get('start_batch_process')!({ payload: { topic: TOPIC, partition: 0, batchSize: 0, lastOffset } }),
    offsets,
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

async function startedRunner(proc: GroupProcessor<null>, opts: Partial<StageRunnerOptions<null>> = {}) {
  const k = fakeKafka();
  const instr = createInstrumentation();
  const paused: number[] = [];
  const stalls: InstrumentationEvents['pipeline.stall'][] = [];
  const fatal: unknown[] = [];
  instr.on('consumer.paused', (e) => paused.push(e.pausedMs));
  instr.on('pipeline.stall', (e) => stalls.push(e));
  const runner = new StageRunner({
    kafka: k.kafka,
    groupId: 'g',
    topics: [TOPIC],
    processor: proc,
    store: new MemoryCheckpointStore(),
    logger: createLogger({ level: 'error', write: () => undefined }),
    emit: instr,
    lagIntervalMs: 0,
    onFatal: (err) => fatal.push(err),
    ...opts,
  });
  await runner.start();
  k.join([0]);
  // The first batch of a group restores its checkpoint (none: earliest) and seeks; the next one is consumed.
  await k.batch(payload([0], () => Promise.resolve()).p);
  return { runner, k, paused, stalls, fatal };
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

  it('shows the pause while it lasts (consumer.paused, pauses() with what it waits for) and 0 after it', async () => {
    let ready = false;
    const { proc } = processor(() => ready);
    proc.waitingFor = () => (ready ? undefined : 'serving store: 5012 re-ranks pending');
    const { k, runner, paused } = await startedRunner(proc);
    const handled = k.batch(payload([0], () => Promise.resolve()).p);
    await jest.advanceTimersByTimeAsync(3000);
    expect(runner.pauses()).toEqual([{ group: 0, pausedMs: 3000, waitingFor: 'serving store: 5012 re-ranks pending' }]);
    expect(paused.at(-1)).toBeGreaterThanOrEqual(2000); // the gauge moves once a second of the wait
    expect(pauseReasons([runner])).toEqual([]); // /readyz names a pause from 30 s on
    await jest.advanceTimersByTimeAsync(28_000);
    expect(pauseReasons([runner])).toEqual([
      'test consumption paused for 31 s (partition group 0), waiting for serving store: 5012 re-ranks pending',
    ]);
    ready = true;
    await jest.advanceTimersByTimeAsync(10);
    await handled;
    expect(runner.pauses()).toEqual([]);
    expect(paused.at(-1)).toBe(0);
  });

  it('makes a readiness pause longer than maxPauseMs a stall: counted once, then onFatal after the exit delay', async () => {
    const { proc } = processor(() => false);
    proc.waitingFor = () => 'item stage: 2301 gradients of item-updates partition 3 not yet in the item-factors replica';
    const { k, runner, stalls, fatal } = await startedRunner(proc, { maxPauseMs: 5000, stallExitDelayMs: 2000 });
    void k.batch(payload([0], () => Promise.resolve()).p);
    await jest.advanceTimersByTimeAsync(4000);
    expect(stalls).toEqual([]);
    await jest.advanceTimersByTimeAsync(1500);
    expect(stalls).toEqual([{ stage: 'test', reason: 'paused' }]);
    expect(fatal).toEqual([]); // not before one scrape could see the count
    await jest.advanceTimersByTimeAsync(10_000);
    expect(stalls).toHaveLength(1);
    expect(fatal).toHaveLength(1);
    expect(fatal[0]).toBeInstanceOf(StallError);
    expect((fatal[0] as Error).message).toMatch(/test stage stalled \(paused\): .*item stage: 2301 gradients/);
    expect(runner.stalledWith?.reason).toBe('paused');
  });

  it('makes a partition with lag that gets no batch for maxPauseMs a no-fetch stall', async () => {
    const { proc } = processor(() => true);
    const { stalls, fatal } = await startedRunner(proc, { maxPauseMs: 5000, stallExitDelayMs: 0, lagIntervalMs: 1000 });
    // position 0 after the restore, high watermark 10: lag 10, and kafkajs hands over nothing (a partition left paused)
    await jest.advanceTimersByTimeAsync(4000);
    expect(stalls).toEqual([]);
    await jest.advanceTimersByTimeAsync(2000);
    expect(stalls).toEqual([{ stage: 'test', reason: 'no-fetch' }]);
    await jest.advanceTimersByTimeAsync(10);
    expect((fatal[0] as Error).message).toMatch(/no-fetch.*in:0 has 10 records to consume and got no batch/);
  });

  it('never calls an idle partition without lag a stall, nor one whose tail kafkajs filtered away (transaction markers)', async () => {
    const idle = await startedRunner(processor(() => true).proc, { maxPauseMs: 5000, stallExitDelayMs: 0, lagIntervalMs: 1000 });
    idle.k.offsets.high = '0'; // nothing to consume
    await jest.advanceTimersByTimeAsync(60_000);
    expect(idle.stalls).toEqual([]);
    await idle.runner.stop();

    const marker = await startedRunner(processor(() => true).proc, { maxPauseMs: 5000, stallExitDelayMs: 0, lagIntervalMs: 1000 });
    const { p } = payload([0, 1, 2], () => Promise.resolve());
    await marker.k.batch(p); // position 3
    marker.k.offsets.high = '4';
    marker.k.filtered('3'); // offset 3 is a commit marker: lag 1 that no batch will ever consume
    await jest.advanceTimersByTimeAsync(60_000);
    expect(marker.stalls).toEqual([]);
    expect(marker.fatal).toEqual([]);
    await marker.runner.stop();
  });
});
