import { withCatalogCache } from '../../api/recommend/catalog-cache';
import { recommendationsJson, serveRecommendations } from '../../api/recommend/serve';
import { MemoryServingStore } from '../../serving/memory-store';

describe('serveRecommendations', () => {
  it('finds filtered items deep in a long list, fetching catalogue entries chunk by chunk only until the page is full', async () => {
    const store = new MemoryServingStore();
    const ids = Array.from({ length: 100 }, (_, i) => `r${i}`);
    for (const [i, id] of ids.entries())
      await store.putResource({ resourceId: id, title: id, type: i >= 70 ? 'quiz' : 'video', topics: [], skills: [], active: true });
    await store.putRecommendations({
      userId: 'u',
      items: ids.map((resourceId, i) => ({ resourceId, score: 100 - i, reasons: [] })),
      modelVersion: 'm',
      generatedAt: 1,
      source: 'personal',
    });
    const fetched: number[] = [];
    const original = store.getResources.bind(store);
    store.getResources = (batch) => {
      fetched.push(batch.length);
      return original(batch);
    };
    const quizzes = await serveRecommendations(store, { userId: 'u', limit: 3, type: 'quiz', explain: false });
    expect(quizzes.items.map((i) => i.resourceId)).toEqual(['r70', 'r71', 'r72']);
    expect(quizzes.source).toBe('personal');
    expect(fetched).toEqual([20, 20, 20, 20]);
    fetched.length = 0;
    const page = await serveRecommendations(store, { userId: 'u', limit: 10, explain: true });
    expect(page.items.map((i) => i.resourceId)).toEqual(ids.slice(0, 10));
    expect(fetched).toEqual([20]);
  });

  it('never repeats a resource across sources and never errors on an empty store', async () => {
    const store = new MemoryServingStore();
    expect(await serveRecommendations(store, { userId: 'x', limit: 5, explain: false })).toMatchObject({
      source: 'popular',
      fallback: true,
      count: 0,
      items: [],
    });
    await store.putResource({ resourceId: 'a', title: 'a', type: 'video', topics: ['t'], skills: [], active: true });
    await store.incrementPopularity('a', 5, ['t']);
    await store.putProfileInterests('x', ['t']);
    await store.putRecommendations({
      userId: 'x',
      items: [{ resourceId: 'a', score: 1, reasons: [] }],
      modelVersion: 'm',
      generatedAt: 1,
      source: 'personal',
    });
    const r = await serveRecommendations(store, { userId: 'x', limit: 5, explain: false });
    expect(r.items.map((i) => i.resourceId)).toEqual(['a']);
  });

  it('writes the page as JSON.stringify would, character for character, with catalogue facts from the cached text', async () => {
    const store = new MemoryServingStore();
    const cached = withCatalogCache(store, { ttlMs: 60_000 });
    await store.putResource({
      resourceId: 'a',
      title: 'Fractions "1/2" \u2028 ü',
      type: 'video',
      topics: ['t', 'u'],
      skills: ['s'],
      active: true,
    });
    await store.putResource({ resourceId: 'b', title: 'B', type: 'quiz', topics: [], skills: [], difficulty: 0.3, active: true });
    await store.incrementPopularity('p', 5, ['t']);
    await store.putRecommendations({
      userId: 'x',
      items: [
        { resourceId: 'a', score: 2, reasons: [{ code: 'next-after', text: 'Next after "B"', ref: 'b' }] },
        { resourceId: 'b', score: NaN, reasons: [] },
        { resourceId: 'gone', score: 1, reasons: [{ code: 'popular', text: 'Popular right now' }], type: 'book', topics: ['t'] },
      ],
      modelVersion: 'm',
      generatedAt: 1,
      eventTime: 0,
      source: 'personal',
    });
    for (const s of [store, cached, cached])
      for (const explain of [false, true])
        for (const userId of ['x', 'nobody']) {
          const out = await serveRecommendations(s, { userId, limit: 5, explain });
          expect(out.count).toBeGreaterThan(0);
          const { ref: _ref, ...page } = out; // the stored tag is turned into recommId/variant by the route, not sent as is
          expect(recommendationsJson(page)).toBe(JSON.stringify(page));
        }
  });
});
