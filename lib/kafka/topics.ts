import type { Admin, ITopicConfig } from 'kafkajs';
import type { Config } from '../config';
import { COMPACTED, dlqName, TOPIC, topicName, type TopicKey } from '../topics';

export interface TopicPlan {
  name: string;
  compacted: boolean;
}

/** Every topic learnstream uses, with its dead-letter twin. `extraPrefix` goes after the configured prefix (tests). */
export function plannedTopics(config: Config, extraPrefix = ''): TopicPlan[] {
  const prefix = `${config.kafka.topicPrefix}${extraPrefix}`;
  const out: TopicPlan[] = [];
  for (const key of Object.keys(TOPIC) as TopicKey[]) {
    const name = topicName(key, prefix);
    out.push({ name, compacted: COMPACTED.has(key) });
    // Dead letters are an audit trail, never compacted: two bad messages with the same key must both survive.
    out.push({ name: dlqName(name), compacted: false });
  }
  return out;
}

/**
 * Creates every missing topic (compacted ones with cleanup.policy=compact) and waits for their leaders. Idempotent:
 * existing topics are left as they are. Returns the names it created.
 */
export async function ensureTopics(admin: Admin, config: Config, extraPrefix = ''): Promise<string[]> {
  const existing = new Set(await admin.listTopics());
  const missing = plannedTopics(config, extraPrefix).filter((t) => !existing.has(t.name));
  if (missing.length === 0) return [];
  const topics: ITopicConfig[] = missing.map((t) => ({
    topic: t.name,
    numPartitions: config.kafka.partitions,
    replicationFactor: config.kafka.replicationFactor,
    configEntries: t.compacted ? [{ name: 'cleanup.policy', value: 'compact' }] : [],
  }));
  try {
    await admin.createTopics({ topics, waitForLeaders: true });
  } catch (err) {
    // Another process may have created some of them between listTopics and createTopics: that is success too.
    const now = new Set(await admin.listTopics());
    if (!missing.every((t) => now.has(t.name))) throw err;
  }
  return missing.map((t) => t.name);
}
