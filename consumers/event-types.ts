import type { InputRecord } from './runner/stage-runner';

/** Typed events the stages consume (fields as in schemas/*.avsc; only those the pipeline reads are listed). */
export interface InteractionEvent {
  kind: 'interaction';
  eventId: string;
  userId: string;
  resourceId: string;
  type: string;
  value?: number | null;
  dwellMs?: number;
  /** The platform showed the resource as a review (schemas/learning-interaction.avsc `review`): rates its FSRS card. */
  review?: boolean;
  occurredAt: number;
}
export interface QuizEvent {
  kind: 'quiz';
  eventId: string;
  userId: string;
  itemId: string;
  resourceId?: string | null;
  skills: string[];
  correct: boolean;
  score?: number | null;
  /** Time to answer in ms; 0 or undefined = unknown. */
  responseTimeMs?: number;
  occurredAt: number;
}
export interface ProfileEvent {
  kind: 'profile';
  userId: string;
  interests: string[];
}
export interface ErasureEvent {
  kind: 'erasure';
  userId: string;
}
export interface ResourceEvent {
  kind: 'resource';
  resourceId: string;
  /** null = tombstone (deleted). */
  resource: {
    title: string;
    description: string;
    type: string;
    topics: string[];
    skills: string[];
    difficulty?: number | null;
    prerequisites: string[];
    language?: string | null;
    active: boolean;
  } | null;
}
export type PipelineEvent = InteractionEvent | QuizEvent | ProfileEvent | ErasureEvent | ResourceEvent;

/**
 * The shared decode + dead-letter step, as the stages see it: a typed event, or null once the record has been
 * dead-lettered (the stage skips it and the offset moves on). A DependencyError (registry or DLQ unavailable) is
 * thrown and retried by the runner. consumers/decode/decoders.ts adapts consumers/decode/step.ts to this.
 */
export type Decode = (record: InputRecord) => Promise<PipelineEvent | null>;
