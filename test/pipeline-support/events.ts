import type { KindedEvent, Resource } from '../../schemas';

let n = 0;
export function resource(id: string, topics: string[], extra: Partial<Resource> = {}): KindedEvent {
  return {
    kind: 'resource',
    event: {
      resourceId: id,
      title: `Resource ${id}`,
      description: `About ${topics.join(' and ')}`,
      type: 'article',
      topics,
      skills: [],
      difficulty: null,
      durationMin: null,
      language: 'en',
      prerequisites: [],
      instructor: null,
      publishedAt: null,
      active: true,
      ...extra,
    },
  };
}

export function interaction(
  userId: string,
  resourceId: string,
  type: 'click' | 'view' | 'complete' | 'rate' = 'click',
  value: number | null = null,
): KindedEvent {
  return {
    kind: 'interaction',
    event: {
      eventId: `e-${Date.now()}-${n++}`,
      userId,
      resourceId,
      type,
      value,
      dwellMs: 0,
      occurredAt: Date.now(),
      context: { platform: 'test', device: null, session: null },
      review: false,
      recommId: null,
    },
  };
}

export function profile(userId: string, interests: string[]): KindedEvent {
  return { kind: 'profile', event: { userId, interests, background: null, goals: [], level: null, language: null, updatedAt: Date.now() } };
}

export function erasure(userId: string): KindedEvent {
  return { kind: 'erasure', event: { requestId: `er-${n++}`, userId, requestedAt: Date.now(), reason: 'test' } };
}
