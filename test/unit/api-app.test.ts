/** The read API against the in-memory store (the same suite runs against Redis in test/integration/api-redis.test.ts). */
import { Registry } from 'prom-client';
import { MemoryServingStore } from '../../serving/memory-store';
import { apiReadSuite } from './api-read.suite';

apiReadSuite('memory', () =>
  Promise.resolve({
    store: new MemoryServingStore({ now: () => Date.UTC(2026, 10, 2) }),
    registry: new Registry(),
    cleanup: () => Promise.resolve(),
  }),
);
