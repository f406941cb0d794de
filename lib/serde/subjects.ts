import { RestError } from '@confluentinc/schemaregistry';
import { DependencyError } from '../errors';
import { topicName } from '../../schemas/topics';
import { EVENT_TOPIC_KEYS, TOPIC_EVENT, type EventName, type EventTopicKey } from '../../schemas';

/** Confluent TopicNameStrategy: the value schema of topic T lives under subject `T-value`. Keys are plain UTF-8. */
export function valueSubject(topic: string): string {
  return `${topic}-value`;
}

export interface EventTopic {
  key: EventTopicKey;
  topic: string;
  subject: string;
  event: EventName;
}

/** The five event topics under `prefix`, with their subjects and event records. */
export function eventTopics(prefix: string): EventTopic[] {
  return EVENT_TOPIC_KEYS.map((key) => {
    const topic = topicName(key, prefix);
    return { key, topic, subject: valueSubject(topic), event: TOPIC_EVENT[key] };
  });
}

/** The registry answered 404: the subject, version or id does not exist. */
export function isNotFound(err: unknown): boolean {
  return err instanceof RestError && err.status === 404;
}

/** Anything that is not a definite answer from the registry (network, 5xx, timeouts) is a retriable dependency error. */
export function registryUnavailable(err: unknown, what: string): DependencyError {
  const msg = err instanceof Error ? err.message : String(err);
  return new DependencyError('schema-registry', `${what}: ${msg}`, { cause: err });
}
