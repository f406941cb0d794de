/** /v1/resources/:id/similar */
import type { Router } from 'express';
import type { ServingReader } from '../../serving/types';
import { requireScope } from '../middleware/auth';
import { sendReply, similarRoute } from './read-replies';

/** Adds the /resources/... routes to `r` (mounted at /v1). */
export function addResourceRoutes(r: Router, deps: { store: ServingReader }): void {
  // The same answer as the node:http fast path sends (read-replies.ts).
  const similar = similarRoute(deps);
  r.get('/resources/:id/similar', requireScope('read'), async (req, res) => {
    sendReply(res, await similar(req));
  });
}
