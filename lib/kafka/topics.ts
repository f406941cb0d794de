import type { Admin, ITopicConfig } from 'kafkajs';
import type { Config } from '../config';
import { DependencyError } from '../errors';
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

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Waits until every partition of `topics` has a leader. Needed after CreateTopics on KRaft brokers: metadata reaches
 * the broker asynchronously, and kafkajs' own `waitForLeaders` gives up on the transient UNKNOWN_TOPIC_OR_PARTITION.
 */
export async function waitForTopicLeaders(admin: Admin, topics: string[], timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const meta = await admin.fetchTopicMetadata({ topics });
      const ready = meta.topics.length === topics.length && meta.topics.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0));
      if (ready) return;
    } catch (err) {
      lastError = err;
    }
    await sleep(100);
  }
  throw new DependencyError('kafka', `topics have no leader after ${timeoutMs} ms: ${topics.join(', ')}`, { cause: lastError });
}

/**
 * Creates topics (those that already exist are fine) and waits for their leaders, so the caller can produce at once.
 * Returns the names it created.
 */
export async function createTopics(admin: Admin, topics: ITopicConfig[], timeoutMs = 30_000): Promise<string[]> {
  const existing = new Set(await admin.listTopics());
  const missing = topics.filter((t) => !existing.has(t.topic));
  if (missing.length > 0) {
    try {
      await admin.createTopics({ topics: missing, waitForLeaders: false, timeout: timeoutMs });
    } catch (err) {
      // Another process may have created some of them between listTopics and createTopics: that is success too.
      const now = new Set(await admin.listTopics());
      if (!missing.every((t) => now.has(t.topic))) throw err;
    }
  }
  await waitForTopicLeaders(admin, topics.map((t) => t.topic), timeoutMs);
  return missing.map((t) => t.topic);
}

/**
 * Creates every missing learnstream topic (compacted ones with cleanup.policy=compact) and waits for their leaders.
 * Idempotent: existing topics are left as they are. Returns the names it created.
 */
export async function ensureTopics(admin: Admin, config: Config, extraPrefix = ''): Promise<string[]> {
  return createTopics(
    admin,
    plannedTopics(config, extraPrefix).map((t) => ({
      topic: t.name,
      numPartitions: config.kafka.partitions,
      replicationFactor: config.kafka.replicationFactor,
      configEntries: t.compacted ? [{ name: 'cleanup.policy', value: 'compact' }] : [],
    })),
  );
}
