/**
 * The CheckpointStore contract (test/contracts/checkpoint-store.contract.ts) against the Kafka changelog store
 * (consumers/state/changelog.ts) on the real broker: a compacted topic of its own per test, 2 partitions (groups 0
 * and 1 land on different partitions). "Rows written" counts the row records (`<stage>/<g>/<tag>/<id>`: every key but
 * the head and the chunks) handed to the broker in committed transactions, seen on the real producer's transactions.
 */
import type { Kafka, KafkaMessage, Message } from 'kafkajs';
import { Registry } from 'prom-client';
import { KafkaChangelogStore } from '../../consumers/state/changelog';
import { DLQ_HEADERS } from '../../consumers/dead-letter';
import type { Logger } from '../../lib/log';
import { bindInstrumentation, createMetrics } from '../../lib/metrics';
import { createInstrumentation } from '../../lib/metrics/instrumentation';
import { dlqName } from '../../schemas/topics';
import { checkpointStoreContract } from '../contracts/checkpoint-store.contract';
import { randomPrefix, testConfig, testKafka, waitFor } from '../helpers';

jest.setTimeout(120_000);

const config = testConfig('changelog');
const kafka = testKafka(config, 'changelog-contract');
let admin: ReturnType<Kafka['admin']>;
const topics: string[] = [];

beforeAll(async () => {
  admin = kafka.admin();
  await admin.connect();
});

afterAll(async () => {
  if (topics.length > 0) await admin.deleteTopics({ topics }).catch(() => undefined);
  await admin.disconnect();
});

/** A row record's key: `<stage>/<g>/<tag>/<id>`, neither the head nor a chunk (`m/<i>`). */
const isRow = (key: string) => {
  const rest = key.split('/').slice(2);
  return rest.length >= 2 && rest[0] !== 'm';
};

/** The same Kafka, its producers' transactions counting the row records (those `kind` accepts) they send. */
function counting(k: Kafka, count: (n: number) => void, kind: (key: string) => boolean = isRow): Kafka {
  const producer: Kafka['producer'] = (cfg) => {
    const p = k.producer(cfg);
    const transaction = p.transaction.bind(p);
    p.transaction = async () => {
      const tx = await transaction();
      const send = tx.send.bind(tx);
      tx.send = (record) => {
        count(record.messages.filter((m: Message) => kind(String(m.key))).length);
        return send(record);
      };
      return tx;
    };
    return p;
  };
  return new Proxy(k, {
    get: (target, prop, receiver) => (prop === 'producer' ? producer : (Reflect.get(target, prop, receiver) as unknown)),
  });
}

checkpointStoreContract('kafka changelog', {
  open: async () => {
    const topic = `${randomPrefix('changelog')}state`;
    topics.push(topic);
    await admin.createTopics({
      waitForLeaders: true,
      topics: [
        {
          topic,
          numPartitions: 2,
          replicationFactor: config.kafka.replicationFactor,
          configEntries: [{ name: 'cleanup.policy', value: 'compact' }],
        },
      ],
    });
    let written = 0;
    const k = counting(kafka, (n) => (written += n));
    const stores: KafkaChangelogStore[] = [];
    return {
      store: () => {
        const s = new KafkaChangelogStore({ kafka: k, topic, partitions: 2, transactionalPrefix: `${topic}-` });
        stores.push(s);
        return s;
      },
      rowsWritten: () => {
        const n = written;
        written = 0;
        return Promise.resolve(n);
      },
      close: async () => {
        for (const s of stores) await s.close();
      },
    };
  },
});

