/**
 * Runtime view of the event contracts: one parsed Avro type per event, and which topic carries which event.
 * The types themselves come from ./generated/types.ts (generated from the .avsc files, never edited by hand).
 */
import avro from 'avsc';
import type { TopicKey } from './topics';
import { SCHEMAS, type EventName, type EventTypes } from './generated/types';

export * from './generated/types';
export { validateEvent, assertValidEvent, LIMITS, type ValidationIssue, type ValidationResult } from './validate';

/** Parsed once; avsc types are immutable and safe to share. Timestamps stay epoch-ms numbers (no logical-type hooks). */
export const AVRO_TYPES: { readonly [N in EventName]: avro.Type } = Object.fromEntries(
  Object.entries(SCHEMAS).map(([name, schema]) => [name, avro.Type.forSchema(schema as unknown as avro.Schema)]),
) as { [N in EventName]: avro.Type };

/** The event topics and the record each one carries. Model topics (item updates/factors) are internal, not here. */
export const TOPIC_EVENT = {
  interactions: 'LearningInteraction',
  quizAttempts: 'QuizAttempt',
  resources: 'Resource',
  profiles: 'LearnerProfile',
  erasures: 'ErasureRequest',
} as const satisfies Partial<Record<TopicKey, EventName>>;

export type EventTopicKey = keyof typeof TOPIC_EVENT;

/**
 * Short kind names used on the wire of the HTTP collector (`{kind: 'interaction', ...}`) and by dataset readers.
 * One kind per event topic.
 */
export const KIND_EVENT = {
  interaction: 'LearningInteraction',
  quizAttempt: 'QuizAttempt',
  resource: 'Resource',
  profile: 'LearnerProfile',
  erasure: 'ErasureRequest',
} as const satisfies Record<string, EventName>;

export type EventKind = keyof typeof KIND_EVENT;
export const EVENT_KINDS = Object.keys(KIND_EVENT) as EventKind[];

export const KIND_TOPIC: { readonly [K in EventKind]: EventTopicKey } = {
  interaction: 'interactions',
  quizAttempt: 'quizAttempts',
  resource: 'resources',
  profile: 'profiles',
  erasure: 'erasures',
};

/** An event together with its kind, so a heterogeneous stream stays type-safe. */
export type KindedEvent = { [K in EventKind]: { kind: K; event: EventTypes[(typeof KIND_EVENT)[K]] } }[EventKind];
export const EVENT_TOPIC_KEYS = Object.keys(TOPIC_EVENT) as EventTopicKey[];

/** The Kafka message key of an event: userId, except the catalogue which is keyed by resourceId. */
export function eventKey<N extends EventName>(name: N, event: EventTypes[N]): string {
  if (name === 'Resource') return (event as EventTypes['Resource']).resourceId;
  return (event as { userId: string }).userId;
}

/** Canonical JSON of an event's schema, the text registered in the schema registry. */
export function schemaText(name: EventName): string {
  return JSON.stringify(SCHEMAS[name]);
}
