/**
 * The CheckpointStore contract (test/contracts/checkpoint-store.contract.ts) against the Kafka changelog store
 * (consumers/state/changelog.ts) on the real broker: a compacted topic of its own per test, 2 partitions (groups 0
 * and 1 land on different partitions). "Entries written" counts the learner-entry records (`<stage>/<g>/l/<id>`)
 * handed to the broker in committed transactions, seen on the real producer's transactions.
 */
import type { Kafka, Message } from 'kafkajs';
import { KafkaChangelogStore } from '../../consumers/state/changelog';
import { checkpointStoreContract } from '../contracts/checkpoint-store.contract';
import { randomPrefix, testConfig, testKafka } from '../helpers';

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

/** The same Kafka, its producers' transactions counting the learner entries they send. */
function counting(k: Kafka, count: (n: number) => void): Kafka {
  const producer: Kafka['producer'] = (cfg) => {
    const p = k.producer(cfg);
    const transaction = p.transaction.bind(p);
    p.transaction = async () => {
      const tx = await transaction();
      const send = tx.send.bind(tx);
      tx.send = (record) => {
        count(record.messages.filter((m: Message) => String(m.key).includes('/l/')).length);
        return send(record);
      };
      return tx;
    };
    return p;
  };
  return new Proxy(k, { get: (target, prop, receiver) => (prop === 'producer' ? producer : Reflect.get(target, prop, receiver) as unknown) });
}

checkpointStoreContract('kafka changelog', {
  open: async () => {
    const topic = `${randomPrefix('changelog')}state`;
    topics.push(topic);
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 2, replicationFactor: config.kafka.replicationFactor, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }] });
    let written = 0;
    const k = counting(kafka, (n) => (written += n));
    const stores: KafkaChangelogStore[] = [];
    return {
      store: () => {
        const s = new KafkaChangelogStore({ kafka: k, topic, partitions: 2, transactionalPrefix: `${topic}-` });
        stores.push(s);
        return s;
      },
      entriesWritten: () => {
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
