import { serveRecommendations } from '../../api/recommend/serve';
import { MemoryServingStore } from '../../serving/memory-store';

describe('serveRecommendations', () => {
  it('finds filtered items deep in a long list, fetching catalogue entries chunk by chunk only until the page is full', async () => {
    const store = new MemoryServingStore();
    const ids = Array.from({ length: 100 }, (_, i) => `r${i}`);
    for (const [i, id] of ids.entries()) await store.putResource({ resourceId: id, title: id, type: i >= 70 ? 'quiz' : 'video', topics: [], skills: [], active: true });
    await store.putRecommendations({ userId: 'u', items: ids.map((resourceId, i) => ({ resourceId, score: 100 - i, reasons: [] })), modelVersion: 'm', generatedAt: 1, source: 'personal' });
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
    expect(await serveRecommendations(store, { userId: 'x', limit: 5, explain: false })).toMatchObject({ source: 'popular', fallback: true, count: 0, items: [] });
    await store.putResource({ resourceId: 'a', title: 'a', type: 'video', topics: ['t'], skills: [], active: true });
    await store.incrementPopularity('a', 5, ['t']);
    await store.putProfileInterests('x', ['t']);
    await store.putRecommendations({ userId: 'x', items: [{ resourceId: 'a', score: 1, reasons: [] }], modelVersion: 'm', generatedAt: 1, source: 'personal' });
    const r = await serveRecommendations(store, { userId: 'x', limit: 5, explain: false });
    expect(r.items.map((i) => i.resourceId)).toEqual(['a']);
  });
});
