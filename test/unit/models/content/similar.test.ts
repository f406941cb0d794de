import { contentNeighbours } from '../../../../models/content/similar';
import { normalizeInPlace } from '../../../../models/content/vector';

describe('contentNeighbours', () => {
  const rows = [
    [1, 0, 0],
    [0.9, 0.1, 0],
    [0, 1, 0],
    [0.7, 0.7, 0],
    [0, 0, 1],
  ].map((r) => normalizeInPlace(Float32Array.from(r)));
  const m = { vectors: Float32Array.from(rows.flatMap((r) => Array.from(r))), ids: ['a', 'b', 'c', 'd', 'e'], dim: 3 };

  it('returns the nearest resources by cosine, best first, without itself or weak matches, with a reason', () => {
    const out = contentNeighbours(rows[0], m, 3, { selfId: 'a', selfTitle: 'Algebra I' });
    expect(out.map((s) => s.resourceId)).toEqual(['b', 'd']); // c and e are orthogonal: below minCosine
    expect(out[0].score).toBeGreaterThan(out[1].score);
    expect(out[0].reasons).toEqual([{ code: 'content-similar', text: 'Similar to Algebra I', ref: 'a' }]);
    expect(contentNeighbours(rows[0], m, 0)).toEqual([]);
  });
});
