/** /v1/learners/:userId/... — recommendations, knowledge and erasure. */
import { randomUUID } from 'node:crypto';
import type { Router } from 'express';
import type { Emitter } from '../../lib/metrics/instrumentation';
import type { ServingStore } from '../../lib/serving/types';
import { requireScope } from '../middleware/auth';
import { HttpProblem } from '../problem';
import { serveRecommendations } from '../recommend/serve';
import { Params } from '../validation';

/** Resource types of the catalogue (schemas/resource.avsc ResourceType). */
export const RESOURCE_TYPES = ['video', 'article', 'exercise', 'course', 'quiz', 'lecture', 'assessment', 'book', 'other'] as const;

/** Publishes an ErasureRequest (schemas/erasure-request.avsc) to privacy.erasures, keyed by userId. */
export type ErasurePublisher = (req: { requestId: string; userId: string; requestedAt: number; reason: string | null }) => Promise<void>;

/** Adds the /learners/... routes to `r` (mounted at /v1). */
export function addLearnerRoutes(r: Router, deps: { store: ServingStore; emit: Emitter; publishErasure?: ErasurePublisher; now: () => number }): void {

  r.get('/learners/:userId/recommendations', requireScope('read'), async (req, res) => {
    const p = new Params(req, ['limit', 'type', 'topic', 'skill', 'explain']);
    const userId = p.id('userId');
    const q = { userId, limit: p.int('limit', { def: 10, min: 1, max: 100 }), type: p.enumOf('type', RESOURCE_TYPES), topic: p.label('topic'), skill: p.label('skill'), explain: p.bool('explain') };
    p.done();
    const out = await serveRecommendations(deps.store, q);
    if (out.fallback) deps.emit.emit('api.fallback', { source: out.source });
    res.setHeader('cache-control', 'private, no-store');
    res.json(out);
  });

  r.get('/learners/:userId/knowledge', requireScope('read'), async (req, res) => {
    const p = new Params(req, []);
    const userId = p.id('userId');
    p.done();
    const k = await deps.store.getKnowledge(userId);
    res.setHeader('cache-control', 'private, no-store');
    res.json({ userId, updatedAt: k?.updatedAt ?? null, skills: [...(k?.skills ?? [])].sort((a, b) => a.skill.localeCompare(b.skill)) });
  });

  r.delete('/learners/:userId', requireScope('admin'), async (req, res) => {
    const p = new Params(req, ['reason']);
    const userId = p.id('userId');
    const reason = p.string('reason', 1024) ?? null;
    p.done();
    if (!deps.publishErasure) throw new HttpProblem('dependency-unavailable', 'erasure publishing is not configured on this server');
    const requestId = randomUUID();
    const requestedAt = deps.now();
    // Kafka is the system of record: the request is durable once published; every stage then forgets the learner.
    await deps.publishErasure({ requestId, userId, requestedAt, reason });
    // Hide the learner's derived data right away instead of waiting for the pipeline (it is rebuildable anyway).
    await deps.store.eraseLearner(userId);
    res.status(202).json({ requestId, userId, requestedAt, status: 'accepted' });
  });
}
