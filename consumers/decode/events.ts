import type { EventTypes } from '../../schemas/generated/types';
import type { PipelineEvent } from '../event-types';

/** Maps a decoded, validated Avro record of an event topic to the pipeline's event shape. */
export function toPipelineEvent(
  name: 'LearningInteraction' | 'QuizAttempt' | 'LearnerProfile' | 'ErasureRequest' | 'Resource',
  v: EventTypes[typeof name],
): PipelineEvent {
  switch (name) {
    case 'LearningInteraction': {
      const e = v as EventTypes['LearningInteraction'];
      return {
        kind: 'interaction',
        eventId: e.eventId,
        userId: e.userId,
        resourceId: e.resourceId,
        type: e.type,
        value: e.value,
        dwellMs: e.dwellMs,
        review: e.review,
        occurredAt: e.occurredAt,
        ...(e.recommId ? { recommId: e.recommId } : {}),
      };
    }
    case 'QuizAttempt': {
      const e = v as EventTypes['QuizAttempt'];
      return {
        kind: 'quiz',
        eventId: e.eventId,
        userId: e.userId,
        itemId: e.itemId,
        resourceId: e.resourceId,
        skills: e.skills,
        correct: e.correct,
        score: e.score,
        responseTimeMs: e.responseTimeMs,
        occurredAt: e.occurredAt,
      };
    }
    case 'LearnerProfile': {
      const e = v as EventTypes['LearnerProfile'];
      return { kind: 'profile', userId: e.userId, interests: e.interests };
    }
    case 'ErasureRequest': {
      const e = v as EventTypes['ErasureRequest'];
      return { kind: 'erasure', userId: e.userId };
    }
    case 'Resource': {
      const e = v as EventTypes['Resource'];
      return {
        kind: 'resource',
        resourceId: e.resourceId,
        resource: {
          title: e.title,
          description: e.description,
          type: e.type,
          topics: e.topics,
          skills: e.skills,
          difficulty: e.difficulty,
          prerequisites: e.prerequisites,
          language: e.language,
          active: e.active,
        },
      };
    }
  }
}
