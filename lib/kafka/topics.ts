import { ConfigResourceTypes, ConfigSource, type Admin, type ITopicConfig } from 'kafkajs';
import type { Config } from '../config';
import { ConfigError, DependencyError } from '../errors';
import { COMPACTED, dlqName, PERSONAL, TOPIC, topicName, type TopicKey } from '../../schemas/topics';

export interface TopicPlan {
  name: string;
  compacted: boolean;
  /** Holds personal data: retention (or compaction) is bounded by config.privacy. */
  personal: boolean;
  /** The topic-level configs learnstream sets (ensureTopics applies them to new and existing topics). */
  configs: Record<string, string>;
}

/**
 * The topic configs that make erasure complete within a bound (docs/operations.md, "Erasure bound"). Retention and
 * compaction only ever touch closed segments, and a segment otherwise rolls after 7 days (or 1 GiB), so `segment.ms`
 * is what makes `retention.ms` and tombstones take effect on time.
 */
export function topicConfigs(plan: { compacted: boolean; personal: boolean }, config: Config): Record<string, string> {
  const p = config.privacy;
  const out: Record<string, string> = { 'cleanup.policy': plan.compacted ? 'compact' : 'delete' };
  if (!plan.personal) return out;
  out['segment.ms'] = String(p.segmentMs);
  if (plan.compacted) {
    // a tombstoned or superseded profile is eligible at once and compacted at the latest compactionLagMs after its
    // segment rolled; the tombstone (its key is the user id) is then kept compactionLagMs for consumers to see it
    out['min.compaction.lag.ms'] = '0';
    out['max.compaction.lag.ms'] = String(p.compactionLagMs);
    out['delete.retention.ms'] = String(p.compactionLagMs);
  } else {
    out['retention.ms'] = String(p.retentionMs);
  }
  return out;
}

/** Every topic learnstream uses, with its dead-letter twin. `extraPrefix` goes after the configured prefix (tests). */
export function plannedTopics(config: Config, extraPrefix = ''): TopicPlan[] {
  const prefix = `${config.kafka.topicPrefix}${extraPrefix}`;
  const out: TopicPlan[] = [];
  const plan = (name: string, compacted: boolean, personal: boolean): TopicPlan => ({
    name,
    compacted,
    personal,
    configs: topicConfigs({ compacted, personal }, config),
  });
  for (const key of Object.keys(TOPIC) as TopicKey[]) {
    const name = topicName(key, prefix);
    out.push(plan(name, COMPACTED.has(key), PERSONAL.has(key)));
    // Dead letters are an audit trail, never compacted: two bad messages with the same key must both survive. They
    // hold raw records (user ids among them) of whatever topic they come from, so they are all personal.
    out.push(plan(dlqName(name), false, true));
  }
  return out;
}

/**
 * The state changelog topic (consumers/state/changelog.ts; `--state kafka`, the default): compacted, and personal,
 * since a learner's state is keyed by their id (`learner/<g>/l/<id>`; erasure writes its tombstone). It gets the same bounds as
 * learners.profiles, so a superseded or tombstoned learner leaves it within the erasure bound (docs/operations.md).
 */
export function changelogTopicPlan(config: Config): TopicPlan {
  const flags = { compacted: true, personal: true };
  return { name: `${config.kafka.topicPrefix}learnstream.state-changelog`, ...flags, configs: topicConfigs(flags, config) };
}

/**
 * Creates the changelog topic with its configs, or reconciles an existing one's (an older one had no bounds), and its
 * dead-letter twin (records that do not decode at restore: raw learner state, so personal like every DLQ).
 */
export async function ensureChangelogTopic(admin: Admin, config: Config): Promise<string> {
  const t = changelogTopicPlan(config);
  const dlq = { name: dlqName(t.name), configs: topicConfigs({ compacted: false, personal: true }, config) };
  const have = new Set(await admin.listTopics());
  for (const [plan, partitions] of [
    [t, config.kafka.partitions],
    [dlq, 1],
  ] as const) {
    if (have.has(plan.name)) await reconcileTopicConfigs(admin, [{ topic: plan.name, configs: plan.configs }]);
    else
      await createTopics(admin, [
        {
          topic: plan.name,
          numPartitions: partitions,
          replicationFactor: config.kafka.replicationFactor,
          configEntries: Object.entries(plan.configs).map(([name, value]) => ({ name, value })),
        },
      ]);
  }
  return t.name;
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
      const ready =
        meta.topics.length === topics.length &&
        meta.topics.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0));
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
  await waitForTopicLeaders(
    admin,
    topics.map((t) => t.topic),
    timeoutMs,
  );
  return missing.map((t) => t.topic);
}

