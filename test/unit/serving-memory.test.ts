import { MemoryServingStore } from '../../serving/memory-store';
import { servingStoreContract } from '../contracts/serving-store.contract';

servingStoreContract('memory', { make: (now) => Promise.resolve(new MemoryServingStore({ now })) });

describe('MemoryServingStore', () => {
  it('reports not alive after close', async () => {
    const s = new MemoryServingStore();
    await s.close();
    expect(await s.ping()).toBe(false);
  });
});
