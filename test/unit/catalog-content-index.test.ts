/** The catalogue stage's content index: bounded neighbour upkeep, removal, restore, and the similar-items blend. */
import { blendSimilar, ContentIndex } from '../../pipelines/catalog/content-index';

const unit = (...v: number[]) => {
  const n = Math.hypot(...v);
  return Float32Array.from(v, (x) => x / n);
};

it('keeps k neighbours per resource and reports exactly the lists an upsert or removal changed', () => {
  const ix = new ContentIndex(2, 0.3);
  expect(ix.upsert('a', unit(1, 0, 0), 'A', 0)).toEqual(['a']);
  expect(ix.upsert('b', unit(1, 0.1, 0), 'B', 0)).toEqual(['b', 'a']);
  expect(ix.upsert('far', unit(0, 0, 1), 'Far', 1)).toEqual(['far']); // cosine 0 with both: nobody's neighbour
  expect(ix.upsert('c', unit(1, 0.2, 0), 'C', 1).sort()).toEqual(['a', 'b', 'c']);
  expect(ix.neighbours('a').map((n) => n.id)).toEqual(['b', 'c']);
  // d is nearer to b and c than a is, and enters their full (k = 2) lists; a's list keeps b, c (d is third for a).
  const changed = ix.upsert('d', unit(1, 0.15, 0), 'D', 0);
  expect(changed[0]).toBe('d');
  expect(changed.length).toBeLessThanOrEqual(3);
  expect(ix.neighbours('d')).toHaveLength(2);
  for (const id of ['a', 'b', 'c', 'd']) expect(ix.neighbours(id).length).toBeLessThanOrEqual(2);
  // Same vector again (a replayed record): only its own list is rewritten.
  expect(ix.upsert('d', unit(1, 0.15, 0), 'D', 0)).toEqual(['d']);
  const lists = ['a', 'b', 'c'].filter((id) => ix.neighbours(id).some((n) => n.id === 'd'));
  expect(ix.remove('d').sort()).toEqual(lists.sort());
  for (const id of ['a', 'b', 'c']) expect(ix.neighbours(id).map((n) => n.id)).not.toContain('d');
  expect(ix.neighbours('a').map((n) => n.id)).toEqual(['b', 'c']);
});

it('checkpoints per group and recomputes neighbour lists lazily after a restore', () => {
  const ix = new ContentIndex(3, 0.3);
  ix.upsert('a', unit(1, 0, 0), 'A', 0);
  ix.upsert('b', unit(1, 0.1, 0), 'B', 1);
  ix.upsert('c', unit(1, 0.3, 0), 'C', 0);
  const g0 = JSON.parse(JSON.stringify(ix.toJSON(0)));
  const g1 = JSON.parse(JSON.stringify(ix.toJSON(1)));
  expect(g0.rows.map((r: string[]) => r[0]).sort()).toEqual(['a', 'c']);
  const back = new ContentIndex(3, 0.3);
  back.restore(0, g0);
  back.restore(1, g1);
  expect(back.size).toBe(3);
  for (const id of ['a', 'b', 'c']) expect(back.neighbours(id)).toEqual(ix.neighbours(id));
  back.dropGroup(0);
  expect(back.size).toBe(1);
  expect(back.has('b') && !back.has('a')).toBe(true);
  back.restore(0, undefined); // a checkpoint from before content vectors were kept
  expect(back.size).toBe(1);
});

it('blends content and co-engagement with a reason for each, leaving out unknown partners and thin co-only evidence', () => {
  const cos: Record<string, number> = { near: 0.9, known: 0.05 };
  const items = blendSimilar(
    'self',
    'Self',
    [{ id: 'near', score: 0.9 }],
    [
      { resourceId: 'known', score: 6 },
      { resourceId: 'unknown', score: 9 },
      { resourceId: 'once', score: 1 },
      { resourceId: 'near', score: 1 },
    ],
    (b) => cos[b],
    0.3,
    10,
  );
  expect(items.map((i) => i.resourceId)).toEqual(['near', 'known']);
  expect(items[0].reasons.map((r) => r.code)).toEqual(['content-similar', 'co-engaged']);
  expect(items[1].reasons.map((r) => r.code)).toEqual(['co-engaged']);
  expect(items[0].score).toBeCloseTo(0.7 * 0.9 + 0.3 * 0.25, 4);
  expect(items[1].score).toBeCloseTo(0.7 * 0.05 + 0.3 * (6 / 9), 4);
});
