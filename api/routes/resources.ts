/** /v1/resources/:id/similar */
import type { Router } from 'express';
import type { ServingReader } from '../../serving/types';
import { requireScope } from '../middleware/auth';
import { HttpProblem } from '../../lib/problems';
import { serveSimilar } from '../recommend/similar';
import { Params } from '../validation';

/** Adds the /resources/... routes to `r` (mounted at /v1). */
export function addResourceRoutes(r: Router, deps: { store: ServingReader }): void {
  r.get('/resources/:id/similar', requireScope('read'), async (req, res) => {
    const p = new Params(req, ['limit']);
    const id = p.id('id');
    const limit = p.int('limit', { def: 10, min: 1, max: 100 });
    p.done();
    const out = await serveSimilar(deps.store, id, limit);
    if (!out) throw new HttpProblem('not-found', `resource '${id}' is not in the catalogue`);
    res.json(out);
  });
}
