/**
 * The hot read routes' answers, as text: GET /v1/learners/:userId/recommendations and GET /v1/resources/:id/similar.
 * The express routes (learners.ts, resources.ts) and the node:http fast path in front of express (api/fast-path.ts)
 * both send exactly what these return, so the two cannot drift apart: parameter checks, store reads, fallbacks,
 * experiment tags, headers and body are decided here once. Errors are thrown (HttpProblem and the lib/errors
 * family); each edge renders them as problem+json with lib/problems.
 */
import type { Response } from 'express';
import type { Emitter } from '../../lib/metrics/instrumentation';
import { HttpProblem } from '../../lib/problems';
import type { Experiment } from '../../models/experiments/types';
import type { ServingReader } from '../../serving/types';
import { tagServedList } from '../recommend/experiment';
import { recommendationsJson, serveRecommendations } from '../recommend/serve';
import { serveSimilar } from '../recommend/similar';
import { Params, type ParamSource } from '../validation';

/** Resource types of the catalogue (schemas/resource.avsc ResourceType). */
export const RESOURCE_TYPES = ['video', 'article', 'exercise', 'course', 'quiz', 'lecture', 'assessment', 'book', 'other'] as const;

/** A 200 answer of a read route: JSON text, sent as `application/json; charset=utf-8`. */
export interface ReadReply {
  body: string;
  /** The Cache-Control header, when the route sends one. */
  cacheControl?: string;
}

export type ReadRoute = (req: ParamSource) => Promise<ReadReply>;

/** What res.json / res.send(string) set for JSON text; the fast path writes the same. */
export const JSON_TYPE = 'application/json; charset=utf-8';

const PRIVATE = 'private, no-store';

export function recommendationsRoute(deps: { store: ServingReader; emit: Emitter; experiments?: readonly Experiment[] }): ReadRoute {
  const experiments = deps.experiments ?? [];
  return async (req) => {
    const p = new Params(req, ['limit', 'type', 'topic', 'skill', 'explain']);
    const userId = p.id('userId');
    const q = {
      userId,
      limit: p.int('limit', { def: 10, min: 1, max: 100 }),
      type: p.enumOf('type', RESOURCE_TYPES),
      topic: p.label('topic'),
      skill: p.label('skill'),
      explain: p.bool('explain'),
    };
    p.done();
    const { ref, ...out } = await serveRecommendations(deps.store, q);
    if (out.fallback) deps.emit.emit('api.fallback', { source: out.source });
    // What res.json(out) sends, from cached per-entry JSON text (recommendationsJson).
    return { body: recommendationsJson(out, tagServedList(experiments, userId, { ...out, ref })), cacheControl: PRIVATE };
  };
}

export function similarRoute(deps: { store: ServingReader }): ReadRoute {
  return async (req) => {
    const p = new Params(req, ['limit']);
    const id = p.id('id');
    const limit = p.int('limit', { def: 10, min: 1, max: 100 });
    p.done();
    const out = await serveSimilar(deps.store, id, limit);
    if (!out) throw new HttpProblem('not-found', `resource '${id}' is not in the catalogue`);
    // res.json(out) with the app's settings (no replacer, no spaces)
    return { body: JSON.stringify(out) };
  };
}

/** Sends a reply through express (res.send computes Content-Length; the app has ETags off). */
export function sendReply(res: Response, r: ReadReply): void {
  if (r.cacheControl !== undefined) res.setHeader('cache-control', r.cacheControl);
  res.setHeader('content-type', JSON_TYPE);
  res.send(r.body);
}