/**
 * Sets `topics`' declared configs on topics that exist with other values (created by an older version, or changed by
 * hand), keeping every other topic-level config they have. Returns the names it altered.
 */
export async function reconcileTopicConfigs(admin: Admin, topics: { topic: string; configs: Record<string, string> }[]): Promise<string[]> {
  if (topics.length === 0) return [];
  const described = await admin.describeConfigs({
    includeSynonyms: false,
    resources: topics.map((t) => ({ type: ConfigResourceTypes.TOPIC, name: t.topic })),
  });
  const byName = new Map(described.resources.map((r) => [r.resourceName, r.configEntries]));
  const altered: string[] = [];
  for (const t of topics) {
    const entries = byName.get(t.topic) ?? [];
    // set on the topic itself: a broker default that happens to match today would follow tomorrow's broker default
    const value = new Map(entries.filter((e) => e.configSource === ConfigSource.TOPIC_CONFIG).map((e) => [e.configName, e.configValue]));
    if (Object.entries(t.configs).every(([k, v]) => value.get(k) === v)) continue;
    // AlterConfigs replaces the topic's whole dynamic config: carry over what was set at topic level besides ours
    const kept = entries
      .filter((e) => e.configSource === ConfigSource.TOPIC_CONFIG && !(e.configName in t.configs))
      .map((e) => ({ name: e.configName, value: e.configValue }));
    const configEntries = [...kept, ...Object.entries(t.configs).map(([name, v]) => ({ name, value: v }))];
    await admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: t.topic, configEntries }] });
    altered.push(t.topic);
  }
  return altered;
}

/**
 * Creates every missing learnstream topic with its declared configs (topicConfigs: compaction, and the retention,
 * segment and compaction-lag bounds of personal data) and waits for their leaders; existing topics get the declared
 * configs where theirs differ (an erasure bound that only new deployments had would be no bound). Idempotent.
 * Returns the names it created.
 */
export async function ensureTopics(admin: Admin, config: Config, extraPrefix = ''): Promise<string[]> {
  const planned = plannedTopics(config, extraPrefix);
  const existing = new Set(await admin.listTopics());
  const created = await createTopics(
    admin,
    planned.map((t) => ({
      topic: t.name,
      numPartitions: config.kafka.partitions,
      replicationFactor: config.kafka.replicationFactor,
      configEntries: Object.entries(t.configs).map(([name, value]) => ({ name, value })),
    })),
  );
  await reconcileTopicConfigs(
    admin,
    planned.filter((t) => existing.has(t.name)).map((t) => ({ topic: t.name, configs: t.configs })),
  );
  return created;
}

/**
 * The learner stage's input topics must have at least one partition per learner instance (the consumer group gives an
 * instance without a partition nothing to do). An existing topic is never given more partitions here: that would move
 * learners to other partitions and away from their state. Throws ConfigError naming the topics and what to change.
 */
export async function checkLearnerPartitions(admin: Admin, config: Config, instances: number): Promise<void> {
  const keys: TopicKey[] = ['interactions', 'quizAttempts', 'profiles', 'erasures'];
  const topics = keys.map((k) => topicName(k, config.kafka.topicPrefix));
  const md = await admin.fetchTopicMetadata({ topics });
  const short = md.topics.filter((t) => t.partitions.length < instances).map((t) => `${t.name} (${t.partitions.length})`);
  if (short.length > 0) {
    throw new ConfigError([
      `${instances} learner instances need at least ${instances} partitions per input topic; ${short.join(', ')} have fewer: set LEARNSTREAM_LEARNER_INSTANCES to at most the partition count, or recreate the topics with LEARNSTREAM_KAFKA_PARTITIONS >= ${instances} (adding partitions to existing topics would move learners away from their state)`,
    ]);
  }
}
