/**
 * Consumer lag per partition against the real Kafka: it is reported on a timer, so a consumer that applies nothing
 * (downstream not ready) shows its lag growing instead of a frozen gauge; it drops to 0 once the backlog is applied;
 * the series of a partition moves away with it on a rebalance and disappears when the runner stops.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Kafka, Producer } from 'kafkajs';
import { Registry } from 'prom-client';
import { ensureTopics } from '../../lib/kafka/topics';
import { createLogger } from '../../lib/log';
import { bindInstrumentation, createInstrumentation, createMetrics } from '../../lib/metrics';
import { topicName } from '../../schemas/topics';
import { StageRunner, type GroupProcessor } from '../../consumers/runner/stage-runner';
import { FileCheckpointStore } from '../../consumers/state/checkpoint';
import { testConfig, testKafka, waitFor } from '../helpers';

jest.setTimeout(120_000);

class CountingProcessor implements GroupProcessor<{ n: number }> {
  readonly stage = 'lagtest';
  open = false;
  applied = 0;
  restore(): void {}
  apply(): void {
    this.applied++;
  }
  flush(): Promise<void> {
    return Promise.resolve();
  }
  snapshot(): { n: number } {
    return { n: this.applied };
  }
  drop(): void {}
  ready(): boolean {
    return this.open;
  }
}

describe('consumer lag gauge (real Kafka)', () => {
  const config = testConfig('lag', { kafka: { partitions: 2 } });
  const topic = topicName('interactions', config.kafka.topicPrefix);
  const groupId = `${config.kafka.topicPrefix}lag-group`;
  const logger = createLogger({ level: 'error' });
  let kafka: Kafka;
  let producer: Producer;
  const dirs: string[] = [];
  const runners: StageRunner<unknown>[] = [];

  function runner(processor: CountingProcessor) {
    const registry = new Registry();
    const instr = createInstrumentation();
    bindInstrumentation(instr, createMetrics(registry, { defaultMetrics: false }));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ls-lag-'));
    dirs.push(dir);
    const r = new StageRunner({
      kafka,
      groupId,
      topics: [topic],
      processor,
      store: new FileCheckpointStore(dir),
      logger,
      emit: instr,
      checkpointIntervalMs: 500,
      lagIntervalMs: 200,
      sessionTimeoutMs: 6000,
    });
    runners.push(r);
    const lag = async () => {
      const m = (await registry.getMetricsAsJSON()).find((x) => x.name === 'learnstream_kafka_consumer_lag_messages') as
        { values: { value: number; labels: Record<string, string> }[] } | undefined;
      return new Map(
        (m?.values ?? []).filter((v) => v.labels.group === groupId && v.labels.topic === topic).map((v) => [v.labels.partition, v.value]),
      );
    };
    return { r, lag };
  }

  beforeAll(async () => {
    kafka = testKafka(config, 'lag-test');
    const admin = kafka.admin();
    await admin.connect();
    await ensureTopics(admin, config);
    await admin.disconnect();
    producer = kafka.producer();
    await producer.connect();
  });

  afterAll(async () => {
    for (const r of runners) await r.stop();
    await producer?.disconnect();
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  const send = (partition: number, n: number) =>
    producer.send({ topic, messages: Array.from({ length: n }, (_, i) => ({ partition, key: `k${i}`, value: `v${i}` })) });

  it('grows while nothing is applied, falls to 0 when the backlog is applied, moves away on revoke, is removed on stop', async () => {
    const pa = new CountingProcessor();
    const a = runner(pa);
    await a.r.start();
    await send(0, 30);
    await send(1, 5);
    // Nothing is applied (the processor is not ready), so only the timer can report this.
    const stalled = await waitFor(
      async () => {
        const l = await a.lag();
        return l.get('0') === 30 && l.get('1') === 5 ? l : undefined;
      },
      { message: 'lag of a stalled consumer reported', timeoutMs: 60_000 },
    );
    expect(stalled.size).toBe(2);
    expect(pa.applied).toBe(0);
    await send(0, 20);
    await waitFor(async () => (await a.lag()).get('0') === 50, { message: 'lag keeps growing while stalled', timeoutMs: 30_000 });
    expect(pa.applied).toBe(0);

    pa.open = true;
    await waitFor(
      async () => {
        const l = await a.lag();
        return pa.applied === 55 && l.get('0') === 0 && l.get('1') === 0;
      },
      { message: 'backlog applied, lag 0', timeoutMs: 60_000 },
    );

    // A second member takes one partition: A's series for it must go (B reports it in its own process).
    const pb = new CountingProcessor();
    pb.open = true;
    const b = runner(pb);
    await b.r.start();
    const moved = await waitFor(
      async () => {
        const [la, lb] = [await a.lag(), await b.lag()];
        return la.size === 1 && lb.size === 1 && [...la.keys()][0] !== [...lb.keys()][0] ? { la, lb } : undefined;
      },
      { message: 'one partition each after the rebalance', timeoutMs: 60_000 },
    );
    expect([...moved.la.values(), ...moved.lb.values()]).toEqual([0, 0]);

    await b.r.stop();
    expect((await b.lag()).size).toBe(0);
  });
});
