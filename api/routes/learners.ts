/** /v1/learners/:userId/... — recommendations, knowledge and erasure. */
import { randomUUID } from 'node:crypto';
import type { Router } from 'express';
import type { Emitter } from '../../lib/metrics/instrumentation';
import type { CurriculumStore } from '../../serving/curriculum';
import type { ServingStore } from '../../serving/types';
import { learnerPath } from '../recommend/path';
import { learnerReviews } from '../recommend/reviews';
import type { TextGoalResolver } from '../recommend/text-goals';
import type { ApiKey } from '../../lib/config';
import { denyId } from '../../producers/authorize';
import { requireScope } from '../middleware/auth';
import { HttpProblem } from '../../lib/problems';
import type { Experiment } from '../../models/experiments/types';
import { Params } from '../validation';
import { recommendationsRoute, sendReply } from './read-replies';

export { RESOURCE_TYPES } from './read-replies';

/** Publishes an ErasureRequest (schemas/erasure-request.avsc) to privacy.erasures, keyed by userId. */
export type ErasurePublisher = (req: { requestId: string; userId: string; requestedAt: number; reason: string | null }) => Promise<void>;

/** Adds the /learners/... routes to `r` (mounted at /v1). */
export interface LearnerRouteDeps {
  store: ServingStore;
  emit: Emitter;
  publishErasure?: ErasurePublisher;
  now: () => number;
  /** The prerequisite graph for /path; undefined = the route answers 503. */
  curriculum?: CurriculumStore;
  textGoals?: TextGoalResolver;
  /** Configured experiments (config `experiments`): the active one names the variant of every served list. */
  experiments?: readonly Experiment[];
}

export function addLearnerRoutes(r: Router, deps: LearnerRouteDeps): void {
  // The same answer as the node:http fast path in front of express (api/fast-path.ts) sends: read-replies.ts.
  const recommendations = recommendationsRoute(deps);
  r.get('/learners/:userId/recommendations', requireScope('read'), async (req, res) => {
    sendReply(res, await recommendations(req));
  });

  r.get('/learners/:userId/knowledge', requireScope('read'), async (req, res) => {
    const p = new Params(req, []);
    const userId = p.id('userId');
    p.done();
    const k = await deps.store.getKnowledge(userId);
    res.setHeader('cache-control', 'private, no-store');
    res.json({ userId, updatedAt: k?.updatedAt ?? null, skills: [...(k?.skills ?? [])].sort((a, b) => a.skill.localeCompare(b.skill)) });
  });

  r.get('/learners/:userId/reviews', requireScope('read'), async (req, res) => {
    const p = new Params(req, ['limit']);
    const userId = p.id('userId');
    const limit = p.int('limit', { def: 20, min: 1, max: 200 });
    p.done();
    const out = await learnerReviews(deps.store, { userId, limit, now: deps.now() });
    res.setHeader('cache-control', 'private, no-store');
    res.json(out);
  });

  r.get('/learners/:userId/path', requireScope('read'), async (req, res) => {
    const p = new Params(req, ['goal', 'max']);
    const userId = p.id('userId');
    const goal = p.string('goal', 512);
    const max = p.int('max', { def: 20, min: 1, max: 500 });
    if (goal === undefined || goal.trim() === '')
      p.issues.push({ param: 'goal', message: "'goal' is required: a resource id, a skill id or free text (at most 512 characters)" });
    p.done();
    if (!deps.curriculum)
      throw new HttpProblem(
        'dependency-unavailable',
        'this server has no curriculum store (the serving store keeps no prerequisite graph)',
      );
    const out = await learnerPath(
      { store: deps.store, curriculum: deps.curriculum, textGoals: deps.textGoals },
      { userId, goal: goal!.trim(), max },
    );
    res.setHeader('cache-control', 'private, no-store');
    res.json(out);
  });

  r.delete('/learners/:userId', requireScope('admin'), async (req, res) => {
    const p = new Params(req, ['reason']);
    const userId = p.id('userId');
    const reason = p.string('reason', 1024) ?? null;
    p.done();
    // a key bound to a tenant erases only that tenant's learners
    const denied = denyId(res.locals.apiKey as ApiKey, 'userId', userId);
    if (denied) throw denied;
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