describe('kafka changelog: offsets committed in the checkpoint transaction', () => {
  it('commits the checkpoint offsets to the consumer group with the state (sendOffsets), not before', async () => {
    const topic = `${randomPrefix('changelog')}state`;
    const input = `${randomPrefix('changelog')}input`;
    topics.push(topic, input);
    await admin.createTopics({
      waitForLeaders: true,
      topics: [
        {
          topic,
          numPartitions: 2,
          replicationFactor: config.kafka.replicationFactor,
          configEntries: [{ name: 'cleanup.policy', value: 'compact' }],
        },
        { topic: input, numPartitions: 2, replicationFactor: config.kafka.replicationFactor },
      ],
    });
    const consumerGroupId = `${topic}-stage`;
    const store = new KafkaChangelogStore({ kafka, topic, partitions: 2, transactionalPrefix: `${topic}-` });
    const committed = async () => {
      const [t] = await admin.fetchOffsets({ groupId: consumerGroupId, topics: [input] });
      return Object.fromEntries(t.partitions.map((p) => [`${input}:${p.partition}`, p.offset]));
    };
    // A transactional offset commit shows once the coordinator has written the commit marker (milliseconds after).
    const committedBecomes = async (want: Record<string, string>) => {
      const key = JSON.stringify(want);
      await waitFor(async () => JSON.stringify(await committed()) === key, {
        timeoutMs: 10_000,
        intervalMs: 100,
        message: `committed ${key}`,
      });
      expect(await committed()).toEqual(want);
    };
    try {
      expect(store.commitsOffsets).toBe(true);
      await store.put(
        'learner',
        1,
        { offsets: { [`${input}:1`]: '42' }, state: { learners: [['u1', { n: 1 }]] }, writtenAt: 1 },
        { consumerGroupId },
      );
      await committedBecomes({ [`${input}:0`]: '-1', [`${input}:1`]: '42' });
      await store.put(
        'learner',
        1,
        { offsets: { [`${input}:1`]: '57' }, state: { learners: [['u1', { n: 2 }]] }, writtenAt: 2 },
        { consumerGroupId },
      );
      await committedBecomes({ [`${input}:0`]: '-1', [`${input}:1`]: '57' });
      // The restore's copy of the same offsets, read back from the changelog.
      expect((await store.get('learner', 1))?.offsets).toEqual({ [`${input}:1`]: '57' });
      // Without a consumer group (tools, benchmarks) nothing is committed.
      await store.put('learner', 1, { offsets: { [`${input}:1`]: '60' }, state: { learners: [['u1', { n: 3 }]] }, writtenAt: 3 });
      await new Promise((r) => setTimeout(r, 500));
      expect(await committed()).toEqual({ [`${input}:0`]: '-1', [`${input}:1`]: '57' });
    } finally {
      await store.close();
      await admin.deleteGroups([consumerGroupId]).catch(() => undefined);
    }
  });
});

describe('kafka changelog: the knowledge model per learner', () => {
  it('writes one record per learner of knowledge.learners, only those that changed, and restores the same state', async () => {
    const topic = `${randomPrefix('changelog')}state`;
    topics.push(topic);
    await admin.createTopics({
      waitForLeaders: true,
      topics: [
        {
          topic,
          numPartitions: 1,
          replicationFactor: config.kafka.replicationFactor,
          configEntries: [{ name: 'cleanup.policy', value: 'compact' }],
        },
      ],
    });
    let written = 0;
    const store = new KafkaChangelogStore({
      kafka: counting(
        kafka,
        (n) => (written += n),
        (key) => key.includes('/k/'),
      ),
      topic,
      partitions: 1,
      transactionalPrefix: `${topic}-`,
    });
    const state = (answered: number) => ({
      learners: [
        ['u1', { n: 1 }],
        ['u2', { n: 2 }],
      ],
      knowledge: {
        version: 1,
        items: [['q1', { b: answered }]],
        learners: [
          ['u1', { ability: 0.1 }],
          ['u2', { ability: 0.2 * answered }],
          ['u3', { ability: 0.3 }],
        ],
      },
    });
    try {
      await store.put('learner', 0, { offsets: { 'in:0': '3' }, state: state(1), writtenAt: 1 });
      expect(written).toBe(3);
      written = 0;
      await store.put('learner', 0, { offsets: { 'in:0': '4' }, state: state(2), writtenAt: 2 });
      expect(written).toBe(1); // only u2 answered since
      const fresh = new KafkaChangelogStore({ kafka, topic, partitions: 1, transactionalPrefix: `${topic}-reader-` });
      try {
        expect(await fresh.get('learner', 0)).toEqual({ offsets: { 'in:0': '4' }, state: state(2), writtenAt: 2 });
      } finally {
        await fresh.close();
      }
    } finally {
      await store.close();
    }
  });
});

