/** Topic names. Every name gets the configured prefix (kafka.topicPrefix); tests use a random prefix. */
export const TOPIC = {
  interactions: 'learning.interactions',
  quizAttempts: 'learning.quiz-attempts',
  resources: 'catalog.resources',
  profiles: 'learners.profiles',
  erasures: 'privacy.erasures',
  itemUpdates: 'model.item-updates',
  itemFactors: 'model.item-factors',
  contentVectors: 'model.content-vectors',
} as const;

export type TopicKey = keyof typeof TOPIC;

/** Compacted topics keep the latest value per key; a null value (tombstone) deletes the key. */
export const COMPACTED: ReadonlySet<TopicKey> = new Set<TopicKey>(['resources', 'profiles', 'itemFactors', 'contentVectors']);

/**
 * Topics whose records name a learner (userId key or field): their retention and compaction settings bound how long
 * an erased learner's raw data stays on Kafka (lib/kafka/topics.ts, docs/operations.md "Erasure bound"). Model topics
 * carry item ids and aggregates only. Every dead-letter topic is treated as personal (it holds raw records).
 */
export const PERSONAL: ReadonlySet<TopicKey> = new Set<TopicKey>(['interactions', 'quizAttempts', 'profiles', 'erasures']);

export function topicName(key: TopicKey, prefix = ''): string {
  return `${prefix}${TOPIC[key]}`;
}

export function dlqName(topic: string): string {
  return `${topic}.dlq`;
}
