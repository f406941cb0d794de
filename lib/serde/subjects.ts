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

// The registry client's errors are converted at its edge (lib/registry/errors.ts); re-exported for the serde steps.
export { isNotFound, registryUnavailable } from '../registry/errors';