describe('kafka changelog: poison under a group key is dead-lettered, never fatal', () => {
  /** A compacted changelog topic of its own and its dead-letter twin. */
  async function changelogTopic(): Promise<string> {
    const topic = `${randomPrefix('changelog')}state`;
    topics.push(topic, dlqName(topic));
    await admin.createTopics({
      waitForLeaders: true,
      topics: [
        {
          topic,
          numPartitions: 1,
          replicationFactor: config.kafka.replicationFactor,
          configEntries: [{ name: 'cleanup.policy', value: 'compact' }],
        },
        { topic: dlqName(topic), numPartitions: 1, replicationFactor: config.kafka.replicationFactor },
      ],
    });
    return topic;
  }
  /** Every committed record of `topic`, in offset order. */
  async function records(topic: string, want: number): Promise<KafkaMessage[]> {
    const out: KafkaMessage[] = [];
    const c = kafka.consumer({ groupId: `${topic}-reader-${out.length}${Math.random()}`, readUncommitted: false });
    await c.connect();
    try {
      await c.subscribe({ topics: [topic], fromBeginning: true });
      await c.run({ eachMessage: ({ message }) => Promise.resolve(void out.push(message)) });
      await waitFor(() => out.length >= want, { timeoutMs: 30_000, message: `${want} records on ${topic}` });
      await new Promise((r) => setTimeout(r, 300));
    } finally {
      await c.disconnect();
    }
    return out;
  }
  const cp = (tally: number, n2: number) => ({
    offsets: { 'in:0': String(tally) },
    state: {
      learners: [
        ['u1', { n: 1 }],
        ['u2', { n: n2 }],
      ],
      weights: [0.5, 0.25],
      tally,
    },
    writtenAt: tally,
  });
  const poison = async (topic: string, messages: Message[]) => {
    const p = kafka.producer();
    await p.connect();
    await p.send({ topic, messages: messages.map((m) => ({ ...m, partition: 0 })) });
    await p.disconnect();
  };

  it('a foreign record under a chunk key and a misshapen row: dead-lettered on <topic>.dlq, the last checkpoint restored, both keys rewritten by the next put', async () => {
    const topic = await changelogTopic();
    const writer = new KafkaChangelogStore({ kafka, topic, partitions: 1, transactionalPrefix: `${topic}-` });
    await writer.put('learner', 0, cp(10, 2));
    await writer.put('learner', 0, cp(11, 3));
    await writer.close();
    // any text is a valid slice of the chunks' JSON: only the head's hash of the chunk tells it apart
    await poison(topic, [
      { key: 'learner/0/m/0', value: '{"tally":99,"learners":[],"weights":[]}' },
      { key: 'learner/0/l/u1', value: '{"x":1}' },
    ]);
    let rewritten: string[] = [];
    const owner = new KafkaChangelogStore({
      kafka: counting(
        kafka,
        () => undefined,
        (k) => (rewritten.push(k), false),
      ),
      topic,
      partitions: 1,
      transactionalPrefix: `${topic}-`,
    });
    try {
      expect(await owner.get('learner', 0)).toEqual(cp(11, 3));
      const letters = await records(dlqName(topic), 2);
      expect(letters.map((m) => [String(m.key), String(m.headers?.[DLQ_HEADERS.reason])]).sort()).toEqual([
        ['learner/0/l/u1', 'changelog-undecodable'],
        ['learner/0/m/0', 'changelog-undecodable'],
      ]);
      // the same state again: only the head, and the two poisoned keys (so compaction cannot leave the poison alone)
      rewritten = [];
      await owner.put('learner', 0, cp(11, 3));
      expect(rewritten.sort()).toEqual(['learner/0/head', 'learner/0/l/u1', 'learner/0/m/0']);
    } finally {
      await owner.close();
    }
  });

  it('the good version compacted away: the restore replays (no checkpoint), says why (warning, metric, fallbacks), and the next put heals the key', async () => {
    const source = await changelogTopic();
    const writer = new KafkaChangelogStore({ kafka, topic: source, partitions: 1, transactionalPrefix: `${source}-` });
    await writer.put('learner', 0, cp(10, 2));
    await writer.put('learner', 0, cp(11, 3));
    await writer.close();
    // What compaction leaves of the source after poison under m/0: the newest record per key, the poison the newest m/0.
    const newest = new Map<string, KafkaMessage>();
    for (const m of await records(source, 7)) newest.set(String(m.key), m);
    newest.delete('learner/0/m/0');
    const topic = await changelogTopic();
    await poison(topic, [
      ...[...newest.values()].map((m) => ({ key: m.key, value: m.value })),
      { key: 'learner/0/m/0', value: '{"tally":99}' },
    ]);
    const instr = createInstrumentation();
    const registry = new Registry();
    bindInstrumentation(instr, createMetrics(registry, { defaultMetrics: false, roles: ['pipeline'] }));
    const warnings: [string, Record<string, unknown> | undefined][] = [];
    const logger: Logger = {
      debug: () => undefined,
      info: () => undefined,
      error: () => undefined,
      warn: (msg, fields) => void warnings.push([msg, fields]),
      child: () => logger,
    };
    const owner = new KafkaChangelogStore({ kafka, topic, partitions: 1, transactionalPrefix: `${topic}-`, emit: instr, logger });
    try {
      expect(await owner.get('learner', 0)).toBeNull();
      expect(owner.fallbacks).toEqual([expect.objectContaining({ stage: 'learner', group: 0, reason: 'chunk-missing' })]);
      expect(warnings).toContainEqual([
        'changelog state of the group cannot be rebuilt: replaying its input from the start',
        expect.objectContaining({ stage: 'learner', group: 0, reason: 'chunk-missing' }),
      ]);
      expect(await registry.metrics()).toContain(
        'learnstream_pipeline_checkpoint_restore_fallbacks_total{stage="learner",reason="chunk-missing"} 1',
      );
      expect((await records(dlqName(topic), 1)).map((m) => String(m.key))).toEqual(['learner/0/m/0']);
      // the replay rebuilt the state and checkpoints it: every key written again, the next restore is whole
      await owner.put('learner', 0, cp(11, 3));
      const next = new KafkaChangelogStore({ kafka, topic, partitions: 1, transactionalPrefix: `${topic}-`, deadLetters: false });
      try {
        expect(await next.get('learner', 0)).toEqual(cp(11, 3));
        expect(next.fallbacks).toEqual([]);
      } finally {
        await next.close();
      }
    } finally {
      await owner.close();
    }
  });
});
